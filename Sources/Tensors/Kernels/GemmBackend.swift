import CBLAS
import CDNNL
import Foundation

/// The library that runs `Gemm.sgemm`: OpenBLAS, or oneDNN's `dnnl_sgemm`.
///
/// Both are exact fp32 products; they differ in the last bits (max 1e-5 on
/// DiT's shapes), so one run uses one backend on every rank. oneDNN picks its
/// kernels from CPUID (AVX-512 where present); OpenBLAS follows its own core
/// detection or `OPENBLAS_CORETYPE`. Each row of oneDNN's `N,N` product is
/// bitwise the same whatever M is (M ≥ 2, tested in `GemmBackendTests`),
/// which lets sequence parallelism stay bitwise.
public enum GemmBackend: String, CaseIterable, Codable, Sendable {
    case openblas, onednn

    /// What `--gemm` accepts.
    public enum Choice: String, CaseIterable, Codable, Sendable {
        case auto, openblas, onednn
    }

    /// `auto` decides by ISA, not by a measurement (which would make the
    /// backend, and so the last bits, depend on machine load): oneDNN where
    /// its effective ISA is AVX-512 or better (measured 2–6× OpenBLAS's
    /// sgemm there), OpenBLAS otherwise (AVX2-only CPUs, where the two are
    /// close and OpenBLAS is the path the project was tuned on).
    public static func resolve(_ choice: Choice) throws -> GemmBackend {
        switch choice {
        case .openblas: return .openblas
        case .onednn:
            guard OneDNN.isa.rawValue & dnnl_cpu_isa_avx2.rawValue == dnnl_cpu_isa_avx2.rawValue else {
                throw TensorError("--gemm onednn: oneDNN runs only at \(OneDNN.isaName) on this CPU (\(CPUFeatures.current.modelName)), "
                                  + "below the AVX2 it needs to beat OpenBLAS; use --gemm openblas or auto")
            }
            return .onednn
        case .auto:
            return OneDNN.hasAVX512 ? .onednn : .openblas
        }
    }
}

/// oneDNN's version and the ISA its kernels run at on this CPU.
public enum OneDNN {
    public static let isa: dnnl_cpu_isa_t = dnnl_get_effective_cpu_isa()

    public static var hasAVX512: Bool {
        isa.rawValue & dnnl_cpu_isa_avx512_core.rawValue == dnnl_cpu_isa_avx512_core.rawValue
    }

    /// bf16 matmul kernels (avx512_core_bf16 or AMX).
    public static var hasBF16: Bool {
        isa.rawValue & dnnl_cpu_isa_avx512_core_bf16.rawValue == dnnl_cpu_isa_avx512_core_bf16.rawValue
    }

    public static var isaName: String {
        let names: [(dnnl_cpu_isa_t, String)] = [
            (dnnl_cpu_isa_avx512_core_amx, "avx512_core_amx"), (dnnl_cpu_isa_avx512_core_bf16, "avx512_core_bf16"),
            (dnnl_cpu_isa_avx512_core_vnni, "avx512_core_vnni"), (dnnl_cpu_isa_avx512_core, "avx512_core"),
            (dnnl_cpu_isa_avx2_vnni, "avx2_vnni"), (dnnl_cpu_isa_avx2, "avx2"), (dnnl_cpu_isa_avx, "avx"),
            (dnnl_cpu_isa_sse41, "sse41"),
        ]
        return names.first { isa.rawValue & $0.0.rawValue == $0.0.rawValue }?.1 ?? "baseline"
    }

    public static var version: String {
        let v = dnnl_version()!.pointee
        return "\(v.major).\(v.minor).\(v.patch)"
    }
}

/// OpenBLAS's version and the core its kernels were picked for.
public enum OpenBLAS {
    public static var coreName: String { String(cString: openblas_get_corename()) }

    public static var version: String {
        let config = String(cString: openblas_get_config())
        return config.split(separator: " ").dropFirst().first.map(String.init) ?? config
    }
}
