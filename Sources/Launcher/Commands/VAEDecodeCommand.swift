import ArgumentParser
import Foundation
import Stages
import Tensors

/// `dit vae-decode`: latents from a safetensors file, or a `dit sample`
/// samples.h5, through the AutoencoderKL decoder, written to HDF5 as /out in
/// [−1, 1] (no uint8 conversion), for parity checks against diffusers
/// (tools/check_vae_parity.py).
struct VAEDecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vae-decode",
        abstract: "Decode latents with a VAE (diffusers AutoencoderKL safetensors) to images in [-1, 1].",
        discussion: """
            Example: dit vae-decode --vae sd-vae-ft-ema.safetensors --input out/xl2/samples.h5 --output out/xl2/decoded.h5
            """)

    @Option(help: "VAE weights: safetensors with diffusers AutoencoderKL names (the whole VAE, or decoder + post_quant_conv).")
    var vae: String
    @Option(help: ArgumentHelp("Latents (N, C, h, w) float32: a safetensors file, already divided by the scale factor (0.18215 for SD-VAE), or a samples.h5 of dit sample (its /samples, divided by its vae_scale_factor).", valueName: "path"))
    var input: String
    @Option(help: "Name of the latents tensor in --input (default: z in safetensors, samples in samples.h5).") var key: String?
    @Option(help: "HDF5 file to write; gets dataset /out (N, 3, 8h, 8w) for SD-VAE.") var output: String
    @Option(help: "GroupNorm groups (norm_num_groups); not stored in the weights, 32 for every SD VAE.")
    var normNumGroups: Int = 32

    @OptionGroup var engine: EngineOptions

    func latents() throws -> Tensor {
        guard let samples = try? H5Reader(path: input) else { return try SafeTensorsFile(path: input).tensor(key ?? "z") }
        let name = "/" + (key ?? "samples")
        let root = try samples.attributes("/")
        if case .string("pixels") = root["samples"] {
            throw DiTError("\(input): its samples are pixels (a pixel-space model); there is nothing to decode")
        }
        let z = Tensor(shape: try samples.shape(name))
        var scale: Float = 1
        if case .double(let d) = root["vae_scale_factor"] { scale = Float(d) }
        for (i, v) in try samples.floats(name).enumerated() { z[i] = v / scale }
        return z
    }

    func run() throws {
        try engine.configure(threads: nil)
        let z = try latents()
        let key = self.key ?? "z"
        let decoder = try VAEDecoder(path: vae, normNumGroups: normNumGroups)
        try decoder.validateInput(shape: z.shape, name: "\(input): \(key)")
        let start = DispatchTime.now().uptimeNanoseconds
        let out = try decoder.decode(z)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        try H5Writer.write(atomically: output, format: .earliest) { try $0.write("/out", out) }
        let c = decoder.config
        let line = "vae-decode: \(plural(z.shape[0], "image")) \(out.shape[2])×\(out.shape[3]) from \(z.shape[2])×\(z.shape[3]) latents in "
            + String(format: "%.3f", seconds) + " s (block_out_channels \(c.blockOutChannels), layers_per_block \(c.layersPerBlock))\n"
        Stderr.write(line)
    }
}
