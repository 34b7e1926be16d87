import CMPI
import Foundation
import Stages
import Tensors

/// What makes one rank's arithmetic bitwise equal to another's. Ranks
/// compare it at start (`MPIWorld.handshake`); a field that differs names
/// the ranks, hosts and values. A new field is one more property and one
/// more line in `fields`.
struct Fingerprint: Codable, Equatable {
    var host: String
    /// The executable: its size and a hash of its bytes.
    var build: String
    /// `Gemm.description`: backend, version, ISA and threads.
    var gemm: String
    var blasCore: String
    var blasThreads: Int
    var precision: String
    /// `CPUFeatures.flagList`: the vector flags that pick code paths.
    var cpuVectorFlags: String

    /// The compared fields (everything but the host), in report order.
    var fields: [(name: String, value: String)] {
        [("build", build), ("GEMM backend", gemm), ("BLAS core (openblas_get_corename)", blasCore),
         ("BLAS threads", String(blasThreads)), ("precision", precision), ("CPU vector flags", cpuVectorFlags)]
    }

    static func current() -> Fingerprint {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        return Fingerprint(host: String(cString: name), build: executableHash(), gemm: Gemm.description,
                           blasCore: OpenBLAS.coreName, blasThreads: Gemm.threads, precision: Gemm.precision.rawValue,
                           cpuVectorFlags: CPUFeatures.current.flagList)
    }

    /// FNV-1a over the executable's 8-byte words: distinguishes builds, costs
    /// a few ms.
    static func executableHash() -> String {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: "/proc/self/exe"), options: .alwaysMapped) else { return "unknown" }
        let h = data.withUnsafeBytes { raw -> UInt64 in
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            let words = raw.count / 8
            for i in 0..<words { h = (h ^ raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) &* 0x100_0000_01B3 }
            for i in (8 * words)..<raw.count { h = (h ^ UInt64(raw[i])) &* 0x100_0000_01B3 }
            return h
        }
        return "\(data.count) bytes, fnv \(String(h, radix: 16))"
    }
}

extension MPIWorld {
    /// Every rank's fingerprint, on every rank (MPI_Allgather of fixed-size JSON).
    func gatherFingerprints(_ mine: Fingerprint) throws -> [Fingerprint] {
        guard active && size > 1 else { return [mine] }
        let width = 4096
        var bytes = [UInt8](try JSONEncoder().encode(mine))
        guard bytes.count < width else { throw DiTError("the rank fingerprint is over \(width) bytes of JSON (host name too long?)") }
        bytes += [UInt8](repeating: 0, count: width - bytes.count)
        var all = [UInt8](repeating: 0, count: width * size)
        try guarded("the start-up handshake (MPI_Allgather)") {
            try check(mpi: MPI_Allgather(&bytes, Int32(width), dit_mpi_byte(), &all, Int32(width), dit_mpi_byte(), dit_mpi_comm_world()),
                      "MPI_Allgather of the rank fingerprints")
        }
        return try (0..<size).map { r in
            let slice = all[(r * width)..<((r + 1) * width)]
            return try JSONDecoder().decode(Fingerprint.self, from: Data(slice.prefix { $0 != 0 }))
        }
    }

    /// Compares every rank's fingerprint: a difference is an error naming
    /// the ranks, hosts and values, or with `allowHeterogeneous` a warning
    /// on rank 0. Also records every rank's host for later messages.
    func handshake(allowHeterogeneous: Bool) throws {
        let all = try gatherFingerprints(.current())
        hosts = all.map(\.host)
        var differences: [WireError] = []
        for (f, field) in all[0].fields.enumerated() {
            var groups: [(ranks: [Int], hosts: [String], value: String)] = []
            for (r, fp) in all.enumerated() {
                let v = fp.fields[f].value
                if let g = groups.firstIndex(where: { $0.value == v }) { groups[g].ranks.append(r); groups[g].hosts.append(fp.host) }
                else { groups.append(([r], [fp.host], v)) }
            }
            if groups.count > 1 { differences.append(.heterogeneous(field: field.name, values: groups)) }
        }
        guard let first = differences.first else { return }
        if !allowHeterogeneous { throw first }
        if rank == 0 {
            for d in differences {
                Stderr.write("dit: warning (--allow-heterogeneous): \(d.difference)\n")
            }
            Stderr.write("dit: warning: outputs may differ in the last bits from a run on one host\n")
        }
    }
}
