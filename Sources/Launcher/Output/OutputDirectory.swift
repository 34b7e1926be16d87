import Foundation
import Stages
import Tensors

/// The output directory of a sampling run. It is checked writable before
/// any work; every file is written under a temporary name and renamed into
/// place only after all of them were written, so a failed run leaves nothing.
/// A directory holding another run's files is refused unless `overwrite`;
/// then that run's files are removed before this one's are put in place
/// (at once for a bulk run, which writes as it goes).
struct OutputDirectory {
    let path: String
    /// The other run's files to remove (names), with `overwrite`.
    let stale: [String]

    init(path: String, overwrite: Bool, bulk: Bool) throws {
        self.path = path
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
        // A bulk directory is resumed by a bulk run (bulk.json says whether
        // it is the same run), so only a single run's files stand in its way.
        let other = names.filter { bulk ? Self.isSingleRunFile($0) : Self.isRunFile($0) }
        if !other.isEmpty && !overwrite {
            let pngs = other.filter { $0.hasSuffix(".png") && $0 != "grid.png" }.count
            let named = other.filter { !$0.hasSuffix(".png") || $0 == "grid.png" } + (pngs > 0 ? [plural(pngs, "image PNG")] : [])
            throw DiTError("output_dir \(path) holds another run (\(named.joined(separator: ", "))); pass --overwrite to replace it, or choose another output_dir")
        }
        stale = overwrite ? names.filter(Self.isRunFile) : []
        if bulk { for name in stale { unlink(file(name)) } }
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

    /// What `dit sample` writes: samples.h5, grid.png, NNNN-classK.png.
    static func isSingleRunFile(_ name: String) -> Bool {
        guard name != "samples.h5" && name != "grid.png" else { return true }
        let parts = name.split(separator: "-class")
        return parts.count == 2 && parts[0].count >= 4 && parts[0].allSatisfy(\.isNumber) && parts[1].hasSuffix(".png")
            && parts[1].dropLast(4).allSatisfy(\.isNumber) && parts[1].count > 4
    }

    /// i of a bulk run's image `NNNNNN.png`.
    static func bulkImageIndex(_ name: String) -> Int? {
        let digits = name.prefix(6)
        return name.count == 10 && name.hasSuffix(".png") && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber) ? Int(digits) : nil
    }

    /// A single run's files, or a bulk run's: NNNNNN.png, bulk.json, labels.txt, samples.npz.
    static func isRunFile(_ name: String) -> Bool {
        isSingleRunFile(name) || ["bulk.json", "labels.txt", "samples.npz"].contains(name)
            || bulkImageIndex(name) != nil
    }

    /// samples.h5 (latents, and decoded images when there are some), one
    /// PNG per image, grid.png and the optional .npz.
    func write(samples: Tensor, images: Tensor?, plan: SamplingPlan, checkpoint: Checkpoint, sha256: String) throws {
        var staged: [(tmp: String, final: String)] = []
        defer { for s in staged { unlink(s.tmp) } }
        func stage(_ data: Data, _ name: String) throws {
            let final = file(name), tmp = AtomicFile.temporaryPath(for: final)
            do { try data.write(to: URL(fileURLWithPath: tmp)) } catch {
                throw DiTError("\(final): cannot write (\(error.localizedDescription))")
            }
            staged.append((tmp, final))
        }

        let run = plan.run
        let h5 = AtomicFile.temporaryPath(for: file("samples.h5"))
        staged.append((h5, file("samples.h5")))
        try SamplesFile.write(to: h5, samples: samples, images: images, plan: plan,
                              attributes: SamplesFile.attributes(plan: plan, checkpoint: checkpoint, sha256: sha256,
                                                                 decoded: images != nil && images !== samples))
        if let images {
            let (ch, h, w) = (images.shape[1], images.shape[2], images.shape[3])
            for i in 0..<images.shape[0] {
                let rgb = ImageWriter.rgb(images.pointer + i * ch * h * w, channels: ch, height: h, width: w)
                try stage(PNG.encode(rgb: rgb, width: w, height: h), String(format: "%04d-class%d.png", i, run.classes[i]))
            }
            if let npz = run.npz {
                let final = npz, tmp = AtomicFile.temporaryPath(for: final)
                staged.append((tmp, final))
                try NPZImages.write(images, to: tmp)
            }
            let g = ImageWriter.grid(images, nrow: run.nrow)
            try stage(PNG.encode(rgb: g.rgb, width: g.width, height: g.height), "grid.png")
        }
        for name in stale { unlink(file(name)) }
        for s in staged { try AtomicFile.commit(s.tmp, to: s.final) }
        staged = []
    }
}
