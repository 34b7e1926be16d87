import Tensors

/// nn.GroupNorm(norm_num_groups, channels, eps=1e-6, affine=True).
struct GroupNormLayer {
    let channels: Int
    let groups: Int
    let weight: Tensor
    let bias: Tensor

    init(_ weights: VAEWeights, _ prefix: String) throws {
        weight = try weights.tensor(prefix + ".weight")
        bias = try weights.tensor(prefix + ".bias")
        channels = weight.count
        groups = weights.config.normNumGroups
    }

    /// One image: x (channels, spatial) → y, which may be x; `silu` applies SiLU after.
    func callAsFunction(_ x: UnsafePointer<Float>, spatial: Int, silu: Bool, into y: UnsafeMutablePointer<Float>) {
        GroupNorm.forward(x, batch: 1, channels: channels, spatial: spatial, groups: groups, eps: VAEConfig.eps,
                          weight: weight.pointer, bias: bias.pointer, silu: silu, into: y)
    }
}
