#include "ckernels.h"

#include <string.h>

/// MC is the most rows of A packed at once (MC × KC floats, 528 KiB, in L2):
/// with m ≤ MC every B micro-panel is read from memory once per K block and
/// reused for all of A's rows.
enum { MR = 6, NR = 16, KC = 256, MC = 516 };

long dit_gemm_packed_floats(int k, int n) { return (long)((n + NR - 1) / NR) * k * NR; }
long dit_gemm_workspace_floats(void) { return (long)MC * KC; }

void dit_gemm_pack_b(int k, int n, const float *b, long bsk, long bsn, float *out) {
    for (int p = 0; p < k; p++) {
        for (int j0 = 0; j0 < n; j0 += NR) {
            float *dst = out + ((long)(j0 / NR) * k + p) * NR;
            for (int j = 0; j < NR; j++) dst[j] = j0 + j < n ? b[p * bsk + (j0 + j) * bsn] : 0;
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

int dit_gemm_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/// A block (mc × kc) into ceil(mc/MR) panels of kc × MR, zero-padded.
static void pack_a(const float *a, long lda, int mc, int kc, float *out) {
    for (int i0 = 0; i0 < mc; i0 += MR) {
        int h = mc - i0 < MR ? mc - i0 : MR;
        float *panel = out + (long)(i0 / MR) * kc * MR;
        for (int i = 0; i < MR; i++) {
            if (i < h) {
                const float *src = a + (i0 + i) * lda;
                for (int p = 0; p < kc; p++) panel[p * MR + i] = src[p];
            } else {
                for (int p = 0; p < kc; p++) panel[p * MR + i] = 0;
            }
        }
    }
}

/// One 6×16 tile over kc steps: accumulators start at zero (first K block)
/// or at C; the last block adds the bias.
__attribute__((target("avx2,fma")))
static void kernel(int kc, const float *a, const float *b, float *c, long ldc, int first, int last,
                   const float *bias, int mr, int nr) {
    float tmp[MR * NR];
    int full = mr == MR && nr == NR;
    float *cc = full ? c : tmp;
    long ld = full ? ldc : NR;
    if (!full && !first)
        for (int i = 0; i < mr; i++) memcpy(tmp + i * NR, c + i * ldc, sizeof(float) * nr);
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (first) {
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    } else {
        c00 = _mm256_loadu_ps(cc); c01 = _mm256_loadu_ps(cc + 8);
        c10 = _mm256_loadu_ps(cc + ld); c11 = _mm256_loadu_ps(cc + ld + 8);
        c20 = _mm256_loadu_ps(cc + 2 * ld); c21 = _mm256_loadu_ps(cc + 2 * ld + 8);
        c30 = _mm256_loadu_ps(cc + 3 * ld); c31 = _mm256_loadu_ps(cc + 3 * ld + 8);
        c40 = _mm256_loadu_ps(cc + 4 * ld); c41 = _mm256_loadu_ps(cc + 4 * ld + 8);
        c50 = _mm256_loadu_ps(cc + 5 * ld); c51 = _mm256_loadu_ps(cc + 5 * ld + 8);
    }
    for (int p = 0; p < kc; p++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), x;
        x = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
        a += MR;
        b += NR;
    }
    if (last && bias) {
        float padded[NR] = {0};
        memcpy(padded, bias, sizeof(float) * nr);
        __m256 z0 = _mm256_loadu_ps(padded), z1 = _mm256_loadu_ps(padded + 8);
        c00 = _mm256_add_ps(c00, z0); c01 = _mm256_add_ps(c01, z1); c10 = _mm256_add_ps(c10, z0); c11 = _mm256_add_ps(c11, z1);
        c20 = _mm256_add_ps(c20, z0); c21 = _mm256_add_ps(c21, z1); c30 = _mm256_add_ps(c30, z0); c31 = _mm256_add_ps(c31, z1);
        c40 = _mm256_add_ps(c40, z0); c41 = _mm256_add_ps(c41, z1); c50 = _mm256_add_ps(c50, z0); c51 = _mm256_add_ps(c51, z1);
    }
    _mm256_storeu_ps(cc, c00); _mm256_storeu_ps(cc + 8, c01);
    _mm256_storeu_ps(cc + ld, c10); _mm256_storeu_ps(cc + ld + 8, c11);
    _mm256_storeu_ps(cc + 2 * ld, c20); _mm256_storeu_ps(cc + 2 * ld + 8, c21);
    _mm256_storeu_ps(cc + 3 * ld, c30); _mm256_storeu_ps(cc + 3 * ld + 8, c31);
    _mm256_storeu_ps(cc + 4 * ld, c40); _mm256_storeu_ps(cc + 4 * ld + 8, c41);
    _mm256_storeu_ps(cc + 5 * ld, c50); _mm256_storeu_ps(cc + 5 * ld + 8, c51);
    if (!full)
        for (int i = 0; i < mr; i++) memcpy(c + i * ldc, tmp + i * NR, sizeof(float) * nr);
}

void dit_gemm_packed(int m, int n, int k, const float *a, long lda, const float *bp, const float *bias,
                     float *c, long ldc, float *work) {
    if (k <= 0) {   // empty sum
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) c[i * ldc + j] = bias ? bias[j] : 0;
        return;
    }
    for (int pc = 0; pc < k; pc += KC) {
        int kc = k - pc < KC ? k - pc : KC;
        for (int ic = 0; ic < m; ic += MC) {
            int mc = m - ic < MC ? m - ic : MC;
            pack_a(a + ic * lda + pc, lda, mc, kc, work);
            for (int jr = 0; jr < n; jr += NR) {
                int nr = n - jr < NR ? n - jr : NR;
                const float *panel = bp + ((long)(jr / NR) * k + pc) * NR;
                for (int ir = 0; ir < mc; ir += MR) {
                    int mr = mc - ir < MR ? mc - ir : MR;
                    kernel(kc, work + (long)(ir / MR) * kc * MR, panel, c + (ic + ir) * ldc + jr, ldc, pc == 0,
                           pc + kc == k, bias ? bias + jr : 0, mr, nr);
                }
            }
        }
    }
}
#else
int dit_gemm_available(void) { return 0; }
void dit_gemm_packed(int m, int n, int k, const float *a, long lda, const float *bp, const float *bias,
                     float *c, long ldc, float *work) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)bp; (void)bias; (void)c; (void)ldc; (void)work;
}
#endif
