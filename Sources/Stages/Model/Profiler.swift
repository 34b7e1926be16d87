import Foundation

/// Wall time per op kind of the forward pass, off by default. When off, each
/// instrumented op costs one branch on a global flag.
public enum Profiler {
    /// The op kinds timed, in table order.
    public enum Op: Int, CaseIterable, Sendable {
        case embed, adaLN, norm, qkv, attention, proj, residual, fc1, gelu, fc2, finalLinear, unpatchify

        public var name: String {
            switch self {
            case .embed: return "embedding (patch, t, y)"
            case .adaLN: return "GEMM adaLN_modulation"
            case .norm: return "LayerNorm + modulate"
            case .qkv: return "GEMM attn.qkv"
            case .attention: return "attention (QKᵀ, softmax, PV)"
            case .proj: return "GEMM attn.proj"
            case .residual: return "gated residual"
            case .fc1: return "GEMM mlp.fc1"
            case .gelu: return "GELU (tanh)"
            case .fc2: return "GEMM mlp.fc2"
            case .finalLinear: return "GEMM final_layer.linear"
            case .unpatchify: return "unpatchify"
            }
        }
    }

    public static var enabled = false
    /// Nanoseconds per op since the last `reset()`.
    public private(set) static var totals = [UInt64](repeating: 0, count: Op.allCases.count)
    private static var last: UInt64 = 0

    public static func reset() { totals = [UInt64](repeating: 0, count: Op.allCases.count) }

    /// Starts a lap; the next `lap(_:)` charges the time since to its op.
    @inline(__always)
    public static func start() { if enabled { last = now() } }

    @inline(__always)
    public static func lap(_ op: Op) {
        if enabled {
            let t = now()
            totals[op.rawValue] &+= t &- last
            last = t
        }
    }

    /// Charge this thread's CPU time instead of wall time: robust to other
    /// load on the machine, meaningful only when the forward runs on one thread.
    public static var cpuClock = false

    @inline(__always)
    public static func now() -> UInt64 {
        guard cpuClock else { return DispatchTime.now().uptimeNanoseconds }
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
