import ArgumentParser
import Foundation
import Stages
import Tensors

/// `dit inspect`: the architecture read from a checkpoint, and its tensors.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Print a checkpoint's inferred architecture and tensors.",
        discussion: """
            Example: dit inspect DiT-XL-2-256x256.safetensors --json
            """)

    @Argument(help: "DiT checkpoint (safetensors).") var checkpoint: String
    @Option(help: "Attention heads, if not in the metadata.") var numHeads: Int?
    @Flag(help: "List every tensor.") var tensors = false
    @Flag(help: "Print as one JSON object (docs/formats.md).") var json = false

    func run() throws {
        let ckpt = try Checkpoint(path: checkpoint, numHeads: numHeads)
        let c = ckpt.config
        if json {
            var out: [String: Any] = ["path": checkpoint, "depth": c.depth, "hidden_size": c.hiddenSize, "num_heads": c.numHeads,
                                      "patch_size": c.patchSize, "input_size": c.inputSize, "in_channels": c.inChannels,
                                      "num_classes": c.numClasses, "mlp_ratio": c.mlpRatio, "learn_sigma": c.learnSigma,
                                      "pos_embed_stored": ckpt.hasPosEmbed, "metadata": ckpt.file.metadata]
            if tensors {
                out["tensors"] = ckpt.file.names.map { ["name": $0, "dtype": ckpt.file.entries[$0]!.dtype.rawValue, "shape": ckpt.file.entries[$0]!.shape] }
            }
            print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
            return
        }
        print("\(checkpoint): depth \(c.depth), hidden \(c.hiddenSize), heads \(c.numHeads), patch \(c.patchSize), input \(c.inputSize)×\(c.inputSize)×\(c.inChannels), classes \(c.numClasses), mlp_ratio \(c.mlpRatio), learn_sigma \(c.learnSigma)\(ckpt.hasPosEmbed ? "" : ", pos_embed computed")")
        for (k, v) in ckpt.file.metadata.sorted(by: { $0.key < $1.key }) { print("  metadata \(k): \(v)") }
        if tensors {
            for name in ckpt.file.names {
                let e = ckpt.file.entries[name]!
                print("  \(name) \(e.dtype.rawValue) \(e.shape.shapeDescription)")
            }
        }
    }
}
