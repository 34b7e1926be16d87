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
    /// Test hook: DIT_TEST_KILL_AFTER_STEP=k[:rank] kills this rank with
    /// SIGKILL once step k−1 is flushed (scripts/test-dump.sh).
    let killAfterStep: Int?

    enum Job {
        case dataset(name: String, shape: [Int], attributes: [(String, H5Attr)], buffer: [Float])
        case group(String, [(String, H5Attr)])
        case root(String, H5Attr)
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
    private var startedSteps = Set<Int>()
    private var hashing = false
    private var thread: Thread?

    init(dump: DumpConfig, selection: DumpSelection, rank: Int, stage: Int, rootAttributes: [(String, H5Attr)],
         checkpointToHash: String?) throws {
        self.selection = selection
        self.rank = rank
        self.stage = stage
        compress = dump.compress
        finalPath = Self.rankPath(dump.path, rank: rank)
        partialPath = finalPath + ".partial"
        let env = ProcessInfo.processInfo.environment["DIT_TEST_KILL_AFTER_STEP"]?.split(separator: ":").compactMap { Int($0) } ?? []
        killAfterStep = env.first.flatMap { env.count == 1 || env[1] == rank ? $0 : nil }
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
                if let digest = try? SHA256.file(checkpointToHash) {
                    self.enqueue(.root("checkpoint_sha256", .string(digest)), bytes: 0)
                }
                self.lock.lock()
                self.hashing = false
                self.lock.broadcast()
                self.lock.unlock()
            }.start()
        }
    }

    /// PATH with `.rankN` before its extension (`.h5` when it has none).
    static func rankPath(_ path: String, rank: Int) -> String {
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension.isEmpty ? "h5" : url.pathExtension
        return url.deletingPathExtension().path + ".rank\(rank).\(ext)"
    }

    func wants(_ point: DumpPoint, step: Int) -> Bool { selection.wants(point, step: step) }

    func record(_ point: DumpPoint, step: Int, microbatch: Int, block: Int?, rows: RowInfo,
                data: UnsafePointer<Float>, shape: [Int]) throws {
        let layout = DumpRows(rows: rows, shape: shape)
        let keep = rows.images.indices.filter { selection.wants(image: rows.images[$0]) }
        guard !keep.isEmpty else { return }
        let rowIndices = (0..<layout.parts).flatMap { part in keep.map { part * layout.n + $0 } }
        let count = rowIndices.count * layout.rowSize
        var buffer = takeBuffer(count)
        buffer.withUnsafeMutableBufferPointer { out in
            for (i, r) in rowIndices.enumerated() {
                (out.baseAddress! + i * layout.rowSize).update(from: data + r * layout.rowSize, count: layout.rowSize)
            }
        }
        if !startedSteps.contains(step) {
            startedSteps.insert(step)
            enqueue(.group("/step_\(step)", [("step", .int(step)), ("timestep", .int(rows.timestep))]), bytes: 0)
        }
        var attributes: [(String, H5Attr)] = [
            ("point", .string(point.rawValue)), ("step", .int(step)), ("timestep", .int(rows.timestep)),
            ("images", .ints(keep.map { rows.images[$0] })), ("doubled", .int(layout.parts == 2 ? 1 : 0)),
            ("microbatch", .int(microbatch)), ("stage", .int(stage)), ("rank", .int(rank)),
        ]
        if let block { attributes.append(("block", .int(block))) }
        let name = "/step_\(step)/mb_\(microbatch)/" + DumpKey(step: step, point: point, block: block, image: 0).pointName
        let rowShape = [rowIndices.count] + shape.dropFirst()
        try enqueueChecked(.dataset(name: name, shape: rowShape, attributes: attributes, buffer: buffer), bytes: count * 4)
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
        if let i = pool.firstIndex(where: { $0.count >= count }) { return pool.remove(at: i) }
        return [Float](repeating: 0, count: count)
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
        while failure == nil && queuedBytes > 0 && queuedBytes + bytes > maxQueuedBytes { lock.wait() }
        if let failure { throw failure }
        jobs.append(job)
        queuedBytes += bytes
        lock.broadcast()
    }

    // MARK: writer thread

    private func writerLoop(_ rootAttributes: [(String, H5Attr)]) {
        var file: DumpH5File
        do {
            file = try DumpH5File(creating: partialPath)
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
                case let .dataset(name, shape, attributes, buffer):
                    current = name
                    try buffer.withUnsafeBufferPointer {
                        try file.write(name, shape: shape, data: $0.baseAddress!, gzip: compress, attributes: attributes)
                    }
                    let bytes = shape.reduce(1, *) * 4
                    lock.lock()
                    queuedBytes -= bytes
                    if pool.count < 64 { pool.append(buffer) }
                    lock.broadcast()
                    lock.unlock()
                case let .group(name, attributes):
                    current = name
                    try file.group(name, attributes: attributes)
                case let .root(key, value):
                    try file.setRootAttribute(key, value)
                case let .flush(step):
                    current = "step \(step)"
                    try file.flush()
                    lock.lock()
                    flushedStep = max(flushedStep, step)
                    lock.broadcast()
                    lock.unlock()
                case .close:
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
