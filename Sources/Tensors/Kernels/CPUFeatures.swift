import Foundation

/// What this CPU offers, read once from /proc/cpuinfo (Linux). Code paths
/// are chosen from it at run time, and every measurement names it.
public struct CPUFeatures: Sendable {
    public let modelName: String
    /// The vector flags that decide code paths and bitwise results.
    public let flags: Set<String>

    public static let current = CPUFeatures(cpuinfo: (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")

    public init(cpuinfo: String) {
        var model = "unknown CPU", flags = Set<String>()
        for line in cpuinfo.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces), value = parts[1].trimmingCharacters(in: .whitespaces)
            if key == "model name", model == "unknown CPU" { model = value }
            if key == "flags", flags.isEmpty { flags = Set(value.split(separator: " ").map(String.init)) }
        }
        modelName = model
        self.flags = flags.intersection(Self.vectorFlags)
    }

    public static let vectorFlags: Set<String> = ["sse4_1", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl",
                                                   "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile"]

    public var hasAVX2: Bool { flags.isSuperset(of: ["avx2", "fma"]) }
    public var hasAVX512: Bool { flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl"]) }
    public var hasBF16: Bool { flags.contains("avx512_bf16") || flags.contains("amx_bf16") }

    /// The vector flags, sorted, for handshakes and reports.
    public var flagList: String { flags.sorted().joined(separator: " ") }
}
