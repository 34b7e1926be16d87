/// Multiply-add FLOPs (×2) of one image's forward pass, by layer: every GEMM
/// including attention's two per head; elementwise work (norms, modulate,
/// gates, activations) is not counted. The one count `dit bench`, `dit
/// profile` and the auto partition use.
public struct FLOPs: Equatable, Sendable {
    /// x_embedder (the patch convolution as a GEMM) and t_embedder's MLP;
    /// y_embedder is a table lookup.
    public let patchEmbed, timestepEmbed: Double
    /// One block's layers, and its adaLN_modulation (one row per image).
    public let qkv, attention, proj, fc1, fc2, adaLN: Double
    /// final_layer's linear and its adaLN_modulation.
    public let finalLinear, finalAdaLN: Double
    public let depth: Int

    public init(_ c: DiTConfig) {
        let t = Double(c.tokens), d = Double(c.hiddenSize), m = Double(c.mlpHidden)
        let p2 = Double(c.patchSize * c.patchSize), f = Double(DiTConfig.frequencyEmbeddingSize)
        patchEmbed = 2 * t * Double(c.inChannels) * p2 * d
        timestepEmbed = 2 * (f * d + d * d)
        qkv = 2 * t * d * 3 * d
        attention = 4 * t * t * d
        proj = 2 * t * d * d
        fc1 = 2 * t * d * m
        fc2 = 2 * t * m * d
        adaLN = 2 * d * 6 * d
        finalLinear = 2 * t * d * p2 * Double(c.outChannels)
        finalAdaLN = 2 * d * 2 * d
        depth = c.depth
    }

    /// What stage 0 computes before the first block.
    public var embed: Double { patchEmbed + timestepEmbed }
    public var block: Double { qkv + attention + proj + fc1 + fc2 + adaLN }
    public var final: Double { finalLinear + finalAdaLN }
    /// The whole forward pass of one image.
    public var forward: Double { embed + Double(depth) * block + final }
}
