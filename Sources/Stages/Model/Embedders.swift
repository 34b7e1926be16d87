import Foundation
import Tensors

/// PatchEmbed: a p×p, stride-p Conv2d from (N, C, H, W) to tokens (N, T, D),
/// computed as patchify (im2col) + one GEMM.
public struct PatchEmbed {
    let proj: Linear
    public let patchSize: Int
    public let inChannels: Int

    init(_ checkpoint: Checkpoint) throws {
        let w = try checkpoint.tensor("x_embedder.proj.weight")  // (D, C, p, p)
        let d = w.shape[0]
        inChannels = w.shape[1]
        patchSize = w.shape[2]
        let flat = w.reshaped([d, inChannels * patchSize * patchSize])
        proj = Linear(weight: flat, bias: try checkpoint.tensor("x_embedder.proj.bias"))
    }

    /// tokens[N·T, D] from x (N, C, H, W); `patches` holds N·T·C·p·p floats.
    func callAsFunction(_ x: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                        patches: UnsafeMutablePointer<Float>, groups: Int = 1, into tokens: UnsafeMutablePointer<Float>) {
        Patch.patchify(x, batch: batch, channels: inChannels, height: height, width: width, patch: patchSize, into: patches)
        proj.tokens(patches, rows: batch * (height / patchSize) * (width / patchSize), groups: groups, into: tokens)
    }
}

/// TimestepEmbedder: 256 sinusoidal frequencies [cos | sin] through an MLP
/// (Linear, SiLU, Linear). The frequencies are computed in Float32 in
/// upstream's order of operations, since t·freq reaches ~1000 rad and any
/// rounding difference there shows in cos/sin.
public struct TimestepEmbedder {
    let mlp0: Linear
    let mlp2: Linear
    let frequencies: [Float]

    init(_ checkpoint: Checkpoint) throws {
        mlp0 = try Linear(checkpoint, "t_embedder.mlp.0")
        mlp2 = try Linear(checkpoint, "t_embedder.mlp.2")
        let half = DiTConfig.frequencyEmbeddingSize / 2
        let logPeriod = Float(-log(10000.0))
        frequencies = (0..<half).map { expf(logPeriod * Float($0) / Float(half)) }
    }

    /// out[N, D] for timesteps t (fractional allowed). `scratch` holds N·(256 + D).
    func callAsFunction(_ t: [Float], scratch: UnsafeMutablePointer<Float>, groups: Int = 1, into out: UnsafeMutablePointer<Float>) {
        let n = t.count, half = frequencies.count, f = 2 * half
        for i in 0..<n {
            let row = scratch + i * f
            for k in 0..<half {
                let arg = t[i] * frequencies[k]
                row[k] = cosf(arg)
                row[half + k] = sinf(arg)
            }
        }
        let hidden = scratch + n * f
        mlp0(scratch, rows: n, groups: groups, into: hidden)
        Activation.silu(hidden, count: n * mlp0.outFeatures, into: hidden)
        mlp2(hidden, rows: n, groups: groups, into: out)
    }
}

/// LabelEmbedder: a table of num_classes + 1 rows; the last is the null
/// class used for classifier-free guidance.
public struct LabelEmbedder {
    let table: Tensor

    init(_ checkpoint: Checkpoint) throws {
        table = try checkpoint.tensor("y_embedder.embedding_table.weight")
    }

    func callAsFunction(_ y: [Int], into out: UnsafeMutablePointer<Float>) {
        let d = table.shape[1]
        for (i, label) in y.enumerated() { (out + i * d).update(from: table.data + label * d, count: d) }
    }
}
