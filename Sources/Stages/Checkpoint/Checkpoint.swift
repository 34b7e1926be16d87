import Foundation
import Tensors

/// A DiT checkpoint in safetensors with upstream state_dict names. The
/// architecture is read from the tensor shapes; every key is checked against
/// the keys that architecture needs before any weight is loaded.
public final class Checkpoint: @unchecked Sendable {
    public let file: SafeTensorsFile
    public let config: DiTConfig
    /// False when the file has no `pos_embed`; it is then computed.
    public let hasPosEmbed: Bool
    public var path: String { file.path }

    /// - Parameters:
    ///   - numHeads: from the command line; the file's `num_heads` metadata
    ///     wins if present, and the two must agree.
    ///   - inputSize: used only when the file has no `pos_embed` (and no
    ///     `input_size` metadata) to fix the spatial size.
    public init(path: String, numHeads: Int? = nil, inputSize: Int? = nil) throws {
        file = try SafeTensorsFile(path: path)
        let (config, hasPos) = try Self.inferConfig(file, numHeads: numHeads, inputSize: inputSize)
        self.config = config
        self.hasPosEmbed = hasPos
        try Self.verifyKeys(file, config: config, hasPosEmbed: hasPos)
    }

    private static func shape(_ file: SafeTensorsFile, _ key: String, rank: Int) throws -> [Int] {
        guard let e = file.entries[key] else {
            throw DiTError("\(file.path): missing tensor '\(key)'; is this a DiT checkpoint with upstream (facebookresearch/DiT) names? Convert diffusers or .pt files with tools/convert_checkpoint.py")
        }
        guard e.shape.count == rank else {
            throw DiTError("\(file.path): tensor '\(key)' has shape \(e.shape.shapeDescription); expected \(rank) dimensions")
        }
        return e.shape
    }

    static func inferConfig(_ file: SafeTensorsFile, numHeads: Int?, inputSize: Int?) throws -> (DiTConfig, Bool) {
        let path = file.path
        let proj = try shape(file, "x_embedder.proj.weight", rank: 4)
        let hidden = proj[0], channels = proj[1], patch = proj[2]
        guard proj[3] == patch else {
            throw DiTError("\(path): x_embedder.proj.weight has non-square patches \(proj.shapeDescription)")
        }
        let table = try shape(file, "y_embedder.embedding_table.weight", rank: 2)
        guard table[0] >= 2 else {
            throw DiTError("\(path): tensor 'y_embedder.embedding_table.weight' has \(table[0]) row(s); it needs num_classes + 1 rows (at least one class and the null class last)")
        }
        let final = try shape(file, "final_layer.linear.weight", rank: 2)
        let fc1 = try shape(file, "blocks.0.mlp.fc1.weight", rank: 2)
        let outChannels = final[0] / (patch * patch)
        guard final[0] % (patch * patch) == 0, outChannels == channels || outChannels == 2 * channels else {
            throw DiTError("\(path): final_layer.linear.weight has \(final[0]) rows; with patch \(patch) and \(channels) input channels it must have \(patch * patch * channels) (learn_sigma off) or \(2 * patch * patch * channels) (learn_sigma on)")
        }
        let depth = (file.entries.keys.compactMap { key -> Int? in
            guard key.hasPrefix("blocks.") else { return nil }
            return Int(key.dropFirst(7).prefix { $0 != "." })
        }.max() ?? -1) + 1

        var size: Int
        let hasPos = file.entries["pos_embed"] != nil
        if hasPos {
            let pos = try shape(file, "pos_embed", rank: 3)
            let grid = Int(Double(pos[1]).squareRoot().rounded())
            guard pos[0] == 1, grid * grid == pos[1] else {
                throw DiTError("\(path): pos_embed has shape \(pos.shapeDescription); expected (1, T, D) with T a square number of patches")
            }
            size = grid * patch
            if let meta = file.metadata["input_size"].flatMap(Int.init), meta != size {
                throw DiTError("\(path): metadata input_size \(meta) contradicts pos_embed \(pos.shapeDescription), which means input size \(size) with patch \(patch)")
            }
        } else if let meta = file.metadata["input_size"].flatMap(Int.init) {
            size = meta
        } else if let inputSize {
            size = inputSize
        } else {
            throw DiTError("\(path): no pos_embed and no input_size metadata; the input size cannot be known (pass an input, or add input_size to the metadata)")
        }

        let metaHeads = file.metadata["num_heads"].map { Int($0) }
        if let metaHeads, metaHeads == nil {
            throw DiTError("\(path): metadata num_heads '\(file.metadata["num_heads"]!)' is not an integer")
        }
        let heads: Int
        switch (metaHeads.flatMap { $0 }, numHeads) {
        case let (m?, f?) where m != f:
            throw DiTError("\(path): metadata num_heads \(m) contradicts --num-heads \(f); drop the flag or fix the metadata")
        case let (m?, _): heads = m
        case let (nil, f?): heads = f
        case (nil, nil):
            guard let p = DiTConfig.presetHeads(hiddenSize: hidden) else {
                throw DiTError("\(path): hidden size \(hidden) matches no preset and the file has no num_heads metadata; pass --num-heads")
            }
            heads = p
        }
        let config = DiTConfig(inputSize: size, patchSize: patch, inChannels: channels, hiddenSize: hidden,
                               depth: depth, numHeads: heads, mlpRatio: Double(fc1[0]) / Double(hidden),
                               numClasses: table[0] - 1, learnSigma: outChannels == 2 * channels)
        do { try config.validate() } catch let e as DiTError { throw DiTError("\(path): \(e.message)") }
        return (config, hasPos)
    }

