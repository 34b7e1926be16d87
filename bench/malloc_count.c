// LD_PRELOAD shim for bench/allocs.sh: counts malloc/calloc/realloc calls
// and prints the total at exit. Not part of the product.
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static atomic_long calls;

void *malloc(size_t n) { atomic_fetch_add(&calls, 1); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { atomic_fetch_add(&calls, 1); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { atomic_fetch_add(&calls, 1); return __libc_realloc(p, n); }

__attribute__((destructor)) static void report(void) {
    fprintf(stderr, "malloc-count %ld\n", (long)atomic_load(&calls));
}
