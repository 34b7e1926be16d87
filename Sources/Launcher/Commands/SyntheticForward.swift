import Foundation
import Stages
import Tensors

/// One forward pass over a fixed, deterministic batch with every buffer
/// preallocated, run as a pipeline stage runs it (embed, blocks, final
/// layer): what `dit bench` times and `dit profile` takes apart.
struct SyntheticForward {
    let model: DiT
    let batch: Int
    let workspace: Workspace
    let x: Tensor, t: [Float], y: [Int]
    let tokens: Tensor, cond: Tensor, out: Tensor

    init(model: DiT, batch n: Int) {
        let c = model.config
        self.model = model
        batch = n
        workspace = Workspace(config: c, maxBatch: n)
        x = Tensor(shape: [n, c.inChannels, c.inputSize, c.inputSize])
        for i in 0..<x.count { x[i] = sinf(Float(i) * 0.37) }
        t = (0..<n).map { Float(($0 * 397) % 1000) }
        y = (0..<n).map { ($0 * 131) % c.numClasses }
        tokens = Tensor(shape: [n * c.tokens, c.hiddenSize])
        cond = Tensor(shape: [n, c.hiddenSize])
        out = Tensor(shape: [n, c.outChannels, c.inputSize, c.inputSize])
    }

    func embed() { model.embed(x: x.pointer, t: t, y: y, tokens: tokens, c: cond, workspace: workspace) }
    func blocks() { model.runBlocks(tokens: tokens, c: cond, batch: batch, workspace: workspace) }
    func finish() { model.finish(tokens: tokens, c: cond, batch: batch, workspace: workspace, into: out.data) }
    func callAsFunction() { embed(); blocks(); finish() }
}
