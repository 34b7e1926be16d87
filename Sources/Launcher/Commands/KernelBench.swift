import Foundation
import Tensors

/// `dit bench --kernels`: each optimised kernel against the implementation
/// it replaced, on DiT-XL/2 batch-8 shapes, in one process.
enum KernelBench {
    static func run(threads: [Int], repeats: Int) {
        let rows = 2048, mlp = 4608, tokens = 256, heads = 16, headDim = 72
        let x = Tensor(shape: [rows, mlp])
        for i in 0..<x.count { x[i] = sinf(Float(i) * 0.001) * 4 }
        let scores = Tensor(shape: [max(threads.max() ?? 1, 1), tokens, tokens])
        let scratch = Tensor(shape: [max(threads.max() ?? 1, 1), Attention.scratchCount(tokens: tokens, headDim: headDim)])
        let qkv = Tensor(shape: [8 * tokens, 3 * heads * headDim]), out = Tensor(shape: [8 * tokens, heads * headDim])
        for i in 0..<qkv.count { qkv[i] = cosf(Float(i) * 0.01) }
        let ada = 1152, c = Tensor(shape: [8, ada]), mod = Tensor(shape: [8, 6 * ada])
        let adaW = Tensor(shape: [28 * ada, 6 * ada])
        for i in 0..<c.count { c[i] = sinf(Float(i)) }
        for i in 0..<adaW.count { adaW[i] = Float(i % 17) * 0.01 }
        print("kernel (DiT-XL/2, batch 8 shapes)                   threads        ms")
        func line(_ name: String, _ n: Int, _ ms: Double) {
            print(name.padding(toLength: 52, withPad: " ", startingAt: 0) + String(format: " %7d %9.2f", n, ms))
        }
        for n in threads {
            Gemm.threads = n
            line("GELU, scalar tanhf loop (before)", n, BenchCommand.median(repeats: repeats, warmup: 1) {
                let k: Float = 0.7978845608028654
                for i in 0..<x.count { let v = x[i]; x[i] = 0.5 * v * (1 + tanhf(k * (v + 0.044715 * v * v * v))) }
            })
            line("GELU, 16-lane exp, rows split over threads", n, BenchCommand.median(repeats: repeats, warmup: 1) {
                Activation.geluTanh(x.data, count: x.count)
            })
            line("softmax 128×(256×256), scalar expf (before)", n, BenchCommand.median(repeats: repeats, warmup: 1) {
                for _ in 0..<128 {
                    for r in 0..<tokens {
                        let row = scores.data + r * tokens
                        var m = -Float.infinity
                        for j in 0..<tokens where row[j] > m { m = row[j] }
                        var s: Float = 0
                        for j in 0..<tokens { let e = expf(row[j] - m); row[j] = e; s += e }
                        for j in 0..<tokens { row[j] *= 1 / s }
                    }
                }
            })
            line("softmax 128×(256×256), 16-lane exp", n, BenchCommand.median(repeats: repeats, warmup: 1) {
                for _ in 0..<128 { Activation.softmaxRows(scores.data, rows: tokens, cols: tokens) }
            })
            line("attention, heads in turn, OpenBLAS threads inside", n, BenchCommand.median(repeats: repeats, warmup: 1) {
                Attention.forward(qkv: qkv.pointer, batch: 8, tokens: tokens, heads: heads, headDim: headDim,
                                  scores: scores.data, threads: 1, into: out.data)
            })
            line("attention, heads split over threads, OpenBLAS", n, BenchCommand.median(repeats: repeats, warmup: 1) {
                Attention.forward(qkv: qkv.pointer, batch: 8, tokens: tokens, heads: heads, headDim: headDim,
                                  scores: scores.data, threads: n, into: out.data)
            })
            line("attention, heads split over threads, fused TileGemm", n, BenchCommand.median(repeats: repeats, warmup: 1) {
                Attention.forward(qkv: qkv.pointer, batch: 8, tokens: tokens, heads: heads, headDim: headDim,
                                  scratch: scratch.data, threads: n, into: out.data)
            })
            // adaLN_modulation of all 28 blocks for 8 rows: 28 × (1152 × 6912) weights, streamed from memory.
            line("adaLN ×28, 8 rows, OpenBLAS sgemm (before)", n, BenchCommand.median(repeats: repeats, warmup: 1) {
                for b in 0..<28 {
                    Gemm.sgemm(m: 8, n: 6 * ada, k: ada, a: c.pointer, lda: ada, b: adaW.pointer + b * ada * 6 * ada,
                               ldb: 6 * ada, c: mod.data, ldc: 6 * ada)
                }
            })
            line("adaLN ×28, 8 rows, few-rows stream (Gemm.linear)", n, BenchCommand.median(repeats: repeats, warmup: 1) {
                for b in 0..<28 {
                    Gemm.linear(c.pointer, rows: 8, inFeatures: ada, weightT: adaW.pointer + b * ada * 6 * ada, bias: nil,
                                outFeatures: 6 * ada, into: mod.data)
                }
            })
        }
    }
}
