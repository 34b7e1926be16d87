/// The whole run's actions for every stage: a pure value, built identically
/// on every rank, printed, checked and simulated without communication.
///
/// Diffusion steps form a ring. Micro-batch m's step k flows through stages
/// 0 → S−1; the last stage returns its model output to stage 0, which
/// updates the latents and sends micro-batch m into step k + 1 while the
/// other micro-batches are still in flight. With M ≥ S micro-batches the
/// pipeline fills once per run, not once per step.
public struct Schedule: Equatable, Sendable {
    public let stages: Int
    public let microbatches: Int
    public let steps: Int
    public let actions: [[Action]]

    public init(stages: Int, microbatches: Int, steps: Int) {
        precondition(stages >= 1 && microbatches >= 1 && steps >= 1)
        self.stages = stages
        self.microbatches = microbatches
        self.steps = steps
        let last = stages - 1
        var actions = [[Action]](repeating: [], count: stages)
        if stages == 1 {
            // One stage: each forward's output is consumed at once.
            for k in 0..<steps {
                for m in 0..<microbatches { actions[0] += [.forward(step: k, microbatch: m), .update(step: k, microbatch: m)] }
            }
            self.actions = actions
            return
        }
        for k in 0..<steps {
            for m in 0..<microbatches {
                for s in 0..<stages {
                    if s == 0 {
                        if k > 0 {
                            actions[0].append(.receive(step: k - 1, microbatch: m, from: last))
                            actions[0].append(.update(step: k - 1, microbatch: m))
                        }
                    } else {
                        actions[s].append(.receive(step: k, microbatch: m, from: s - 1))
                    }
                    actions[s].append(.forward(step: k, microbatch: m))
                    actions[s].append(.send(step: k, microbatch: m, to: s == last ? 0 : s + 1))
                }
            }
        }
        for m in 0..<microbatches {
            actions[0].append(.receive(step: steps - 1, microbatch: m, from: last))
            actions[0].append(.update(step: steps - 1, microbatch: m))
        }
        self.actions = actions
    }

    /// A schedule from explicit actions (for tests of the checker).
    public init(stages: Int, microbatches: Int, steps: Int, actions: [[Action]]) {
        self.stages = stages
        self.microbatches = microbatches
        self.steps = steps
        self.actions = actions
    }

    /// Send buffers per rank: a rank blocks before computing the next
    /// message's output while both still travel.
    public static let sendSlots = 2

    /// Receives a stage keeps posted. Stages 1… take activations, which the
    /// next forward consumes at once: two buffers hide the transfer. Stage 0
    /// takes model outputs (latent-sized, small) that wait until it has
    /// fed all micro-batches of the step: with M > S up to M − S of them
    /// queue, so it posts one buffer per micro-batch — with two, the last
    /// stage stalls on its sends while stage 0 finishes the step, and that
    /// stall stays in the makespan.
    public func receiveDepth(stage: Int) -> Int {
        stage == 0 ? max(2, microbatches) : 2
    }

    /// Messages of one channel that may be sent and not yet received before
    /// the sender blocks: the receiver's posted buffers plus the sender's.
    public func capacity(from: Int, to: Int) -> Int {
        receiveDepth(stage: to) + Self.sendSlots
    }

    /// The idle fraction of an ideal pipeline whose stages cost the same:
    /// (S − 1) / (K·M + S − 1).
    public var predictedBubble: Double {
        Self.predictedBubble(stages: stages, microbatches: microbatches, steps: steps)
    }

    /// The same from the counts alone (`dit report` reads them from traces).
    public static func predictedBubble(stages: Int, microbatches: Int, steps: Int) -> Double {
        Double(stages - 1) / Double(steps * microbatches + stages - 1)
    }
}
