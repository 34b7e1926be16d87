import Tensors

/// The decoder half of diffusers' AutoencoderKL (the Stable Diffusion VAE
/// that decodes DiT's latents), `vae.decode(z).sample`:
///
///   z = post_quant_conv(z)                       (N, 4, h, w)
///   x = decoder.conv_in(z)                       (N, 512, h, w)
///   x = mid_block: resnet, attention, resnet
///   x = up_blocks[i](x) for each i               (N, 128, 8h, 8w)
///   x = conv_out(silu(conv_norm_out(x)))         (N, 3, 8h, 8w)
///
/// The architecture is read from the weight file; every decoder key is checked.
public final class VAEDecoder {
    public let config: VAEConfig
    public let path: String
    let post_quant_conv: Conv2dLayer
    let conv_in: Conv2dLayer
    let mid_resnets: [ResnetBlock2D]
    let mid_attention: VAEAttention
    let up_blocks: [UpDecoderBlock2D]
    let conv_norm_out: GroupNormLayer
    let conv_out: Conv2dLayer
    private var workspace: VAEWorkspace?

    /// Opens a diffusers AutoencoderKL safetensors file (the whole VAE or the
    /// decoder and post_quant_conv alone). `normNumGroups` is not stored in
    /// the weights; every released SD VAE uses 32.
    public init(path: String, normNumGroups: Int = 32) throws {
        let w = try VAEWeights(path: path, normNumGroups: normNumGroups)
        self.path = path
        config = w.config
        post_quant_conv = try Conv2dLayer(w, "post_quant_conv")
        conv_in = try Conv2dLayer(w, "decoder.conv_in")
        mid_resnets = try (0..<2).map { try ResnetBlock2D(w, "decoder.mid_block.resnets.\($0)") }
        mid_attention = try VAEAttention(w, "decoder.mid_block.attentions.0")
        up_blocks = try config.blockOutChannels.indices.map { try UpDecoderBlock2D(w, index: $0) }
        conv_norm_out = try GroupNormLayer(w, "decoder.conv_norm_out")
        conv_out = try Conv2dLayer(w, "decoder.conv_out")
    }

    /// Channels of the latents `decode` takes (4 for SD-VAE).
    public var latentChannels: Int { config.latentChannels }
    /// Pixels per latent along each axis (8 for SD-VAE).
    public var scaleFactor: Int { config.scaleFactor }

    /// Checks latents against the decoder before any work.
    public func validateInput(shape: [Int], name: String = "latents") throws {
        guard shape.count == 4, shape.allSatisfy({ $0 > 0 }) else {
            throw DiTError("\(name) has shape \(shape.shapeDescription); the VAE decodes (N, \(latentChannels), h, w)")
        }
        guard shape[1] == latentChannels else {
            throw DiTError("\(name) has \(shape[1]) channels (shape \(shape.shapeDescription)) but the VAE \(path) decodes \(latentChannels)-channel latents; is the DiT checkpoint a latent model for this VAE?")
        }
    }

    /// (N, latentChannels, h, w) latents, already divided by the scale factor
    /// (0.18215 for SD-VAE), to (N, outChannels, scaleFactor·h, scaleFactor·w)
    /// images in about [−1, 1]. Images are decoded one at a time (GroupNorm is
    /// per image, so this equals decoding the batch) into buffers reused
    /// across calls of the same latent size; not safe to call concurrently.
    public func decode(_ latents: Tensor) throws -> Tensor {
        try validateInput(shape: latents.shape)
        let n = latents.shape[0], h = latents.shape[2], w = latents.shape[3]
        let f = scaleFactor, plane = f * h * f * w
        let out = Tensor(shape: [n, config.outChannels, f * h, f * w])
        let ws: VAEWorkspace
        if let cached = workspace, cached.latentHeight == h, cached.latentWidth == w {
            ws = cached
        } else {
            ws = VAEWorkspace(config: config, latentHeight: h, latentWidth: w)
            workspace = ws
        }
        for i in 0..<n {
            decodeOne(latents.pointer + i * latentChannels * h * w, height: h, width: w, workspace: ws,
                      into: out.data + i * config.outChannels * plane)
        }
        return out
    }

    private func decodeOne(_ z: UnsafePointer<Float>, height h: Int, width w: Int, workspace ws: VAEWorkspace,
                           into out: UnsafeMutablePointer<Float>) {
        post_quant_conv(z, height: h, width: w, workspace: ws, into: ws.t1)
        conv_in(ws.t1, height: h, width: w, workspace: ws, into: ws.x)
        mid_resnets[0](height: h, width: w, workspace: ws)
        mid_attention(height: h, width: w, workspace: ws)
        mid_resnets[1](height: h, width: w, workspace: ws)
        var (height, width) = (h, w)
        for block in up_blocks {
            block(height: height, width: width, workspace: ws)
            if block.upsampler != nil { (height, width) = (2 * height, 2 * width) }
        }
        conv_norm_out(ws.x, spatial: height * width, silu: true, into: ws.t1)
        conv_out(ws.t1, height: height, width: width, workspace: ws, into: out)
    }
}