    /// Every tensor the architecture has, by upstream name, with its shape.
    public static func expectedShapes(_ c: DiTConfig) -> [(key: String, shape: [Int])] {
        let d = c.hiddenSize, p = c.patchSize, f = DiTConfig.frequencyEmbeddingSize
        var keys: [(String, [Int])] = [
            ("x_embedder.proj.weight", [d, c.inChannels, p, p]), ("x_embedder.proj.bias", [d]),
            ("pos_embed", [1, c.tokens, d]),
            ("t_embedder.mlp.0.weight", [d, f]), ("t_embedder.mlp.0.bias", [d]),
            ("t_embedder.mlp.2.weight", [d, d]), ("t_embedder.mlp.2.bias", [d]),
            ("y_embedder.embedding_table.weight", [c.numClasses + 1, d]),
        ]
        for i in 0..<c.depth {
            let b = "blocks.\(i)."
            keys += [
                (b + "attn.qkv.weight", [3 * d, d]), (b + "attn.qkv.bias", [3 * d]),
                (b + "attn.proj.weight", [d, d]), (b + "attn.proj.bias", [d]),
                (b + "mlp.fc1.weight", [c.mlpHidden, d]), (b + "mlp.fc1.bias", [c.mlpHidden]),
                (b + "mlp.fc2.weight", [d, c.mlpHidden]), (b + "mlp.fc2.bias", [d]),
                (b + "adaLN_modulation.1.weight", [6 * d, d]), (b + "adaLN_modulation.1.bias", [6 * d]),
            ]
        }
        keys += [
            ("final_layer.linear.weight", [p * p * c.outChannels, d]), ("final_layer.linear.bias", [p * p * c.outChannels]),
            ("final_layer.adaLN_modulation.1.weight", [2 * d, d]), ("final_layer.adaLN_modulation.1.bias", [2 * d]),
        ]
        return keys
    }

    static func verifyKeys(_ file: SafeTensorsFile, config: DiTConfig, hasPosEmbed: Bool) throws {
        let expected = expectedShapes(config).filter { hasPosEmbed || $0.key != "pos_embed" }
        try WeightKeys.verify(file, expected: expected, stored: Dictionary(uniqueKeysWithValues: file.names.map { ($0, $0) }),
                              architecture: "a \(config.depth)-block DiT of hidden size \(config.hiddenSize)",
                              dtypeFix: " (convert with tools/convert_checkpoint.py)",
                              unusedFix: { "remove \($0 ? "them" : "it") or convert the file with tools/convert_checkpoint.py" })
    }

    /// A weight by upstream name (its shape was verified at open).
    public func tensor(_ key: String) throws -> Tensor {
        try file.tensor(key)
    }
}
