import Foundation

/// Element types a safetensors file may hold; all are read as Float32 except
/// the integer types, which are read as Int64.
public enum SafeTensorsDType: String, Sendable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64"
    case i64 = "I64", i32 = "I32"

    public var byteSize: Int {
        switch self {
        case .f16, .bf16: return 2
        case .f32, .i32: return 4
        case .f64, .i64: return 8
        }
    }
    public var isFloatingPoint: Bool { self != .i64 && self != .i32 }
}

/// One tensor's entry in a safetensors header.
public struct SafeTensorsEntry: Sendable {
    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    public let byteRange: Range<Int>
    public var count: Int { shape.reduce(1, *) }
}

/// A validated safetensors file (https://github.com/huggingface/safetensors):
/// an 8-byte little-endian header length, a JSON header, then the data area.
/// The file is memory-mapped; tensors are converted to Float32 on request.
public final class SafeTensorsFile: @unchecked Sendable {
    public let path: String
    public let entries: [String: SafeTensorsEntry]
    public let metadata: [String: String]
    private let bytes: Data
    private let dataStart: Int

    /// What a file that is not safetensors is, when its first bytes say so.
    static func otherFormat(_ bytes: Data) -> String? {
        let head = [UInt8](bytes.prefix(8))
        let convert = "convert it with `python3 tools/convert_checkpoint.py FILE OUT.safetensors` (needs torch: pip install torch; see the README, \"From the released checkpoint\")"
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            return "a PyTorch checkpoint (torch.save zip archive), not safetensors; " + convert
        }
        if head.count >= 2, head[0] == 0x80, (2...5).contains(head[1]) {
            return "a PyTorch checkpoint (pickle), not safetensors; " + convert
        }
        if head == [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A] {
            return "an HDF5 file, not safetensors"
        }
        return nil
    }

    public init(path: String) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        guard FileManager.default.fileExists(atPath: path) else {
            throw TensorError("\(path): no such file")
        }
        do {
            bytes = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw TensorError("\(path): cannot read (\(error.localizedDescription))")
        }
        if let other = Self.otherFormat(bytes) { throw TensorError("\(path): \(other)") }
        guard bytes.count >= 8 else {
            throw TensorError("\(path): not a safetensors file (\(bytes.count) bytes, shorter than the 8-byte header length)")
        }
        let headerLength = bytes.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        guard headerLength > 1, headerLength <= bytes.count - 8 else {
            throw TensorError("\(path): not a safetensors file, or truncated (header length \(headerLength) but the file has \(bytes.count - 8) bytes after it)")
        }
        dataStart = 8 + headerLength
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<dataStart))
        } catch {
            throw TensorError("\(path): not a safetensors file (its header is not JSON)")
        }
        guard let header = json as? [String: Any] else {
            throw TensorError("\(path): not a safetensors file (its header is not a JSON object)")
        }
        var entries: [String: SafeTensorsEntry] = [:]
        var metadata: [String: String] = [:]
        let dataLength = bytes.count - dataStart
        for (name, value) in header {
            if name == "__metadata__" {
                guard let dict = value as? [String: Any] else {
                    throw TensorError("\(path): __metadata__ must be an object of strings")
                }
                for (k, v) in dict { metadata[k] = (v as? String) ?? "\(v)" }
                continue
            }
            entries[name] = try Self.parseEntry(name: name, value: value, path: path, dataLength: dataLength)
        }
        let sorted = entries.values.sorted { $0.byteRange.lowerBound < $1.byteRange.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.byteRange.upperBound > b.byteRange.lowerBound {
            throw TensorError("\(path): tensors '\(a.name)' and '\(b.name)' overlap in the data area; the file is corrupt")
        }
        self.entries = entries
        self.metadata = metadata
    }

    private static func parseEntry(name: String, value: Any, path: String, dataLength: Int) throws -> SafeTensorsEntry {
        guard let dict = value as? [String: Any],
              let dtypeName = dict["dtype"] as? String,
              let shapeAny = dict["shape"] as? [Any],
              let offsetsAny = dict["data_offsets"] as? [Any], offsetsAny.count == 2 else {
            throw TensorError("\(path): header entry '\(name)' needs dtype, shape and data_offsets")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw TensorError("\(path): tensor '\(name)' has dtype \(dtypeName); supported: F32, F16, BF16, F64, I64, I32 (convert the file to float32)")
        }
        let shape = shapeAny.compactMap { ($0 as? NSNumber)?.intValue }
        let offsets = offsetsAny.compactMap { ($0 as? NSNumber)?.intValue }
        guard shape.count == shapeAny.count, shape.allSatisfy({ $0 >= 0 }), offsets.count == 2 else {
            throw TensorError("\(path): tensor '\(name)' has a malformed shape or data_offsets")
        }
        let begin = offsets[0], end = offsets[1]
        guard begin >= 0, begin <= end, end <= dataLength else {
            throw TensorError("\(path): tensor '\(name)' lies at bytes \(begin) to \(end - 1) but the data area has \(dataLength) bytes; the file is truncated or corrupt")
        }
        let expected = shape.reduce(1, *) * dtype.byteSize
        guard end - begin == expected else {
            throw TensorError("\(path): tensor '\(name)' of shape \(shape.shapeDescription) and dtype \(dtypeName) needs \(expected) bytes but occupies \(end - begin)")
        }
        return SafeTensorsEntry(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    public var names: [String] { entries.keys.sorted() }

    public func entry(_ name: String) throws -> SafeTensorsEntry {
        guard let e = entries[name] else {
            throw TensorError("\(path): no tensor named '\(name)' (the file has: \(names.prefix(12).joined(separator: ", "))\(names.count > 12 ? ", ..." : ""))")
        }
        return e
    }

    /// The named tensor converted to Float32.
    public func tensor(_ name: String) throws -> Tensor {
        let e = try entry(name)
        let t = Tensor(shape: e.shape)
        try read(e, into: t.data)
        return t
    }

    /// The named integer (or integral float) tensor as Int64 values.
    public func integers(_ name: String) throws -> [Int64] {
        let e = try entry(name)
        if e.dtype.isFloatingPoint {
            let t = try tensor(name)
            return try t.array.map { v in
                guard v == v.rounded(), abs(v) < 9e15 else {
                    throw TensorError("\(path): tensor '\(name)' must hold integers, found \(v)")
                }
                return Int64(v)
            }
        }
        return bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + dataStart + e.byteRange.lowerBound
            return (0..<e.count).map { i in
                e.dtype == .i64 ? Int64(littleEndian: (base + 8 * i).loadUnaligned(as: Int64.self))
                    : Int64(Int32(littleEndian: (base + 4 * i).loadUnaligned(as: Int32.self)))
            }
        }
    }

    /// Converts an entry to Float32 into `out` (which must hold `entry.count` values).
    public func read(_ e: SafeTensorsEntry, into out: UnsafeMutablePointer<Float>) throws {
        bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + dataStart + e.byteRange.lowerBound
            let n = e.count
            switch e.dtype {
            case .f32:
                memcpy(out, base, n * 4)
            case .f16:
                for i in 0..<n { out[i] = Float(Float16(bitPattern: (base + 2 * i).loadUnaligned(as: UInt16.self))) }
            case .bf16:
                for i in 0..<n { out[i] = Float(bitPattern: UInt32((base + 2 * i).loadUnaligned(as: UInt16.self)) << 16) }
            case .f64:
                for i in 0..<n { out[i] = Float((base + 8 * i).loadUnaligned(as: Double.self)) }
            case .i64:
                for i in 0..<n { out[i] = Float((base + 8 * i).loadUnaligned(as: Int64.self)) }
            case .i32:
                for i in 0..<n { out[i] = Float((base + 4 * i).loadUnaligned(as: Int32.self)) }
            }
        }
    }
}
