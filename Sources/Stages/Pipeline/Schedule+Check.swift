import Foundation

/// Checking and simulating a schedule without any communication.
extension Schedule {
    /// A schedule fault, named by rank and action.
    public struct Fault: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Every send is matched by a receive of the same (step, micro-batch) on
    /// the other side, in the same order; every forward's input has arrived
    /// (or, on stage 0, was updated); with the runner's buffers (see
    /// `capacity(from:to:)`) the run completes (no deadlock). Throws the
    /// first fault.
    public func check(capacity: ((Int, Int) -> Int)? = nil) throws {
        _ = try simulate(capacity: capacity, cost: { _ in 1 })
    }

    /// One executed action with its simulated start and end.
    public struct Span: Equatable, Sendable {
        public let stage: Int
        public let action: Action
        public let start: Double
        public let end: Double
    }

    /// Runs every stage's actions in order with per-channel FIFO queues;
    /// forward on stage s takes `cost(s)` time, other actions none. A send
    /// that finds `capacity(from, to)` messages of its channel unconsumed
    /// blocks until the oldest is received, and its stage's clock moves to
    /// that time: the stalls a too-shallow buffer causes show in the spans.
    /// `capacity` defaults to the runner's buffers. Returns the spans, or the
    /// fault that stops the run.
    public func simulate(capacity: ((Int, Int) -> Int)? = nil, cost: (Int) -> Double) throws -> [Span] {
        struct Message { let step: Int; let microbatch: Int; let time: Double }
        let capacity = capacity ?? self.capacity(from:to:)
        var queues: [Int: [Message]] = [:]           // key: from * stages + to
        var sent: [Int: Int] = [:], consumedAt: [Int: [Double]] = [:]
        var pc = [Int](repeating: 0, count: stages)
        var clock = [Double](repeating: 0, count: stages)
        var ready = [Set<[Int]>](repeating: [], count: stages)   // inputs present: [step, mb]
        var spans: [Span] = []
        for m in 0..<microbatches { ready[0].insert([0, m]) }
        var pendingOutput = [Set<[Int]>](repeating: [], count: stages)
        func fault(_ s: Int, _ a: Action, _ why: String) -> Fault {
            Fault(description: "stage \(s), action \(a): \(why)")
        }
        var progressed = true
        while progressed {
            progressed = false
            for s in 0..<stages where pc[s] < actions[s].count {
                let a = actions[s][pc[s]]
                switch a {
                case let .forward(k, m):
                    guard ready[s].remove([k, m]) != nil else {
                        throw fault(s, a, "its input (micro-batch \(m) of step \(k)) was never received or updated")
                    }
                    let start = clock[s]
                    clock[s] += cost(s)
                    spans.append(Span(stage: s, action: a, start: start, end: clock[s]))
                    pendingOutput[s].insert([k, m])
                    if stages == 1 { ready[0].insert([k, m, 1]) }
                case let .send(k, m, to):
                    guard pendingOutput[s].remove([k, m]) != nil else {
                        throw fault(s, a, "sends micro-batch \(m) of step \(k) before computing it")
                    }
                    let key = s * stages + to, n = sent[key, default: 0], c = capacity(s, to)
                    if n >= c {
                        // Message n − c must have been received first.
                        guard let freed = consumedAt[key]?.dropFirst(n - c).first else {
                            pendingOutput[s].insert([k, m])
                            continue   // blocked: the receiver has not consumed enough
                        }
                        clock[s] = max(clock[s], freed)
                    }
                    sent[key] = n + 1
                    queues[key, default: []].append(Message(step: k, microbatch: m, time: clock[s]))
                case let .receive(k, m, from):
                    let key = from * stages + s
                    guard let head = queues[key]?.first else { continue }   // blocked
                    guard head.step == k, head.microbatch == m else {
                        throw fault(s, a, "the next message from stage \(from) is micro-batch \(head.microbatch) of step \(head.step)")
                    }
                    queues[key]!.removeFirst()
                    clock[s] = max(clock[s], head.time)
                    consumedAt[key, default: []].append(clock[s])
                    // Stage 0 receives model outputs; others receive activations.
                    ready[s].insert(s == 0 ? [k, m, 1] : [k, m])
                case let .update(k, m):
                    guard ready[s].remove([k, m, 1]) != nil else {
                        throw fault(s, a, "updates micro-batch \(m) of step \(k) without its model output")
                    }
                    if stages == 1 { pendingOutput[0].remove([k, m]) }
                    if k + 1 < steps { ready[s].insert([k + 1, m]) }
                }
                pc[s] += 1
                progressed = true
            }
        }
        if let s = (0..<stages).first(where: { pc[$0] < actions[$0].count }) {
            let waiting = (0..<stages).filter { pc[$0] < actions[$0].count }.map { "stage \($0) at \(actions[$0][pc[$0]])" }
            throw Fault(description: "deadlock: stage \(s) cannot proceed (\(waiting.joined(separator: "; ")))")
        }
        if let leftover = queues.first(where: { !$0.value.isEmpty }) {
            throw Fault(description: "stage \(leftover.key / stages) sent \(plural(leftover.value.count, "message")) to stage \(leftover.key % stages) that were never received")
        }
        return spans
    }

    /// Idle fraction of the simulated run: 1 − busy / (stages × makespan).
    public static func bubble(of spans: [Span], stages: Int) -> Double {
        let makespan = spans.map(\.end).max() ?? 0
        let busy = spans.map { $0.end - $0.start }.reduce(0, +)
        return makespan > 0 ? 1 - busy / (Double(stages) * makespan) : 0
    }

    /// The rank × time grid of forwards for unit stage costs, e.g.
    ///     stage 0 | F0@0 F1@0 .    F0@1 ...
    public func grid(maxColumns: Int = 24) throws -> String {
        let spans = try simulate(cost: { _ in 1 })
        let width = max(4, spans.map { $0.action.description.count }.max() ?? 4)
        let columns = min(Int(spans.map(\.end).max() ?? 0), maxColumns)
        var lines: [String] = []
        for s in 0..<stages {
            var cells = [String](repeating: ".".padding(toLength: width, withPad: " ", startingAt: 0), count: columns)
            for span in spans where span.stage == s && Int(span.start) < columns {
                cells[Int(span.start)] = span.action.description.padding(toLength: width, withPad: " ", startingAt: 0)
            }
            lines.append("stage \(s) | " + cells.joined(separator: " "))
        }
        let total = Int(spans.map(\.end).max() ?? 0)
        if total > columns { lines.append("(\(total - columns) more time slots)") }
        return lines.joined(separator: "\n")
    }
}
