/// One thing one rank does. A `Schedule` says what each stage does; a
/// stage is run by a group of ranks (CFG branches × sequence parts) that
/// follow it in lockstep, and `RankAction.program` adds what the group
/// needs around it: the sampler shares x_t with stage 0's other ranks and
/// gathers the final-layer rows of every last-stage rank.
public enum RankAction: Equatable, Sendable, CustomStringConvertible {
    /// Stage 0, not the sampler: x_t of the micro-batch from the sampler.
    case receiveLatents(step: Int, microbatch: Int)
    /// The sampler: x_t of the micro-batch to stage 0's other ranks.
    case shareLatents(step: Int, microbatch: Int)
    /// Stages 1…: activations from the same branch and part of the previous stage.
    case receive(step: Int, microbatch: Int)
    case forward(step: Int, microbatch: Int)
    /// Activations to the next stage, or (last stage) final-layer rows to the sampler.
    case send(step: Int, microbatch: Int)
    /// The sampler: the final-layer rows of every last-stage rank but itself.
    case gather(step: Int, microbatch: Int)
    /// The sampler: guidance and the sampler step.
    case update(step: Int, microbatch: Int)

    public var description: String {
        switch self {
        case let .receiveLatents(k, m): return "X\(m)@\(k)<"
        case let .shareLatents(k, m): return "X\(m)@\(k)>"
        case let .receive(k, m): return "R\(m)@\(k)"
        case let .forward(k, m): return "F\(m)@\(k)"
        case let .send(k, m): return "S\(m)@\(k)"
        case let .gather(k, m): return "G\(m)@\(k)"
        case let .update(k, m): return "U\(m)@\(k)"
        }
    }

    /// The actions of the rank at `position` of a replica whose stages run `schedule`.
    public static func program(_ schedule: Schedule, layout: Layout, position p: Layout.Position) -> [RankAction] {
        let s = p.stage, last = schedule.stages - 1, grouped = layout.groupSize > 1
        var out: [RankAction] = []
        for a in schedule.actions[s] {
            switch a {
            case let .receive(k, m, _):
                if s > 0 { out.append(.receive(step: k, microbatch: m)) } else if p.isSampler { out.append(.gather(step: k, microbatch: m)) }
            case let .forward(k, m):
                if s == 0 && grouped { out.append(p.isSampler ? .shareLatents(step: k, microbatch: m) : .receiveLatents(step: k, microbatch: m)) }
                out.append(.forward(step: k, microbatch: m))
                if s == last && s == 0 && grouped { out.append(p.isSampler ? .gather(step: k, microbatch: m) : .send(step: k, microbatch: m)) }
            case let .send(k, m, _):
                out.append(.send(step: k, microbatch: m))
            case let .update(k, m):
                if p.isSampler { out.append(.update(step: k, microbatch: m)) }
            }
        }
        return out
    }
}
