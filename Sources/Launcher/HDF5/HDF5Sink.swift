import Foundation
import Stages

/// An `ActivationSink` writing one HDF5 file per rank (docs/dump-format.md).
///
/// `record` copies the selected rows into a pooled buffer and queues it; a
/// writer thread owns the file and makes every HDF5 call, so the pipeline
/// only waits when more than `maxQueuedBytes` are in flight. Each step is
/// flushed when the rank finishes it. The file is written as
/// `PATH.rankN.h5.partial` and renamed at `close()`: a killed run leaves the
/// `.partial` file, readable up to its last flushed step. A failed write
/// (disk full) removes it and the next call on the compute thread throws.
final class HDF5Sink: ActivationSink {
    let selection: DumpSelection
    let finalPath: String
    let partialPath: String
    let compress: Bool
    let rank: Int, stage: Int
    let maxQueuedBytes = 256 << 20
    /// A step's records are held by the writer until the step ends, then
    /// written as one group; over this many bytes, they are written at once,
    /// one group per micro-batch.
    let maxPendingBytes: Int
    /// Crash tests only: `endStep(k)` kills the process with SIGKILL once
    /// step k−1 is flushed (scripts/test-dump.sh, through `dit sample`'s
    /// hidden --dump-test-kill-after-step).
    let killAfterStep: Int?

    /// The kept rows of one recorded tensor of one micro-batch: p parts
    /// (p = 2 for [cond; uncond]) of `images.count` rows each.
    struct Record {
        let step: Int, microbatch: Int, timestep: Int
        let point: DumpPoint, block: Int?
        let images: [Int]
        let doubled: Bool
        let shape: [Int]
        let buffer: [Float]
        var count: Int { shape.reduce(1, *) }
        var parts: Int { shape[0] / images.count }
    }

    enum Job {
        case record(Record)
        case root(String, AttributeValue)
        case flush(step: Int)
        case close
    }

    private let lock = NSCondition()
    private var jobs: [Job] = []
    private var head = 0
    private var queuedBytes = 0
    private var pool: [[Float]] = []
    private var failure: Error?
    private var flushedStep = -1
    private var opened = false
    private var finished = false
    private var hashing = false
    private var thread: Thread?

