import Stages
import Tensors

/// Latents to images with an AutoencoderKL decoder: upstream divides by the
/// SD-VAE scale factor 0.18215 first.
enum VAE {
    static let scale: Float = 0.18215

    static func decode(_ latents: Tensor, vaePath: String) throws -> Tensor {
        let decoder = try VAEDecoder(path: vaePath)
        let scaled = Tensor(shape: latents.shape)
        for i in 0..<latents.count { scaled[i] = latents[i] / scale }
        return try decoder.decode(scaled)
    }
}
