#pragma once
#include <hdf5.h>

// HDF5's type and property handles are macros over library globals (and
// H5open must run first); Swift cannot import them.
static inline hid_t dit_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t dit_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t dit_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t dit_h5t_native_int32(void) { return H5T_NATIVE_INT; }
static inline hid_t dit_h5t_c_s1(void) { return H5T_C_S1; }
static inline hid_t dit_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t dit_h5s_all(void) { return H5S_ALL; }
static inline hid_t dit_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t dit_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t dit_h5p_file_create(void) { return H5P_FILE_CREATE; }
static inline hid_t dit_h5p_group_create(void) { return H5P_GROUP_CREATE; }
static inline unsigned dit_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned dit_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned dit_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline size_t dit_h5t_variable(void) { return H5T_VARIABLE; }
static inline void dit_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
