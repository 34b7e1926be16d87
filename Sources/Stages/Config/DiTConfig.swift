/// The architecture of a DiT, with upstream's constructor argument names.
public struct DiTConfig: Codable, Equatable, Sendable {
    public var inputSize: Int
    public var patchSize: Int
    public var inChannels: Int
    public var hiddenSize: Int
    public var depth: Int
    public var numHeads: Int
    public var mlpRatio: Double
    public var numClasses: Int
    public var learnSigma: Bool

    enum CodingKeys: String, CodingKey {
        case inputSize = "input_size", patchSize = "patch_size", inChannels = "in_channels"
        case hiddenSize = "hidden_size", depth, numHeads = "num_heads", mlpRatio = "mlp_ratio"
        case numClasses = "num_classes", learnSigma = "learn_sigma"
    }

    public init(inputSize: Int = 32, patchSize: Int = 2, inChannels: Int = 4, hiddenSize: Int = 1152,
                depth: Int = 28, numHeads: Int = 16, mlpRatio: Double = 4, numClasses: Int = 1000,
                learnSigma: Bool = true) {
        self.inputSize = inputSize; self.patchSize = patchSize; self.inChannels = inChannels
        self.hiddenSize = hiddenSize; self.depth = depth; self.numHeads = numHeads; self.mlpRatio = mlpRatio
        self.numClasses = numClasses; self.learnSigma = learnSigma
    }

    public var outChannels: Int { learnSigma ? 2 * inChannels : inChannels }
    /// Whether samples are images themselves (1 or 3 channels) rather than
    /// latents a VAE must decode.
    public var makesPixels: Bool { inChannels == 1 || inChannels == 3 }
    public var headDim: Int { hiddenSize / numHeads }
    /// `int(hidden_size * mlp_ratio)`, as timm's Mlp is built upstream.
    public var mlpHidden: Int { Int(Double(hiddenSize) * mlpRatio) }
    public var gridSize: Int { inputSize / patchSize }
    public var tokens: Int { gridSize * gridSize }
    /// The label upstream uses for the unconditional (null) class.
    public var nullClass: Int { numClasses }
    public static let frequencyEmbeddingSize = 256
    public static let layerNormEps: Float = 1e-6

    /// Upstream's presets, by the names of models.py's `DiT_models`.
    public static func preset(_ name: String, inputSize: Int = 32) -> DiTConfig? {
        let sizes: [String: (depth: Int, hidden: Int, heads: Int)] = [
            "XL": (28, 1152, 16), "L": (24, 1024, 16), "B": (12, 768, 12), "S": (12, 384, 6),
        ]
        let parts = name.replacingOccurrences(of: "DiT-", with: "").split(separator: "/")
        guard parts.count == 2, let s = sizes[String(parts[0])], let p = Int(parts[1]), [2, 4, 8].contains(p) else {
            return nil
        }
        return DiTConfig(inputSize: inputSize, patchSize: p, hiddenSize: s.hidden, depth: s.depth, numHeads: s.heads)
    }

    public static let presetNames = ["XL", "L", "B", "S"].flatMap { s in [2, 4, 8].map { "DiT-\(s)/\($0)" } }

    /// The head count of the preset with this hidden size, if there is one.
    public static func presetHeads(hiddenSize: Int) -> Int? {
        [384: 6, 768: 12, 1024: 16, 1152: 16][hiddenSize]
    }

    public func validate() throws {
        func need(_ ok: Bool, _ key: String, _ why: String) throws {
            if !ok { throw DiTError("model config: \(key) \(why)") }
        }
        try need(patchSize > 0, "patch_size", "must be positive (got \(patchSize))")
        try need(inputSize >= 0 && inputSize % patchSize == 0, "input_size",
                 "must be a multiple of patch_size \(patchSize) (got \(inputSize))")
        try need(inChannels > 0, "in_channels", "must be positive (got \(inChannels))")
        try need(depth > 0, "depth", "must be positive (got \(depth))")
        try need(numHeads > 0 && hiddenSize % numHeads == 0, "num_heads",
                 "must divide hidden_size \(hiddenSize) (got \(numHeads))")
        try need(hiddenSize % 2 == 0, "hidden_size", "must be even for the sin-cos position embedding (got \(hiddenSize))")
        try need(mlpRatio > 0, "mlp_ratio", "must be positive (got \(mlpRatio))")
        try need(numClasses > 0, "num_classes", "must be positive (got \(numClasses))")
    }
}
