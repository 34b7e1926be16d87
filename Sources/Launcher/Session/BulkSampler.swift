import Foundation
import Stages
import Tensors

/// `dit sample --num-images N`: bulk generation as upstream sample_ddp.py
/// does it — `output_dir/NNNNNN.png` per image (uint8 by clamp(127.5·x + 128),
/// the npz's conversion), then the ADM .npz of all N read back from the PNGs.
/// Chunks whose images all exist are skipped, so an interrupted run resumes
/// where it stopped; `bulk.json` records what the images depend on and a
/// restart with other settings is refused.
struct BulkSampler {
    let bulk: BulkPlan
    let session: SamplingSession
    let checkpoint: Checkpoint
    let output: OutputDirectory?
    let progress: ProgressOptions

    var config: RunConfig { bulk.run }

    static func imageName(_ i: Int) -> String { String(format: "%06d.png", i) }

    func run() throws {
        let world = session.world
        var pending: [Int] = []
        if let output {
            try checkManifest(output)
            pending = bulk.pending { FileManager.default.fileExists(atPath: output.file(Self.imageName($0))) }
            let done = bulk.chunks - pending.count
            log("dit: \(plural(bulk.numImages, "image")) in \(plural(bulk.chunks, "chunk")) of \(bulk.chunkImages)"
                + (done > 0 ? "; \(done) already written, \(pending.count) to go" : ""))
        }
        pending = try world.broadcast(pending)
        let start = Date()
        var imagesDone = 0
        for (n, c) in pending.enumerated() {
            let chunkStart = Date()
            let plan = try SamplingPlan(run: bulk.run(chunk: c), model: bulk.model)
            let offset = bulk.images(chunk: c).lowerBound
            let noise: NoiseSource? = session.position.isSampler
                ? OffsetNoise(PhiloxNoise(seed: config.seed, imageSize: plan.imageSize), offset: offset) : nil
            let meter = output.map { _ in Progress(plan: plan, replica: session.position.replica, options: progress,
                                                   label: "chunk \(n + 1)/\(pending.count): ") }
            let samples = try session.sample(plan: plan, noise: noise) { k, m in
                try self.session.world.checkInterrupted()
                meter?.update(step: k, microbatch: m)
            }
            meter?.finish()
            let decoded = try session.decode(samples, plan: plan)
            if let output, let images = decoded ?? samples {
                try write(images, chunk: c, to: output)
                let elapsed = Date().timeIntervalSince(start), done = n + 1
                let kept = bulk.images(chunk: c)
                imagesDone += kept.count
                log(String(format: "dit: chunk %d/%d (images %d to %d) in %.1f s; %.3f images/s; ETA %.0f s",
                           done, pending.count, kept.lowerBound, kept.upperBound - 1, Date().timeIntervalSince(chunkStart),
                           Double(imagesDone) / elapsed, elapsed / Double(done) * Double(pending.count - done)))
            }
        }
        if let output { try finish(output) }
    }

    func write(_ images: Tensor, chunk c: Int, to output: OutputDirectory) throws {
        let ch = images.shape[1], h = images.shape[2], w = images.shape[3]
        let range = bulk.images(chunk: c)
        for i in range {
            let j = i - range.lowerBound
            let rgb = NPZImages.bytes(images.pointer + j * ch * h * w, channels: ch, height: h, width: w)
            try AtomicFile.write(PNG.encode(rgb: rgb, width: w, height: h), to: output.file(Self.imageName(i)))
        }
    }

