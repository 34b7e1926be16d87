/// Consecutive blocks per stage. Stage 0 also holds the embedders and the
/// sampler, the last stage the final layer.
public struct Partition: Equatable, Sendable, CustomStringConvertible {
    public let ranges: [Range<Int>]

    public init(ranges: [Range<Int>]) { self.ranges = ranges }

    public var stages: Int { ranges.count }

    /// Explicit block counts, or `auto`: the split minimising the most
    /// expensive stage, where a block costs 1 and the embedders and final
    /// layer cost what their `FLOPs` are worth relative to a block. The one
    /// check of `stages` and `partition` against the model (`validate` calls it).
    public init(_ spec: PartitionSpec, config c: DiTConfig, stages: Int) throws {
        guard stages >= 1, stages <= c.depth else {
            throw DiTError("config key stages: \(plural(stages, "stage")) for a model of \(plural(c.depth, "block")); each stage needs at least one block")
        }
        switch spec {
        case .blocks(let counts):
            guard counts.count == stages, counts.allSatisfy({ $0 >= 1 }), counts.reduce(0, +) == c.depth else {
                throw DiTError("config key partition: \(counts) must list \(stages) positive block counts summing to depth \(c.depth)")
            }
            var start = 0
            ranges = counts.map { n in defer { start += n }; return start..<(start + n) }
        case .auto:
            let f = FLOPs(c)
            ranges = Self.balanced(depth: c.depth, stages: stages, firstExtra: f.embed / f.block, lastExtra: f.final / f.block)
        }
    }

    /// Exhaustive dynamic programme over split points (depth ≤ a few dozen).
    static func balanced(depth: Int, stages: Int, firstExtra: Double, lastExtra: Double) -> [Range<Int>] {
        func cost(_ s: Int, _ r: Range<Int>) -> Double {
            Double(r.count) + (s == 0 ? firstExtra : 0) + (s == stages - 1 ? lastExtra : 0)
        }
        // best[s][b]: minimal max cost placing blocks 0..<b on stages 0...s.
        var best = [[Double]](repeating: [Double](repeating: .infinity, count: depth + 1), count: stages)
        var cut = [[Int]](repeating: [Int](repeating: 0, count: depth + 1), count: stages)
        for b in 1...depth { best[0][b] = cost(0, 0..<b) }
        for s in 1..<stages {
            for b in (s + 1)...depth {
                for a in s..<b {
                    let v = max(best[s - 1][a], cost(s, a..<b))
                    // Ties go to the later cut, so earlier stages (which also
                    // run the sampler) are not the ones given more blocks.
                    if v <= best[s][b] { best[s][b] = v; cut[s][b] = a }
                }
            }
        }
        var ranges: [Range<Int>] = [], end = depth
        for s in stride(from: stages - 1, through: 1, by: -1) {
            let a = cut[s][end]
            ranges.append(a..<end)
            end = a
        }
        ranges.append(0..<end)
        return ranges.reversed()
    }

    public var description: String {
        ranges.enumerated().map { (o: (offset: Int, element: Range<Int>)) -> String in
            let r = o.element
            return "stage \(o.offset): " + (r.count == 1 ? "block \(r.lowerBound)" : "blocks \(r.lowerBound) to \(r.upperBound - 1)") }
            .joined(separator: ", ")
    }
}
