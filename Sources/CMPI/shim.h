#pragma once
#include <mpi.h>

// OpenMPI's handles are macros over global symbols; Swift cannot import them.
static inline MPI_Comm dit_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype dit_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype dit_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype dit_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype dit_mpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Datatype dit_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Op dit_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op dit_mpi_min(void) { return MPI_MIN; }
static inline MPI_Op dit_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Request dit_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *dit_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Status *dit_mpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
static inline int dit_mpi_any_source(void) { return MPI_ANY_SOURCE; }
static inline int dit_mpi_any_tag(void) { return MPI_ANY_TAG; }
static inline int dit_mpi_undefined(void) { return MPI_UNDEFINED; }
static inline int dit_mpi_success(void) { return MPI_SUCCESS; }
static inline int dit_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int dit_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline MPI_Errhandler dit_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
