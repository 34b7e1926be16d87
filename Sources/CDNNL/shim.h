#pragma once
#include <oneapi/dnnl/dnnl.h>

/* libgomp's thread-count calls (oneDNN runs on Debian's OpenMP runtime);
   declared here because omp.h lives in GCC's private include directory. */
int omp_get_max_threads(void);
void omp_set_num_threads(int n);

/* DNNL_MEMORY_ALLOCATE is a pointer-valued macro Swift cannot import. */
static inline void *dit_dnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }

/* libgomp's entry for `#pragma omp parallel` (GCC ≥ 4.9): our own kernels
   run on the same OpenMP team as oneDNN's products instead of a second pool
   whose threads would compete with OpenMP's spinning workers. */
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
int omp_get_thread_num(void);
int omp_get_num_threads(void);
