import Tensors

/// The block's feed-forward network (timm's `Mlp`, upstream's `mlp`):
/// fc1, GELU (tanh approximation), fc2.
struct Mlp {
    let fc1: Linear, fc2: Linear           // mlp.fc1, mlp.fc2

    init(_ checkpoint: Checkpoint, _ prefix: String) throws {
        fc1 = try Linear(checkpoint, prefix + ".fc1")
        fc2 = try Linear(checkpoint, prefix + ".fc2")
    }

    /// x (rows, D) → out (rows, D).
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, workspace ws: Workspace, _ op: Ops,
                        into out: UnsafeMutablePointer<Float>) {
        let m = fc1.outFeatures, hidden = ws.hidden.data
        op(.fc1, hidden, rows: rows, cols: m) { fc1.tokens(x, rows: rows, groups: ws.rowGroups, into: hidden) }              // (rows, M)
        op(.gelu, hidden, rows: rows, cols: m) { Activation.geluTanh(hidden, count: rows * m) }
        op(.fc2, out, rows: rows, cols: fc2.outFeatures) { fc2.tokens(hidden, rows: rows, groups: ws.rowGroups, into: out) } // (rows, D)
    }
}
