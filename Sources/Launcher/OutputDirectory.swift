import Foundation
import Stages
import Tensors

/// The output directory of a sampling run. It is checked writable before
/// any work; every file is written under a temporary name and renamed into
/// place only after all of them were written, so a failed run leaves nothing.
struct OutputDirectory {
    let path: String

    init(path: String) throws {
        self.path = path
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw DiTError("output_dir \(path): cannot create it; choose a writable directory")
        }
        let probe = URL(fileURLWithPath: path).appendingPathComponent(".dit-write-test-\(getpid())").path
        guard FileManager.default.createFile(atPath: probe, contents: Data()) else {
            throw DiTError("output_dir \(path): not writable; choose a writable directory")
        }
        unlink(probe)
    }

    func file(_ name: String) -> String { URL(fileURLWithPath: path).appendingPathComponent(name).path }

    /// samples.h5 (latents, and decoded images when there are some), one
    /// PNG per image, grid.png and the optional .npz.
    func write(samples: Tensor, images: Tensor?, plan: SamplingPlan, checkpoint: Checkpoint) throws {
        var staged: [(tmp: String, final: String)] = []
        defer { for s in staged { unlink(s.tmp) } }
        func stage(_ data: Data, _ name: String) throws {
            let final = file(name), tmp = AtomicFile.temporaryPath(for: final)
            do { try data.write(to: URL(fileURLWithPath: tmp)) } catch {
                throw DiTError("\(final): cannot write (\(error.localizedDescription))")
            }
            staged.append((tmp, final))
        }

        let h5 = try HDF5Writer(path: file("samples.h5"))
        let run = plan.run
        try h5.write("/samples", samples, attributes: [
            "classes": run.classes.map(String.init).joined(separator: ","),
            "sampler": run.sampler, "steps": String(run.steps), "respacing": run.effectiveRespacing,
            "cfg_scale": String(run.cfgScale), "guidance": run.guidance.rawValue, "seed": String(run.seed),
            "rng": run.noise == nil ? run.rng : "file:\(run.noise!)", "checkpoint": checkpoint.path,
        ])
        if let images {
            if images !== samples { try h5.write("/images", images) }
            let (ch, h, w) = (images.shape[1], images.shape[2], images.shape[3])
            for i in 0..<images.shape[0] {
                let rgb = ImageWriter.rgb(images.pointer + i * ch * h * w, channels: ch, height: h, width: w)
                try stage(ImageWriter.png(rgb: rgb, width: w, height: h), String(format: "%04d-class%d.png", i, run.classes[i]))
            }
            if let npz = run.npz {
                let final = npz, tmp = AtomicFile.temporaryPath(for: final)
                staged.append((tmp, final))
                try NPZImages.write(images, to: tmp)
            }
            let g = ImageWriter.grid(images, nrow: run.nrow)
            try stage(ImageWriter.png(rgb: g.rgb, width: g.width, height: g.height), "grid.png")
        }
        try h5.commit()
        for s in staged { try AtomicFile.commit(s.tmp, to: s.final) }
        staged = []
    }
}
