import Tensors

/// diffusers UpDecoderBlock2D: layers_per_block + 1 ResNets, then (except in
/// the last block) Upsample2D: nearest 2× followed by a 3×3 convolution.
struct UpDecoderBlock2D {
    let resnets: [ResnetBlock2D]
    let upsampler: Conv2dLayer?

    init(_ weights: VAEWeights, index i: Int) throws {
        let c = weights.config, prefix = "decoder.up_blocks.\(i)"
        resnets = try (0...c.layersPerBlock).map { try ResnetBlock2D(weights, "\(prefix).resnets.\($0)") }
        upsampler = i < c.blockOutChannels.count - 1 ? try Conv2dLayer(weights, prefix + ".upsamplers.0.conv") : nil
    }

    /// ws.x (in, h, w) → ws.x (out, 2h, 2w), or (out, h, w) without an upsampler.
    func callAsFunction(height: Int, width: Int, workspace ws: VAEWorkspace) {
        for resnet in resnets { resnet(height: height, width: width, workspace: ws) }
        guard let upsampler else { return }
        Upsample.nearest2x(ws.x, planes: upsampler.inChannels, height: height, width: width, into: ws.t1)
        upsampler(ws.t1, height: 2 * height, width: 2 * width, workspace: ws, into: ws.x)
    }
}
