import Tensors

/// nn.LayerNorm(D, elementwise_affine=False, eps=1e-6) and upstream's
/// `modulate(x, shift, scale) = x·(1 + scale) + shift` in one pass, over
/// rows of `tokens` tokens per image: image i's shift and scale vectors start
/// at `shift + i·stride`, `scale + i·stride` (columns of adaLN's output).
struct LayerNorm {
    let features: Int

    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, tokens: Int, shift: UnsafePointer<Float>,
                        scale: UnsafePointer<Float>, stride: Int, into y: UnsafeMutablePointer<Float>) {
        Norm.layerNormModulate(x, rows: rows, cols: features, eps: DiTConfig.layerNormEps, groupRows: tokens,
                               shift: shift, scale: scale, groupStride: stride, into: y)
    }
}
