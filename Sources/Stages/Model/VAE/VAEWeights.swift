import Tensors

/// A diffusers AutoencoderKL weight file, opened for the decoder. Keys are
/// diffusers names; older files' attention names are mapped by one table.
/// The architecture is read from the shapes and every decoder key is checked
/// (missing, unused, wrong shape) before any weight is loaded. The encoder
/// and quant_conv, which decoding never uses, are skipped by prefix.
final class VAEWeights {
    let file: SafeTensorsFile
    let config: VAEConfig
    /// Canonical (current diffusers) name → the name in the file.
    private let names: [String: String]

    /// Older diffusers files (before the Attention refactor) name the mid
    /// block's attention projections query/key/value/proj_attn.
    static let renames: [(old: String, new: String)] = [
        (".query.", ".to_q."), (".key.", ".to_k."), (".value.", ".to_v."), (".proj_attn.", ".to_out.0."),
    ]
    /// Parts of a full AutoencoderKL that the decoder does not use.
    static let skippedPrefixes = ["encoder.", "quant_conv."]

    var path: String { file.path }

    init(path: String, normNumGroups: Int = 32) throws {
        file = try SafeTensorsFile(path: path)
        var names: [String: String] = [:]
        for key in file.names where !Self.skippedPrefixes.contains(where: key.hasPrefix) {
            var canonical = key
            for (old, new) in Self.renames { canonical = canonical.replacingOccurrences(of: old, with: new) }
            if let other = names[canonical] {
                throw DiTError("\(path): tensors '\(other)' and '\(key)' are both '\(canonical)' (old and new diffusers attention names); keep one")
            }
            names[canonical] = key
        }
        self.names = names
        config = try Self.inferConfig(file, names: names, normNumGroups: normNumGroups)
        try verifyKeys()
    }

    private static func shape(_ file: SafeTensorsFile, _ names: [String: String], _ key: String, rank: Int) throws -> [Int] {
        guard let e = names[key].flatMap({ file.entries[$0] }) else {
            throw DiTError("\(file.path): missing tensor '\(key)'; is this a diffusers AutoencoderKL (e.g. stabilityai/sd-vae-ft-ema, diffusion_pytorch_model.safetensors)? Check it with tools/convert_checkpoint.py")
        }
        guard e.shape.count == rank else {
            throw DiTError("\(file.path): tensor '\(e.name)' has shape \(e.shape.shapeDescription); expected \(rank) dimensions")
        }
        return e.shape
    }

    static func inferConfig(_ file: SafeTensorsFile, names: [String: String], normNumGroups: Int) throws -> VAEConfig {
        let latent = try shape(file, names, "post_quant_conv.weight", rank: 4)[0]
        func count(_ prefix: String) -> Int {
            (names.keys.compactMap { key -> Int? in
                guard key.hasPrefix(prefix) else { return nil }
                return Int(key.dropFirst(prefix.count).prefix { $0 != "." })
            }.max() ?? -1) + 1
        }
        let blocks = count("decoder.up_blocks.")
        guard blocks > 0 else {
            throw DiTError("\(file.path): no decoder.up_blocks.* tensors; is this a diffusers AutoencoderKL? Check it with tools/convert_checkpoint.py")
        }
        let resnets = count("decoder.up_blocks.0.resnets.")
        guard resnets > 0 else { throw DiTError("\(file.path): decoder.up_blocks.0 has no resnets") }
        let reversed = try (0..<blocks).map { try shape(file, names, "decoder.up_blocks.\($0).resnets.0.conv1.weight", rank: 4)[0] }
        let out = try shape(file, names, "decoder.conv_out.weight", rank: 4)[0]
        let config = VAEConfig(latentChannels: latent, blockOutChannels: reversed.reversed(), layersPerBlock: resnets - 1,
                               outChannels: out, normNumGroups: normNumGroups)
        do { try config.validate() } catch let e as DiTError { throw DiTError("\(file.path): \(e.message)") }
        return config
    }

    /// Every decoder tensor by canonical name, with its shape.
    static func expectedShapes(_ c: VAEConfig) -> [(key: String, shape: [Int])] {
        var keys: [(String, [Int])] = []
        func conv(_ p: String, _ cin: Int, _ cout: Int, _ k: Int) { keys += [(p + ".weight", [cout, cin, k, k]), (p + ".bias", [cout])] }
        func norm(_ p: String, _ ch: Int) { keys += [(p + ".weight", [ch]), (p + ".bias", [ch])] }
        func resnet(_ p: String, _ cin: Int, _ cout: Int) {
            norm(p + ".norm1", cin); conv(p + ".conv1", cin, cout, 3)
            norm(p + ".norm2", cout); conv(p + ".conv2", cout, cout, 3)
            if cin != cout { conv(p + ".conv_shortcut", cin, cout, 1) }
        }
        let top = c.blockOutChannels.last!
        conv("post_quant_conv", c.latentChannels, c.latentChannels, 1)
        conv("decoder.conv_in", c.latentChannels, top, 3)
        resnet("decoder.mid_block.resnets.0", top, top)
        let a = "decoder.mid_block.attentions.0."
        norm(a + "group_norm", top)
        for p in ["to_q", "to_k", "to_v", "to_out.0"] { keys += [(a + p + ".weight", [top, top]), (a + p + ".bias", [top])] }
        resnet("decoder.mid_block.resnets.1", top, top)
        for i in 0..<c.blockOutChannels.count {
            let (cin, cout) = c.upBlockChannels(i)
            for j in 0...c.layersPerBlock { resnet("decoder.up_blocks.\(i).resnets.\(j)", j == 0 ? cin : cout, cout) }
            if i < c.blockOutChannels.count - 1 { conv("decoder.up_blocks.\(i).upsamplers.0.conv", cout, cout, 3) }
        }
        norm("decoder.conv_norm_out", c.blockOutChannels[0])
        conv("decoder.conv_out", c.blockOutChannels[0], c.outChannels, 3)
        return keys
    }

    /// Attention projections may be stored as 1×1 convolutions (C, C, 1, 1).
    private static func matches(_ actual: [Int], _ expected: [Int]) -> Bool {
        actual == expected || (expected.count == 2 && actual == expected + [1, 1])
    }

    private func verifyKeys() throws {
        let c = config
        try WeightKeys.verify(file, expected: Self.expectedShapes(c), stored: names,
                              architecture: "an AutoencoderKL decoder with block_out_channels \(c.blockOutChannels), layers_per_block \(c.layersPerBlock), latent_channels \(c.latentChannels)",
                              unusedFix: { _ in "is the file a diffusers AutoencoderKL?" }, matches: Self.matches)
    }

    /// A weight by canonical name (verified at open), as Float32 in its stored
    /// layout (attention 1×1-convolution weights read as (C, C)).
    func tensor(_ key: String) throws -> Tensor {
        guard let name = names[key] else { throw DiTError("\(path): missing tensor '\(key)'") }
        return try file.tensor(name)
    }
}
