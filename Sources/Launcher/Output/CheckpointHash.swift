import Foundation
import Stages
import Tensors

/// A checkpoint's sha256, hashed once: cached beside it as `NAME.sha256` in
/// sha256sum's format (so `sha256sum -c NAME.sha256` checks it), or in
/// `fallbackDirectory` when the checkpoint's directory is read-only. A cache
/// older than the checkpoint, or naming another file, is hashed again.
enum CheckpointHash {
    static func sha256(of path: String, fallbackDirectory: String? = nil) throws -> String {
        let name = URL(fileURLWithPath: path).lastPathComponent
        let caches = [path + ".sha256"] + (fallbackDirectory.map { [URL(fileURLWithPath: $0).appendingPathComponent(name + ".sha256").path] } ?? [])
        let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? nil
        for cache in caches {
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: cache),
                  let cached = attributes[.modificationDate] as? Date, let modified, cached >= modified,
                  let text = try? String(contentsOfFile: cache, encoding: .utf8) else { continue }
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
            if fields.count == 2, fields[0].count == 64, fields[1] == name { return String(fields[0]) }
        }
        let digest = try FileDigest.sha256(ofFile: path)
        let line = Data("\(digest)  \(name)\n".utf8)
        for cache in caches where (try? AtomicFile.write(line, to: cache)) != nil { break }
        return digest
    }

    /// Hashes on a thread of its own, beside the run; `value` waits for it.
    final class Background {
        private let done = DispatchSemaphore(value: 0)
        private var result: Result<String, Error> = .failure(DiTError("not hashed"))

        init(path: String, fallbackDirectory: String?) {
            Thread {
                self.result = Result { try CheckpointHash.sha256(of: path, fallbackDirectory: fallbackDirectory) }
                self.done.signal()
            }.start()
        }

        var value: String {
            get throws {
                done.wait()
                done.signal()
                return try result.get()
            }
        }
    }
}