    init(dump: DumpConfig, selection: DumpSelection, rank: Int, stage: Int, rootAttributes: [(String, AttributeValue)],
         checkpointToHash: String?, maxPendingBytes: Int = 64 << 20, killAfterStep: Int? = nil) throws {
        self.selection = selection
        self.rank = rank
        self.stage = stage
        self.maxPendingBytes = maxPendingBytes
        self.killAfterStep = killAfterStep
        compress = dump.compress
        finalPath = DumpLayout.rankPath(dump.path, rank: rank)
        partialPath = DumpLayout.partialPath(finalPath)
        let dir = (finalPath as NSString).deletingLastPathComponent
        if !dir.isEmpty, !FileManager.default.fileExists(atPath: dir) {
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw DiTError("dump \(dump.path): cannot create directory \(dir) (\(error.localizedDescription)); choose a writable path")
            }
        }
        let t = Thread { self.writerLoop(rootAttributes) }
        t.name = "dump-writer"
        thread = t
        t.start()
        lock.lock()
        while !opened && failure == nil { lock.wait() }
        let error = failure
        lock.unlock()
        if let error { throw error }
        if let checkpointToHash {
            // Hashing a multi-GB checkpoint takes seconds: do it beside the run.
            hashing = true
            Thread {
                if let digest = try? CheckpointHash.sha256(of: checkpointToHash) {
                    self.enqueue(.root("checkpoint_sha256", .string(digest)), bytes: 0)
                }
                self.lock.lock()
                self.hashing = false
                self.lock.broadcast()
                self.lock.unlock()
            }.start()
        }
    }

    func wants(_ point: DumpPoint, step: Int) -> Bool { selection.wants(point, step: step) }

    func record(_ point: DumpPoint, step: Int, microbatch: Int, block: Int?, rows: RowInfo,
                data: UnsafePointer<Float>, shape: [Int]) throws {
        let layout = DumpLayout.Rows(rows: rows, shape: shape)
        let keep = rows.images.indices.filter { selection.wants(image: rows.images[$0]) }
        guard !keep.isEmpty else { return }
        let rowIndices = (0..<layout.parts).flatMap { part in keep.map { DumpLayout.row(part: part, image: $0, of: layout.n) } }
        let count = rowIndices.count * layout.rowSize
        var buffer = takeBuffer(count)
        buffer.withUnsafeMutableBufferPointer { out in
            for (i, r) in rowIndices.enumerated() {
                (out.baseAddress! + i * layout.rowSize).update(from: data + r * layout.rowSize, count: layout.rowSize)
            }
        }
        let record = Record(step: step, microbatch: microbatch, timestep: rows.timestep, point: point, block: block,
                            images: keep.map { rows.images[$0] }, doubled: rows.doubled,
                            shape: [rowIndices.count] + shape.dropFirst(), buffer: buffer)
        try enqueueChecked(.record(record), bytes: count * 4)
    }

    func endStep(_ step: Int) throws {
        try enqueueChecked(.flush(step: step), bytes: 0)
        if let k = killAfterStep, k == step {
            lock.lock()
            while flushedStep < step - 1 && failure == nil { lock.wait() }
            lock.unlock()
            kill(getpid(), SIGKILL)
        }
    }

    func close() throws {
        guard let thread else { return }
        lock.lock()
        while hashing && failure == nil { lock.wait() }
        lock.unlock()
        enqueue(.close, bytes: 0)
        lock.lock()
        while !finished { lock.wait() }
        let error = failure
        lock.unlock()
        self.thread = nil
        if let error { throw error }
        _ = thread
    }

    // MARK: compute side

    private func takeBuffer(_ count: Int) -> [Float] {
        lock.lock()
        defer { lock.unlock() }
        // The smallest pooled buffer that fits, so that small points do not
        // take the blocks' buffers.
        var best: Int?
        for (i, b) in pool.enumerated() where b.count >= count && (best == nil || b.count < pool[best!].count) { best = i }
        if let best { return pool.remove(at: best) }
        return [Float](unsafeUninitializedCapacity: count) { _, n in n = count }
    }

    private func enqueue(_ job: Job, bytes: Int) {
        lock.lock()
        jobs.append(job)
        queuedBytes += bytes
        lock.signal()
        lock.unlock()
    }

    /// Queues a job, waiting while the queue is over its bound; throws the
    /// writer's error, if it failed.
    private func enqueueChecked(_ job: Job, bytes: Int) throws {
        lock.lock()
        defer { lock.unlock() }
        while failure == nil && queuedBytes > 0 && queuedBytes + bytes > maxQueuedBytes { lock.broadcast(); lock.wait() }
        if let failure { throw failure }
        jobs.append(job)
        queuedBytes += bytes
        // The writer only holds records until their step ends: wake it for
        // the flush, or when the queue fills, not for every record.
        if case .record = job, queuedBytes < maxQueuedBytes / 4 { return }
        lock.broadcast()
    }

    // MARK: writer thread

    private func writerLoop(_ rootAttributes: [(String, AttributeValue)]) {
        var file: H5Writer
        do {
            file = try H5Writer(creating: partialPath, format: .dump)
            for (k, v) in rootAttributes { try file.setRootAttribute(k, v) }
            try file.flush()
        } catch {
            unlink(partialPath)
            finish(error: DiTError("dump \(finalPath): \(error)"))
            return
        }
        lock.lock()
        opened = true
        lock.broadcast()
        lock.unlock()
        var current = "opening"
        // Records of steps not yet written; their bytes no longer count as queued.
        var pending: [Int: [Record]] = [:]
        var pendingBytes = 0
        var scratch: [Float] = []
        func writeStep(_ step: Int, separately: Bool) throws {
            guard let records = pending.removeValue(forKey: step) else { return }
            pendingBytes -= records.reduce(0) { $0 + $1.count * 4 }
            let groups = Self.groups(records, separately: separately)
            for g in groups {
                current = "step \(step), micro-batch \(g[0].microbatch)"
                try write(g, scratch: &scratch, to: file)
            }
            lock.lock()
            for r in records where pool.count < 64 { pool.append(r.buffer) }
            lock.unlock()
        }
        do {
            while true {
                lock.lock()
                while head == jobs.count { lock.wait() }
                let job = jobs[head]
                jobs[head] = .close
                head += 1
                if head > 256 { jobs.removeFirst(head); head = 0 }
                lock.unlock()
                switch job {
                case let .record(r):
                    pending[r.step, default: []].append(r)
                    pendingBytes += r.count * 4
                    lock.lock()
                    queuedBytes -= r.count * 4
                    lock.broadcast()
                    lock.unlock()
                    if pendingBytes > maxPendingBytes {
                        for step in pending.keys.sorted() { try writeStep(step, separately: true) }
                    }
                case let .root(key, value):
                    try file.setRootAttribute(key, value)
                case let .flush(step):
                    try writeStep(step, separately: false)
                    current = "step \(step)"
                    try file.flush()
                    lock.lock()
                    flushedStep = max(flushedStep, step)
                    lock.broadcast()
                    lock.unlock()
                case .close:
                    for step in pending.keys.sorted() { try writeStep(step, separately: false) }
                    current = "closing"
                    try file.close()
                    if rename(partialPath, finalPath) != 0 {
                        throw DiTError("cannot rename \(partialPath) to \(finalPath) (\(String(cString: strerror(errno))))")
                    }
                    finish(error: nil)
                    return
                }
            }
        } catch {
            let code = errno
            try? file.close()
            unlink(partialPath)
            var why = "\(error)"
            if code == ENOSPC || code == EDQUOT || code == EFBIG || Self.diskFull(partialPath) {
                why = "disk full (\(String(cString: strerror(code == 0 ? ENOSPC : code))))"
            }
            finish(error: DiTError("dump \(finalPath): \(why) while writing \(current); removed the unfinished file \(partialPath); free space or dump fewer steps/points (--dump-steps, --dump-points)"))
        }
    }

    /// A step's records split into groups that are written as one
    /// micro-batch group each: all micro-batches together when every
    /// point has each of them once with the same row shape, else one group
    /// per micro-batch.
    static func groups(_ records: [Record], separately: Bool) -> [[Record]] {
        let byMicrobatch = Dictionary(grouping: records, by: \.microbatch).sorted { $0.key < $1.key }.map(\.value)
        if separately || byMicrobatch.count == 1 { return byMicrobatch }
        let byPoint = Dictionary(grouping: records) { DumpKey(step: 0, point: $0.point, block: $0.block, image: 0) }
        let together = byPoint.values.allSatisfy { rs in
            rs.count == byMicrobatch.count && Set(rs.map(\.microbatch)).count == rs.count
                && rs.allSatisfy { $0.shape.dropFirst() == rs[0].shape.dropFirst() && $0.parts == rs[0].parts }
        }
        return together ? [records] : byMicrobatch
    }

    /// Writes records of one step as one micro-batch group (`DumpLayout`):
    /// images concatenated in micro-batch order, rows [cond of every image;
    /// uncond of every image], and the blocks stacked as `blocks_{f}`
    /// datasets of consecutive blocks.
    func write(_ records: [Record], scratch: inout [Float], to file: H5Writer) throws {
        let step = records[0].step
        let microbatches = Set(records.map(\.microbatch)).sorted()
        var imagesOf: [Int: [Int]] = [:]
        for r in records where imagesOf[r.microbatch] == nil { imagesOf[r.microbatch] = r.images }
        let layout = DumpLayout.Group(images: microbatches.flatMap { imagesOf[$0]! },
                                      microbatches: microbatches.flatMap { Array(repeating: $0, count: imagesOf[$0]!.count) },
                                      doubled: records[0].doubled)
        try file.group(DumpLayout.stepGroup(step), attributes: DumpLayout.stepAttributes(step: step, timestep: .int(records[0].timestep)))
        var split = 0
        while file.hasGroup(DumpLayout.microbatchGroup(step: step, microbatch: layout.microbatch, split: split)) { split += 1 }
        let group = DumpLayout.microbatchGroup(step: step, microbatch: layout.microbatch, split: split)
        try file.group(group, attributes: layout.attributes)
        let byPoint = Dictionary(grouping: records) { DumpKey(step: 0, point: $0.point, block: $0.block, image: 0) }
        // Copies one point's records (sorted by micro-batch) into `out`, each
        // part of each record's images at its rows.
        func gather(_ rs: [Record], into out: UnsafeMutablePointer<Float>) -> [Int] {
            let parts = rs[0].parts, rowSize = rs[0].shape.dropFirst().reduce(1, *)
            var first = 0
            for r in rs {
                let size = r.images.count * rowSize
                for part in 0..<parts {
                    let row = DumpLayout.row(part: part, image: first, of: layout.images.count)
                    r.buffer.withUnsafeBufferPointer { (out + row * rowSize).update(from: $0.baseAddress! + part * size, count: size) }
                }
                first += r.images.count
            }
            return [parts * layout.images.count] + rs[0].shape.dropFirst()
        }
        func ensure(_ count: Int) {
            if scratch.count < count { scratch = [Float](unsafeUninitializedCapacity: count) { _, n in n = count } }
        }
        for (key, rs) in byPoint.sorted(by: { $0.key < $1.key }) where key.point != .block {
            let sorted = rs.sorted { $0.microbatch < $1.microbatch }
            ensure(rs.reduce(0) { $0 + $1.count })
            try scratch.withUnsafeMutableBufferPointer { out in
                let shape = gather(sorted, into: out.baseAddress!)
                try file.write("\(group)/\(key.pointName)", shape: shape, data: out.baseAddress!, gzip: compress)
            }
        }
        // Runs of consecutive blocks (their outputs; the points inside a block were written above).
        let blocks = byPoint.keys.filter { $0.point == .block }.compactMap(\.block).sorted()
        var start = 0
        while start < blocks.count {
            var end = start + 1
            while end < blocks.count && blocks[end] == blocks[end - 1] + 1 { end += 1 }
            let run = blocks[start..<end].map { b in byPoint[DumpKey(step: 0, point: .block, block: b, image: 0)]!.sorted { $0.microbatch < $1.microbatch } }
            let slab = run[0].reduce(0) { $0 + $1.count }
            ensure(slab * run.count)
            try scratch.withUnsafeMutableBufferPointer { out in
                var shape: [Int] = []
                for (i, rs) in run.enumerated() { shape = gather(rs, into: out.baseAddress! + i * slab) }
                try file.write("\(group)/\(DumpLayout.blocksDataset(first: blocks[start]))", shape: [run.count] + shape,
                               data: out.baseAddress!, gzip: compress)
            }
            start = end
        }
    }

    private static func diskFull(_ path: String) -> Bool {
        var s = statvfs()
        let dir = (path as NSString).deletingLastPathComponent
        guard statvfs(dir.isEmpty ? "." : dir, &s) == 0 else { return false }
        return UInt64(s.f_bavail) * UInt64(s.f_frsize) < 1 << 20
    }

    private func finish(error: Error?) {
        lock.lock()
        failure = failure ?? error
        finished = true
        queuedBytes = 0
        lock.broadcast()
        lock.unlock()
    }
}
