#ifndef DIT_CKERNELS_H
#define DIT_CKERNELS_H

/// 1 when this CPU runs the AVX2 + FMA kernel below (checked at run time:
/// the target is compiled for baseline x86-64 and the kernel carries its own
/// target attribute).
int dit_gemm_available(void);

/// Floats of a k×n matrix packed by dit_gemm_pack_b: ceil(n/16) panels of
/// k rows × 16 columns, zero-padded.
long dit_gemm_packed_floats(int k, int n);

/// Packs B (k×n, element (p, j) at b[p·bsk + j·bsn]) into panels.
void dit_gemm_pack_b(int k, int n, const float *b, long bsk, long bsn, float *out);

/// Floats of workspace one dit_gemm_packed call needs (a packed A block).
long dit_gemm_workspace_floats(void);

/// C[m×n] = A[m×k] · B + bias (bias: n floats or NULL), single-threaded, with
/// B packed by dit_gemm_pack_b (k×n_total; `bp` may point at panel j/16 for a
/// column range starting at j, a multiple of 16). BLIS-style: 6×16 register
/// tile, K in blocks of 256, A packed per 72×256 block. Each C element is
/// one FMA chain over k in order in fixed K blocks, so it depends only on
/// its row of A and column of B — not on m, n, the row's position or how
/// columns are split over threads.
void dit_gemm_packed(int m, int n, int k, const float *a, long lda, const float *bp, const float *bias,
                     float *c, long ldc, float *work);

#endif
