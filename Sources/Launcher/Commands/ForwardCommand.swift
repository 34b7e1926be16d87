import ArgumentParser
import Foundation
import Stages
import Tensors

/// `dit forward`: one forward pass (or forward_with_cfg) on a batch from a
/// safetensors file, written to HDF5 as /out.
struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Run DiT.forward (or forward_with_cfg) on x, t, y from a safetensors file.",
        discussion: """
            Example: dit forward --checkpoint M.safetensors --input batch.safetensors --output out.h5 --cfg-scale 4
            """)

    @Option(help: "DiT checkpoint (safetensors, upstream names).") var checkpoint: String
    @Option(help: "safetensors with x (N,C,H,W) float32, t (N) int64 or float32, y (N) int64.") var input: String
    @Option(help: "HDF5 file to write; gets dataset /out (N, out_channels, H, W).") var output: String
    @Option(help: "Attention heads, if the checkpoint's metadata lacks num_heads and the hidden size is no preset's.")
    var numHeads: Int?
    @Option(help: "Classifier-free guidance scale: x's rows are [conditional; unconditional], as forward_with_cfg.")
    var cfgScale: Float?
    @Option(help: "Channels guided: upstream (eps channels 0..2, as upstream) or all-channels.")
    var guidance: GuidanceMode = .upstream
    @Option(name: [.customLong("batch"), .customLong("microbatch-size")], help: "Images per batch inside the forward pass.")
    var batch: Int = 8
    @OptionGroup var engine: EngineOptions

    func run() throws {
        try engine.configure(threads: nil)
        let inputs = try SafeTensorsFile(path: input)
        let xEntry = try inputs.entry("x")
        guard xEntry.dtype.isFloatingPoint else {
            throw SafeTensorsError.wrongDType(path: input, tensor: "x", dtype: "\(xEntry.dtype.rawValue) with shape \(xEntry.shape.shapeDescription)",
                                              allowed: "a float dtype (F32, F16, BF16 or F64)")
        }
        let x = try inputs.tensor("x")
        let t = try inputs.tensor("t").array
        let y = try inputs.integers("y").map { Int($0) }
        let ckpt = try Checkpoint(path: checkpoint, numHeads: numHeads, inputSize: x.shape.count == 4 ? x.shape[2] : nil)
        let model = try DiT(checkpoint: ckpt)
        try model.validateInput(shape: x.shape, t: t, y: y, name: "\(input): x")
        let ws = Workspace(config: ckpt.config, maxBatch: max(1, min(batch, x.shape[0])))
        let out: Tensor
        if let cfgScale {
            guard cfgScale >= 0 else { throw ValidationError("--cfg-scale must be ≥ 0 (got \(cfgScale))") }
            out = try model.forwardWithCFG(x: x, t: t, y: y, scale: cfgScale, mode: guidance, workspace: ws)
        } else {
            out = try model.forward(x: x, t: t, y: y, workspace: ws)
        }
        try H5Writer.write(atomically: output, format: .earliest) { try $0.write("/out", out) }
    }
}

extension GuidanceMode: ExpressibleByArgument {}
