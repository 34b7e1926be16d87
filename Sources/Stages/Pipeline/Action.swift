/// One thing a rank does, in the notation of torch.distributed.pipelining:
/// `F3@7` forward micro-batch 3 of step 7, `S3@7>1` send it to stage 1,
/// `R3@7<0` receive it from stage 0, `U3@7` sampler update with its output.
public enum Action: Equatable, Hashable, Sendable, CustomStringConvertible {
    case forward(step: Int, microbatch: Int)
    case send(step: Int, microbatch: Int, to: Int)
    case receive(step: Int, microbatch: Int, from: Int)
    case update(step: Int, microbatch: Int)

    public var step: Int {
        switch self {
        case .forward(let s, _), .send(let s, _, _), .receive(let s, _, _), .update(let s, _): return s
        }
    }
    public var microbatch: Int {
        switch self {
        case .forward(_, let m), .send(_, let m, _), .receive(_, let m, _), .update(_, let m): return m
        }
    }

    public var description: String {
        switch self {
        case let .forward(s, m): return "F\(m)@\(s)"
        case let .send(s, m, to): return "S\(m)@\(s)>\(to)"
        case let .receive(s, m, from): return "R\(m)@\(s)<\(from)"
        case let .update(s, m): return "U\(m)@\(s)"
        }
    }

    /// Parses the string form back.
    public init?(_ text: String) {
        guard let kind = text.first, let at = text.firstIndex(of: "@") else { return nil }
        guard let m = Int(text[text.index(after: text.startIndex)..<at]) else { return nil }
        let rest = text[text.index(after: at)...]
        func split(_ sep: Character) -> (Int, Int)? {
            let parts = rest.split(separator: sep)
            guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]) else { return nil }
            return (a, b)
        }
        switch kind {
        case "F": guard let s = Int(rest) else { return nil }; self = .forward(step: s, microbatch: m)
        case "U": guard let s = Int(rest) else { return nil }; self = .update(step: s, microbatch: m)
        case "S": guard let (s, p) = split(">") else { return nil }; self = .send(step: s, microbatch: m, to: p)
        case "R": guard let (s, p) = split("<") else { return nil }; self = .receive(step: s, microbatch: m, from: p)
        default: return nil
        }
    }
}
