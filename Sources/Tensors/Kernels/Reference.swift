/// Naive twins of the fast kernels: obvious loops, in Double unless the
/// kernel promises bits (TileGemm's FMA chains), that tests check the fast
/// paths against on awkward shapes (odd, not a multiple of a tile or a
/// vector). Each kernel file ends with its twins in an extension of this
/// enum (llm.c's `matmul_forward_naive` beside `matmul_forward`).
public enum Reference {}
