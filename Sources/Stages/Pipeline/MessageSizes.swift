/// The messages of one diffusion step of one micro-batch, per kind, for a
/// plan's layout, with a predicted cost from a latency + bytes/bandwidth
/// model — what `dit plan` prints.
public struct MessageSizes: Sendable {
    public struct Line: Sendable {
        public let kind: MessageKind
        /// Bytes of one message (header included).
        public let bytes: Int
        /// Messages per step and micro-batch, over the whole replica.
        public let count: Int
        public let note: String
    }
    public let lines: [Line]

    public init(plan: SamplingPlan) {
        let l = plan.layout, g = l.groupSize, p = l.sp, h = MessageHeader.size
        var lines: [Line] = []
        if l.stages > 1 {
            lines.append(Line(kind: .activations, bytes: h + 4 * plan.activationFloats, count: (l.stages - 1) * g,
                              note: "each rank to the same branch and part of the next stage"))
        }
        if l.stages > 1 || g > 1 {
            lines.append(Line(kind: .modelOutput, bytes: h + 4 * plan.outputFloats, count: l.stages > 1 ? g : g - 1,
                              note: "final-layer rows, every last-stage rank to the sampler"))
        }
        if g > 1 {
            lines.append(Line(kind: .latents, bytes: h + 4 * plan.latentFloats, count: g - 1,
                              note: "x_t, the sampler to stage 0's other ranks"))
        }
        if p > 1 {
            let tl = plan.tokensPerRank, w = plan.model.hiddenSize / p, rows = plan.rowsPerRank
            let pairs = l.cfg * p * (p - 1), blocks = plan.model.depth   // each block runs on one stage
            lines.append(Line(kind: .headSplit, bytes: h + 4 * rows * tl * 3 * w, count: pairs * blocks,
                              note: "q, k, v per block, each rank to each other part (\(blocks) blocks)"))
            lines.append(Line(kind: .tokenSplit, bytes: h + 4 * rows * tl * w, count: pairs * blocks,
                              note: "attention output per block, back"))
        }
        self.lines = lines
    }

    /// Predicted seconds of one message: latency + bytes / bandwidth.
    public static func cost(bytes: Int, latency: Double, bandwidth: Double) -> Double { latency + Double(bytes) / bandwidth }
}