    /// labels.txt and the .npz, from the PNGs on disk; PNGs past the last
    /// image (of an earlier, larger run of the same settings) are removed.
    func finish(_ output: OutputDirectory) throws {
        let beyond = ((try? FileManager.default.contentsOfDirectory(atPath: output.path)) ?? []).filter {
            OutputDirectory.bulkImageIndex($0).map { $0 >= bulk.numImages } ?? false
        }.sorted()
        if let first = beyond.first, let last = beyond.last {
            for name in beyond { unlink(output.file(name)) }
            log("dit: removed \(plural(beyond.count, "PNG")) past image \(bulk.numImages - 1) (\(first)\(beyond.count > 1 ? " … \(last)" : "")), left by a larger earlier run")
        }
        let labels = (0..<bulk.numImages).map { String(bulk.label(of: $0)) }.joined(separator: "\n") + "\n"
        try AtomicFile.write(Data(labels.utf8), to: output.file("labels.txt"))
        let path = config.npz ?? output.file("samples.npz")
        var npz: NPZWriter?
        var size = (0, 0)
        for i in 0..<bulk.numImages {
            let file = output.file(Self.imageName(i))
            guard let data = FileManager.default.contents(atPath: file) else {
                throw DiTError("\(file): cannot be read; delete it and run again to regenerate it")
            }
            let png: (rgb: [UInt8], width: Int, height: Int)
            do { png = try PNG.decode(data) } catch {
                throw DiTError("\(file): \(error); delete it and run again to regenerate it")
            }
            if npz == nil {
                size = (png.height, png.width)
                npz = try NPZWriter(path: path, shape: [bulk.numImages, png.height, png.width, 3])
            }
            guard (png.height, png.width) == size else {
                throw DiTError("\(file): \(png.height)×\(png.width) but image 0 is \(size.0)×\(size.1); delete it and run again to regenerate it")
            }
            try npz!.append(png.rgb)
        }
        try npz!.finish()
        log("dit: \(bulk.numImages) images → \(config.outputDir)/NNNNNN.png, labels.txt, \(path)")
    }

    /// What an image depends on; the chunk size, stage and replica counts
    /// are not in it (they do not change the images).
    /// Files are named by their sha256, so a fine-tuned checkpoint of the
    /// same shapes and size is another run.
    func manifest(_ output: OutputDirectory) throws -> [String: String] {
        func file(_ path: String?) throws -> String {
            guard let path else { return "none" }
            return "sha256:" + (try CheckpointHash.sha256(of: path, fallbackDirectory: output.path))
        }
        let m = bulk.model
        return [
            "checkpoint": try file(checkpoint.path), "vae": try file(m.makesPixels ? nil : config.vae),
            "model": "depth \(m.depth), hidden \(m.hiddenSize), patch \(m.patchSize), input \(m.inputSize), heads \(m.numHeads)",
            "sampler": config.sampler, "steps": String(config.steps), "respacing": config.effectiveRespacing, "eta": String(config.eta),
            "cfg_scale": String(config.cfgScale), "guidance": config.guidance.rawValue, "clip_denoised": String(config.clipDenoised),
            "seed": String(config.seed), "classes": config.classes.isEmpty ? "random" : config.classes.map(String.init).joined(separator: ","),
            "microbatch_size": String(config.microbatchSize),
        ]
    }

    func checkManifest(_ output: OutputDirectory) throws {
        let path = output.file("bulk.json")
        let mine = try manifest(output)
        if let data = FileManager.default.contents(atPath: path) {
            guard let theirs = try? JSONDecoder().decode([String: String].self, from: data) else {
                throw DiTError("\(path): not a bulk manifest written by dit sample; use another output_dir")
            }
            if let key = mine.keys.sorted().first(where: { mine[$0] != theirs[$0] }) {
                throw DiTError("output_dir \(config.outputDir) holds images of another run (\(key): \(theirs[key] ?? "missing") there, \(mine[key]!) here); pass --overwrite to replace them, or choose another output_dir")
            }
            return
        }
        if FileManager.default.fileExists(atPath: output.file(Self.imageName(0))) {
            throw DiTError("output_dir \(config.outputDir) holds \(Self.imageName(0)) but no bulk.json; pass --overwrite to replace it, or choose another output_dir")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try AtomicFile.write(try encoder.encode(mine), to: path)
    }

    func log(_ line: String) { if progress.talks { Stderr.write(line + "\n") } }
}
