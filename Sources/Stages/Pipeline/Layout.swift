/// Where each world rank sits: replica × stage × CFG branch × sequence part,
/// the sequence part innermost so that the Ulysses all-to-all partners (the
/// busiest channel: two exchanges per block) are consecutive ranks and share
/// a host under mpirun's default by-slot placement; the CFG branches of a
/// stage come next, then the stages of a replica, then the replicas.
///
///   rank = ((replica · stages + stage) · cfg + branch) · sp + part
///
/// With cfg = sp = 1 this is the pipeline's `replica · stages + stage`.
public struct Layout: Equatable, Sendable, CustomStringConvertible {
    public let replicas: Int
    public let stages: Int
    /// CFG branches: 1, or 2 (branch 0 conditional rows, branch 1 null-class rows).
    public let cfg: Int
    /// Ulysses sequence parts per stage.
    public let sp: Int

    public init(replicas: Int, stages: Int, cfg: Int, sp: Int) {
        precondition(replicas >= 1 && stages >= 1 && cfg >= 1 && sp >= 1)
        (self.replicas, self.stages, self.cfg, self.sp) = (replicas, stages, cfg, sp)
    }

    public struct Position: Equatable, Sendable {
        public let replica: Int, stage: Int, branch: Int, part: Int
        public init(replica: Int, stage: Int, branch: Int = 0, part: Int = 0) {
            (self.replica, self.stage, self.branch, self.part) = (replica, stage, branch, part)
        }
        /// The rank that owns the replica's sampler state: stage 0, branch 0, part 0.
        public var isSampler: Bool { stage == 0 && branch == 0 && part == 0 }
    }

    public var worldSize: Int { replicas * stages * cfg * sp }
    /// Ranks that run one stage of one replica (CFG branches × sequence parts).
    public var groupSize: Int { cfg * sp }

    public func rank(_ p: Position) -> Int { ((p.replica * stages + p.stage) * cfg + p.branch) * sp + p.part }

    public func position(rank: Int) -> Position {
        precondition(rank >= 0 && rank < worldSize)
        return Position(replica: rank / (sp * cfg * stages), stage: rank / (sp * cfg) % stages,
                        branch: rank / sp % cfg, part: rank % sp)
    }

    /// The ranks that run stage `stage` of `replica`, branch-major.
    public func group(replica: Int, stage: Int) -> [Position] {
        (0..<cfg).flatMap { b in (0..<sp).map { Position(replica: replica, stage: stage, branch: b, part: $0) } }
    }

    /// The ranks of one Ulysses all-to-all.
    public func sequenceGroup(of p: Position) -> [Int] {
        (0..<sp).map { rank(Position(replica: p.replica, stage: p.stage, branch: p.branch, part: $0)) }
    }

    /// Checks the layout against the ranks mpirun started.
    public func check(worldSize started: Int) throws {
        guard worldSize == started else {
            throw DiTError("replicas × cfg_parallel × sequence_parallel × stages = \(replicas) × \(cfg) × \(sp) × \(stages) = \(worldSize) but mpirun started \(started) rank(s); launch with -np \(worldSize) or change the layout")
        }
    }

    public var description: String {
        "\(replicas) replica(s) × \(cfg) CFG branch(es) × \(sp) sequence part(s) × \(stages) stage(s) = \(worldSize) ranks"
    }
}
