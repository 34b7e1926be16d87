/* The machine's memory bandwidth for the report's roofline: a read + write
 * copy (memcpy) of buffers far larger than the caches, on 1..N threads at
 * once. Each thread is timed by its own CPU clock, so other load on a shared
 * machine does not lower the number; N threads report the sum of their
 * rates, i.e. the limit when each has a core to itself. (The FMA peak is
 * measured by `dit bench` itself, Sources/Tensors/Kernels/FMAPeak.swift.)
 *   cc -O2 -march=native -pthread copy_bandwidth.c -o copy_bandwidth && ./copy_bandwidth 2
 * Prints CSV: threads,copy_gbs */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { COPY_FLOATS = 1 << 25, COPY_ROUNDS = 6 };

typedef struct { float *src, *dst; double rate; } job;

static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *copy_loop(void *arg) {
    job *j = arg;
    double start = cpu_seconds();
    for (int r = 0; r < COPY_ROUNDS; r++) memcpy(j->dst, j->src, (size_t)COPY_FLOATS * sizeof(float));
    j->rate = 2.0 * sizeof(float) * (double)COPY_FLOATS * COPY_ROUNDS / (cpu_seconds() - start) / 1e9;
    return NULL;
}

/* The summed rate of n threads copying at once. */
static double run(int n, job *jobs) {
    pthread_t t[64];
    for (int i = 0; i < n; i++) pthread_create(&t[i], NULL, copy_loop, &jobs[i]);
    double sum = 0;
    for (int i = 0; i < n; i++) { pthread_join(t[i], NULL); sum += jobs[i].rate; }
    return sum;
}

int main(int argc, char **argv) {
    int maxThreads = argc > 1 ? atoi(argv[1]) : 1;
    if (maxThreads < 1 || maxThreads > 64) { fprintf(stderr, "copy_bandwidth: threads must be 1..64 (got %s)\n", argv[1]); return 2; }
    job jobs[64];
    for (int i = 0; i < maxThreads; i++) {
        jobs[i].src = aligned_alloc(64, (size_t)COPY_FLOATS * sizeof(float));
        jobs[i].dst = aligned_alloc(64, (size_t)COPY_FLOATS * sizeof(float));
        if (!jobs[i].src || !jobs[i].dst) { fprintf(stderr, "copy_bandwidth: out of memory for the copy buffers\n"); return 1; }
        memset(jobs[i].src, 1, (size_t)COPY_FLOATS * sizeof(float));
        memset(jobs[i].dst, 0, (size_t)COPY_FLOATS * sizeof(float));
    }
    printf("threads,copy_gbs\n");
    for (int n = 1; n <= maxThreads; n++) {
        double best = 0;
        for (int trial = 0; trial < 3; trial++) {
            double gb = run(n, jobs);
            if (gb > best) best = gb;
        }
        printf("%d,%.1f\n", n, best);
    }
    return 0;
}
