#pragma once
#include <oneapi/dnnl/dnnl.h>

/* libgomp's thread-count calls (oneDNN runs on Debian's OpenMP runtime);
   declared here because omp.h lives in GCC's private include directory. */
int omp_get_max_threads(void);
void omp_set_num_threads(int n);

/* DNNL_MEMORY_ALLOCATE is a pointer-valued macro Swift cannot import. */
static inline void *dit_dnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }
