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
            line("attention, heads split over threads, TileGemm", n, BenchCommand.median(repeats: repeats, warmup: 1) {
                Attention.forward(qkv: qkv.pointer, batch: 8, tokens: tokens, heads: heads, headDim: headDim,
                                  scratch: scratch.data, threads: n, into: out.data)
            })
        }
    }
}
