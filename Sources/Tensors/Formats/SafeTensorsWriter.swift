import Foundation

/// Writes safetensors files (F32 and I64) atomically: to a temporary file beside
/// the target, renamed into place only when complete.
public struct SafeTensorsWriter {
    public enum Values {
        case f32([Float])
        case i64([Int64])
    }
    private var items: [(name: String, shape: [Int], values: Values)] = []
    public var metadata: [String: String] = [:]

    public init(metadata: [String: String] = [:]) { self.metadata = metadata }

    public mutating func add(_ name: String, _ tensor: Tensor) {
        items.append((name, tensor.shape, .f32(tensor.array)))
    }
    public mutating func add(_ name: String, shape: [Int], _ values: Values) {
        items.append((name, shape, values))
    }

    public func write(to path: String) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for item in items {
            let size: Int
            switch item.values {
            case .f32(let v): size = v.count * 4; header[item.name] = ["dtype": "F32", "shape": item.shape, "data_offsets": [offset, offset + size]]
            case .i64(let v): size = v.count * 8; header[item.name] = ["dtype": "I64", "shape": item.shape, "data_offsets": [offset, offset + size]]
            }
            offset += size
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for item in items {
            switch item.values {
            case .f32(let v): v.withUnsafeBytes { out.append(contentsOf: $0) }
            case .i64(let v): v.withUnsafeBytes { out.append(contentsOf: $0) }
            }
        }
        try AtomicFile.write(out, to: path)
    }
}

/// Write-then-rename, so a crash or an error never leaves a partial file under
/// the final name.
public enum AtomicFile {
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
    }

    public static func write(_ data: Data, to path: String) throws {
        let tmp = temporaryPath(for: path)
        do {
            try data.write(to: URL(fileURLWithPath: tmp))
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            throw TensorError("\(path): cannot write (\(error.localizedDescription)); check that the directory exists and is writable")
        }
        try commit(tmp, to: path)
    }

    public static func commit(_ tmp: String, to path: String) throws {
        guard rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw TensorError("\(path): cannot move the finished file into place (\(reason))")
        }
    }
}
