/* The machine's limits for the report's roofline: single-precision FMA
 * throughput (independent vfmadd chains on the widest vectors the compiler
 * targets, so latency is hidden) and memory bandwidth (a read + write copy
 * of buffers far larger than the caches), on 1..N threads. Each thread is
 * timed by its own CPU clock, so other load on a shared machine lowers
 * neither number; N threads report the sum of their rates, i.e. the limit
 * when each has a core to itself.
 *   cc -O2 -march=native -pthread machine_peak.c -o machine_peak && ./machine_peak 2
 * Prints CSV: threads,fma_gflops,copy_gbs */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef __AVX512F__
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define STORE _mm512_storeu_ps
#else
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
#define STORE _mm256_storeu_ps
#endif

enum { CHAINS = 12, ITERS = 20000000, COPY_FLOATS = 1 << 25, COPY_ROUNDS = 6 };

static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float sink[64];

typedef struct { float *src, *dst; double rate; } job;

static void *fma_loop(void *arg) {
    job *j = arg;
    double start = cpu_seconds();
    /* Twelve named accumulators: an array kept them in memory at -O2. */
    vec a0 = SET1(0.1f), a1 = SET1(0.2f), a2 = SET1(0.3f), a3 = SET1(0.4f), a4 = SET1(0.5f), a5 = SET1(0.6f);
    vec a6 = SET1(0.7f), a7 = SET1(0.8f), a8 = SET1(0.9f), a9 = SET1(1.0f), a10 = SET1(1.1f), a11 = SET1(1.2f);
    const vec a = SET1(0.999999f), b = SET1(1e-7f);
    for (long it = 0; it < ITERS; it++) {
        a0 = FMA(a0, a, b); a1 = FMA(a1, a, b); a2 = FMA(a2, a, b); a3 = FMA(a3, a, b);
        a4 = FMA(a4, a, b); a5 = FMA(a5, a, b); a6 = FMA(a6, a, b); a7 = FMA(a7, a, b);
        a8 = FMA(a8, a, b); a9 = FMA(a9, a, b); a10 = FMA(a10, a, b); a11 = FMA(a11, a, b);
    }
    vec s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));
    s = ADD(s, ADD(ADD(a8, a9), ADD(a10, a11)));
    float out[LANES];
    STORE(out, s);
    sink[0] += out[0];
    j->rate = 2.0 * LANES * CHAINS * (double)ITERS / (cpu_seconds() - start) / 1e9;
    return NULL;
}

static void *copy_loop(void *arg) {
    job *j = arg;
    double start = cpu_seconds();
    for (int r = 0; r < COPY_ROUNDS; r++) memcpy(j->dst, j->src, (size_t)COPY_FLOATS * sizeof(float));
    j->rate = 2.0 * sizeof(float) * (double)COPY_FLOATS * COPY_ROUNDS / (cpu_seconds() - start) / 1e9;
    return NULL;
}

/* The summed rate of n threads running body at once. */
static double run(int n, void *(*body)(void *), job *jobs) {
    pthread_t t[64];
    for (int i = 0; i < n; i++) pthread_create(&t[i], NULL, body, &jobs[i]);
    double sum = 0;
    for (int i = 0; i < n; i++) { pthread_join(t[i], NULL); sum += jobs[i].rate; }
    return sum;
}

int main(int argc, char **argv) {
    int maxThreads = argc > 1 ? atoi(argv[1]) : 1;
    if (maxThreads < 1 || maxThreads > 64) { fprintf(stderr, "machine_peak: threads must be 1..64 (got %s)\n", argv[1]); return 2; }
    job jobs[64];
    for (int i = 0; i < maxThreads; i++) {
        jobs[i].src = aligned_alloc(64, (size_t)COPY_FLOATS * sizeof(float));
        jobs[i].dst = aligned_alloc(64, (size_t)COPY_FLOATS * sizeof(float));
        if (!jobs[i].src || !jobs[i].dst) { fprintf(stderr, "machine_peak: out of memory for the copy buffers\n"); return 1; }
        memset(jobs[i].src, 1, (size_t)COPY_FLOATS * sizeof(float));
        memset(jobs[i].dst, 0, (size_t)COPY_FLOATS * sizeof(float));
    }
    printf("threads,fma_gflops,copy_gbs,lanes\n");
    for (int n = 1; n <= maxThreads; n++) {
        double best = 0, bestCopy = 0;
        for (int trial = 0; trial < 3; trial++) {
            double g = run(n, fma_loop, jobs), gb = run(n, copy_loop, jobs);
            if (g > best) best = g;
            if (gb > bestCopy) bestCopy = gb;
        }
        printf("%d,%.1f,%.1f,%d\n", n, best, bestCopy, LANES);
    }
    return sink[0] == 12345.0f;
}
