import Foundation

/// A multi-rank run that cannot go on, naming the ranks and hosts involved.
enum WireError: Error, CustomStringConvertible {
    /// The run was asked to stop (SIGINT or SIGTERM).
    case interrupted(signal: Int32)
    /// Ranks that would not give bitwise-identical results (`Fingerprint`).
    case heterogeneous(field: String, values: [(ranks: [Int], hosts: [String], value: String)])

    var description: String {
        switch self {
        case .interrupted(let sig):
            return "stopped by \(sig == SIGINT ? "SIGINT (Ctrl-C)" : "SIGTERM"); no output was written (a bulk run resumes from its finished chunks)"
        case .heterogeneous:
            return difference + ", so their results would differ in the last bits; run every rank on the same build and BLAS setup (pass OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE and OPENBLAS_NUM_THREADS with mpirun -x), or pass --allow-heterogeneous to accept the difference"
        }
    }

    /// "ranks differ in F (ranks 0,1 on a: x; ranks 2 on b: y)".
    var difference: String {
        guard case let .heterogeneous(field, values) = self else { return description }
        let groups = values.map { "rank\($0.ranks.count > 1 ? "s" : "") \($0.ranks.map(String.init).joined(separator: ",")) on \(Set($0.hosts).sorted().joined(separator: ",")): \($0.value)" }
        return "ranks differ in \(field) (\(groups.joined(separator: "; ")))"
    }
}
