import CBLAS

/// What OpenBLAS chose at load time: the kernel family (from the CPU, or
/// OPENBLAS_CORETYPE) and its thread count. Two ranks whose choices differ
/// round differently in the last bits.
public enum BLASInfo {
    public static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }
    public static var threads: Int { Int(openblas_get_num_threads()) }
}
