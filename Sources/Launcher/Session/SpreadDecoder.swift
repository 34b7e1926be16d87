import Foundation
import Stages
import Tensors

/// Latents to images with an AutoencoderKL decoder, spread over every rank
/// of the job: rank r decodes images i with i mod size = r, rank 0 gathers
/// them. Upstream divides latents by the SD-VAE scale factor 0.18215 first.
/// Every rank decodes with the same kernels and thread count, so an image
/// is bitwise the same whichever rank decoded it. Every message carries a
/// checked header (kind, image index as micro-batch, source rank).
final class SpreadDecoder {
    static let scale: Float = 0.18215
    let decoder: VAEDecoder
    /// The job's ranks; nil in a single process.
    let transport: Transport?

    /// Opens the VAE on this rank and checks it against the DiT's latents
    /// (channels) before any sampling.
    convenience init(path: String, model: DiTConfig, transport: Transport?) throws {
        let decoder = try VAEDecoder(path: path)
        try decoder.validateInput(shape: [1, model.inChannels, model.inputSize, model.inputSize],
                                  name: "the DiT's latent image")
        self.init(decoder: decoder, transport: transport)
    }

    init(decoder: VAEDecoder, transport: Transport?) {
        self.decoder = decoder
        self.transport = transport
    }

    /// Decodes `count` latents of shape (C, h, w): rank 0 passes them and
    /// gets the images (N, 3, f·h, f·w); other ranks pass nil and get nil.
    func decode(_ latents: Tensor?, count: Int, latentShape shape: [Int]) throws -> Tensor? {
        let f = decoder.scaleFactor, out = decoder.config.outChannels
        let latentSize = shape.reduce(1, *), imageSize = out * f * shape[1] * f * shape[2]
        let ranks = transport?.worldSize ?? 1
        let me = transport?.rank ?? 0
        func decodeOne(_ z: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) throws {
            let scaled = Tensor(shape: [1] + shape)
            for i in 0..<latentSize { scaled[i] = z[i] / Self.scale }
            let image = try decoder.decode(scaled)
            dst.update(from: image.data, count: imageSize)
        }
        func header(_ kind: MessageKind, image i: Int, from rank: Int) -> MessageHeader {
            MessageHeader(kind: kind, step: -1, microbatch: i, sourceStage: 0, rows: 1,
                          floats: kind == .decodeLatents ? latentSize : imageSize, sourceRank: rank)
        }
        func post(_ h: MessageHeader, to peer: Int, _ payload: UnsafePointer<Float>) throws -> (MessageBuffer, Int) {
            let b = MessageBuffer(floats: Int(h.floats))
            h.write(to: b.raw)
            b.payload.update(from: payload, count: Int(h.floats))
            return (b, try transport!.postSend(b.raw, bytes: b.bytes, to: peer, tag: h.kind.tag))
        }
        func receive(_ h: MessageHeader) throws -> (MessageBuffer, Int) {
            let b = MessageBuffer(floats: Int(h.floats))
            return (b, try transport!.postReceive(b.raw, bytes: b.bytes, from: Int(h.sourceRank), tag: h.kind.tag))
        }
        if me == 0 {
            let latents = latents!
            let images = Tensor(shape: [count, out, f * shape[1], f * shape[2]])
            var sends: [(MessageBuffer, Int)] = [], receives: [(Int, MessageBuffer, Int)] = []
            for i in 0..<count where i % ranks != 0 {
                sends.append(try post(header(.decodeLatents, image: i, from: 0), to: i % ranks, latents.pointer + i * latentSize))
                let (b, r) = try receive(header(.decodedImage, image: i, from: i % ranks))
                receives.append((i, b, r))
            }
            for i in stride(from: 0, to: count, by: ranks) {
                try decodeOne(latents.pointer + i * latentSize, into: images.data + i * imageSize)
                try transport?.progress()
            }
            try transport?.wait(sends.map(\.1) + receives.map(\.2))
            for (i, b, _) in receives {
                try MessageHeader.check(b, expected: header(.decodedImage, image: i, from: i % ranks), receiver: 0)
                (images.data + i * imageSize).update(from: b.payload, count: imageSize)
            }
            return images
        }
        let mine = Array(stride(from: me, to: count, by: ranks))
        guard !mine.isEmpty else { return nil }
        let decoded = Tensor(shape: [imageSize])
        let receives = try mine.map { try receive(header(.decodeLatents, image: $0, from: 0)) }
        var sends: [(MessageBuffer, Int)] = []
        for (i, (b, r)) in zip(mine, receives) {
            try transport!.wait([r])
            try MessageHeader.check(b, expected: header(.decodeLatents, image: i, from: 0), receiver: me)
            try decodeOne(b.payload, into: decoded.data)
            sends.append(try post(header(.decodedImage, image: i, from: me), to: 0, decoded.pointer))
        }
        try transport!.wait(sends.map(\.1))
        return nil
    }
}
