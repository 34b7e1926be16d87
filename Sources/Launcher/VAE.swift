import Foundation
import Stages
import Tensors

/// Latents to images with an AutoencoderKL decoder, spread over every rank
/// of the job: rank r decodes images i with i mod size = r, rank 0 gathers
/// them. Upstream divides latents by the SD-VAE scale factor 0.18215 first.
/// Every rank decodes with the same kernels and thread count, so an image
/// is bitwise the same whichever rank decoded it.
final class SpreadDecoder {
    static let scale: Float = 0.18215
    static let latentTag = MessageKind.decodeLatents.tag, imageTag = MessageKind.decodedImage.tag
    let decoder: VAEDecoder
    let world: MPIWorld
    let transport: Transport?

    /// Opens the VAE on this rank and checks it against the DiT's latents
    /// (channels) before any sampling.
    init(path: String, model: DiTConfig, world: MPIWorld, transport: Transport?) throws {
        decoder = try VAEDecoder(path: path)
        try decoder.validateInput(shape: [1, model.inChannels, model.inputSize, model.inputSize],
                                  name: "the DiT's latent image")
        self.world = world
        self.transport = transport
    }

    /// Decodes `count` latents of shape (C, h, w): rank 0 passes them and
    /// gets the images (N, 3, f·h, f·w); other ranks pass nil and get nil.
    func decode(_ latents: Tensor?, count: Int, latentShape shape: [Int]) throws -> Tensor? {
        let f = decoder.scaleFactor, out = decoder.config.outChannels
        let latentSize = shape.reduce(1, *), imageSize = out * f * shape[1] * f * shape[2]
        let ranks = transport == nil ? 1 : world.size
        let me = world.rank
        func decodeOne(_ z: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) throws {
            let scaled = Tensor(shape: [1] + shape)
            for i in 0..<latentSize { scaled[i] = z[i] / Self.scale }
            let image = try decoder.decode(scaled)
            dst.update(from: image.data, count: imageSize)
        }
        if me == 0 {
            let latents = latents!
            let images = Tensor(shape: [count, out, f * shape[1], f * shape[2]])
            var requests: [Int] = []
            for i in 0..<count where i % ranks != 0 {
                requests.append(try transport!.postSend(latents.data + i * latentSize, bytes: latentSize * 4,
                                                        to: i % ranks, tag: Self.latentTag))
                requests.append(try transport!.postReceive(images.data + i * imageSize, bytes: imageSize * 4,
                                                           from: i % ranks, tag: Self.imageTag))
            }
            for i in stride(from: 0, to: count, by: ranks) {
                try decodeOne(latents.pointer + i * latentSize, into: images.data + i * imageSize)
                try transport?.progress()
            }
            try transport?.wait(requests)
            return images
        }
        let mine = Array(stride(from: me, to: count, by: ranks))
        guard !mine.isEmpty else { return nil }
        let z = Tensor(shape: [mine.count, latentSize]), decoded = Tensor(shape: [mine.count, imageSize])
        let receives = try mine.indices.map {
            try transport!.postReceive(z.data + $0 * latentSize, bytes: latentSize * 4, from: 0, tag: Self.latentTag)
        }
        var sends: [Int] = []
        for (j, r) in receives.enumerated() {
            try transport!.wait([r])
            try decodeOne(z.pointer + j * latentSize, into: decoded.data + j * imageSize)
            sends.append(try transport!.postSend(decoded.data + j * imageSize, bytes: imageSize * 4, to: 0, tag: Self.imageTag))
        }
        try transport!.wait(sends)
        return nil
    }
}
