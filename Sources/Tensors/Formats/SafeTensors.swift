import Foundation

/// The safetensors element types. Floating-point ones are read as Float32,
/// integer ones as Int64 (or Float32 when a float is asked for); BOOL and
/// the 8-bit floats are known, so a file holding them is indexed and named
/// correctly, but not read.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8"
    case bool = "BOOL", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"

    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: return 1
        case .f16, .bf16, .i16, .u16: return 2
        case .f32, .i32, .u32: return 4
        case .f64, .i64, .u64: return 8
        }
    }
    public var isFloatingPoint: Bool { [.f32, .f16, .bf16, .f64].contains(self) }
    public var isInteger: Bool { [.i64, .i32, .i16, .i8, .u64, .u32, .u16, .u8].contains(self) }
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
/// an 8-byte little-endian header length (at most 100 MB), a JSON header
/// with no duplicate keys, then a data area that the tensors cover exactly
/// (no gaps, overlaps or trailing bytes). Every length, offset and shape is
/// checked in overflow-safe arithmetic before use. The file is
/// memory-mapped; tensors are converted to Float32 on request, and a float
/// tensor holding NaN or ±Inf is refused with its first bad index.
public final class SafeTensorsFile: @unchecked Sendable {
    public static let maxHeaderBytes: UInt64 = 100_000_000
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
        do { try FileError.checkReadable(path) } catch let e as FileError { throw SafeTensorsError.file(e) }
        do {
            bytes = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw SafeTensorsError.file(.unreadable(path: path, reason: "the read failed"))
        }
        let count = bytes.count
        let headerLength: UInt64 = count >= 8 ? bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) } : 0
        let firstHeaderByte: UInt8? = count > 8 ? bytes[bytes.startIndex + 8] : nil
        guard count >= 8, headerLength <= UInt64(count - 8), headerLength >= 2, firstHeaderByte == UInt8(ascii: "{") else {
            if let kind = Self.pytorchKind(bytes) { throw SafeTensorsError.pytorchFile(path: path, kind: kind) }
            if count < 8 {
                throw SafeTensorsError.header(path: path, problem: "\(count) bytes, shorter than the 8-byte header length")
            }
            if headerLength > Self.maxHeaderBytes { throw SafeTensorsError.headerTooLarge(path: path, length: headerLength) }
            if headerLength > UInt64(count - 8) {
                throw SafeTensorsError.headerLength(path: path, length: headerLength, available: count - 8)
            }
            throw SafeTensorsError.header(path: path, problem: "it must be a JSON object starting with '{'")
        }
        guard headerLength <= Self.maxHeaderBytes else { throw SafeTensorsError.headerTooLarge(path: path, length: headerLength) }
        dataStart = 8 + Int(headerLength)
        let json: HeaderJSON
        do {
            json = try HeaderJSONParser.parse([UInt8](bytes[(bytes.startIndex + 8)..<(bytes.startIndex + dataStart)]))
        } catch let e as HeaderJSONParser.Failure {
            throw SafeTensorsError.header(path: path, problem: "not JSON: \(e.message)")
        }
        guard case .object(let members) = json else {
            throw SafeTensorsError.header(path: path, problem: "not a JSON object")
        }
        var entries: [String: SafeTensorsEntry] = [:]
        var metadata: [String: String] = [:]
        let dataLength = count - dataStart
        for (name, value) in members {
            if name == "__metadata__" {
                guard case .object(let pairs) = value else {
                    throw SafeTensorsError.header(path: path, problem: "__metadata__ must be an object of strings")
                }
                for (k, v) in pairs {
                    guard case .string(let s) = v else {
                        throw SafeTensorsError.header(path: path, problem: "__metadata__ value of '\(k)' is not a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            entries[name] = try Self.parseEntry(name: name, value: value, path: path, dataLength: dataLength)
        }
        try Self.checkCoverage(entries.values, path: path, dataLength: dataLength)
        self.entries = entries
        self.metadata = metadata
    }

    /// "a zip archive" or "a pickle" for files torch.save writes, else nil.
    static func pytorchKind(_ bytes: Data) -> String? {
        let head = [UInt8](bytes.prefix(4))
        if head == [0x50, 0x4B, 0x03, 0x04] { return "a zip archive" }
        if head.count >= 2, head[0] == 0x80, (2...5).contains(head[1]) { return "a pickle" }
        return nil
    }

    private static func parseEntry(name: String, value: HeaderJSON, path: String, dataLength: Int) throws -> SafeTensorsEntry {
        func bad(_ problem: String) -> SafeTensorsError { .entry(path: path, tensor: name, problem: problem) }
        guard case .object(let fields) = value else { throw bad("not an object with dtype, shape and data_offsets") }
        func field(_ key: String) -> HeaderJSON? { fields.first { $0.key == key }?.value }
        guard case .string(let dtypeName)? = field("dtype") else { throw bad("dtype is missing or not a string") }
        guard case .array(let shapeValues)? = field("shape") else { throw bad("shape is missing or not a list") }
        guard case .array(let offsetValues)? = field("data_offsets"), offsetValues.count == 2 else {
            throw bad("data_offsets is missing or not a list of two offsets")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw SafeTensorsError.unknownDType(path: path, tensor: name, dtype: dtypeName)
        }
        let shape = shapeValues.compactMap(\.nonNegativeInt)
        guard shape.count == shapeValues.count else {
            throw bad("shape \(shapeValues.map(Self.text)) must list non-negative integers")
        }
        guard let begin = offsetValues[0].nonNegativeInt, let end = offsetValues[1].nonNegativeInt else {
            throw bad("data_offsets \(offsetValues.map(Self.text)) must be two non-negative integers")
        }
        guard begin <= end else { throw bad("data_offsets [\(begin), \(end)] end before they begin") }
        var expected = dtype.byteSize
        for d in shape {
            let (p, overflow) = expected.multipliedReportingOverflow(by: d)
            guard !overflow else { throw bad("shape \(shape.shapeDescription) of \(dtypeName) needs more bytes than 64-bit sizes can count") }
            expected = p
        }
        guard end <= dataLength else {
            throw SafeTensorsError.outOfBounds(path: path, tensor: name, begin: begin, end: end, dataLength: dataLength)
        }
        guard end - begin == expected else {
            throw SafeTensorsError.sizeMismatch(path: path, tensor: name, shape: shape, dtype: dtypeName, needs: expected, occupies: end - begin)
        }
        return SafeTensorsEntry(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    private static func text(_ v: HeaderJSON) -> String {
        switch v {
        case .number(let s): return s
        case .string(let s): return "\"\(s)\""
        case .bool(let b): return String(b)
        case .null: return "null"
        case .array: return "[...]"
        case .object: return "{...}"
        }
    }

    /// The tensors must cover the data area exactly, in any order.
    private static func checkCoverage(_ entries: Dictionary<String, SafeTensorsEntry>.Values, path: String, dataLength: Int) throws {
        let sorted = entries.sorted { ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name) < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name) }
        var cursor = 0
        var previous: SafeTensorsEntry?
        for e in sorted {
            if e.byteRange.lowerBound < cursor, let p = previous {
                throw SafeTensorsError.overlap(path: path, first: p.name, second: e.name)
            }
            if e.byteRange.lowerBound > cursor {
                throw SafeTensorsError.gap(path: path, after: previous?.name, before: e.name, bytes: e.byteRange.lowerBound - cursor)
            }
            cursor = e.byteRange.upperBound
            previous = e
        }
        if cursor < dataLength { throw SafeTensorsError.trailingBytes(path: path, after: previous?.name, bytes: dataLength - cursor) }
    }

    public var names: [String] { entries.keys.sorted() }

    public func entry(_ name: String) throws -> SafeTensorsEntry {
        guard let e = entries[name] else { throw SafeTensorsError.noTensor(path: path, tensor: name, available: names) }
        return e
    }

    /// The named tensor converted to Float32.
    public func tensor(_ name: String) throws -> Tensor {
        let e = try entry(name)
        let t = Tensor(shape: e.shape)
        try read(e, into: t.data)
        return t
    }

    /// The named tensor's values, which must have an integer dtype.
    public func integers(_ name: String) throws -> [Int64] {
        let e = try entry(name)
        guard e.dtype.isInteger else {
            throw SafeTensorsError.wrongDType(path: path, tensor: name, dtype: "\(e.dtype.rawValue) with shape \(e.shape.shapeDescription)",
                                              allowed: "an integer dtype (I64 or I32)")
        }
        return bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + dataStart + e.byteRange.lowerBound
            return (0..<e.count).map { Self.integer(base, $0, e.dtype) }
        }
    }

    /// Element i of an integer tensor (U64 past Int64.max saturates).
    private static func integer(_ base: UnsafeRawPointer, _ i: Int, _ dtype: SafeTensorsDType) -> Int64 {
        switch dtype {
        case .i64: return Int64(littleEndian: (base + 8 * i).loadUnaligned(as: Int64.self))
        case .u64: return Int64(clamping: UInt64(littleEndian: (base + 8 * i).loadUnaligned(as: UInt64.self)))
        case .i32: return Int64(Int32(littleEndian: (base + 4 * i).loadUnaligned(as: Int32.self)))
        case .u32: return Int64(UInt32(littleEndian: (base + 4 * i).loadUnaligned(as: UInt32.self)))
        case .i16: return Int64(Int16(littleEndian: (base + 2 * i).loadUnaligned(as: Int16.self)))
        case .u16: return Int64(UInt16(littleEndian: (base + 2 * i).loadUnaligned(as: UInt16.self)))
        case .i8: return Int64((base + i).load(as: Int8.self))
        default: return Int64((base + i).load(as: UInt8.self))
        }
    }

    /// Converts an entry to Float32 into `out` (which must hold `entry.count`
    /// values); NaN or ±Inf in a float tensor is an error naming the index.
    public func read(_ e: SafeTensorsEntry, into out: UnsafeMutablePointer<Float>) throws {
        guard e.dtype.isFloatingPoint || e.dtype.isInteger else {
            throw SafeTensorsError.wrongDType(path: path, tensor: e.name, dtype: e.dtype.rawValue, allowed: "F32, F16, BF16, F64 or an integer dtype")
        }
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
            default:
                for i in 0..<n { out[i] = Float(Self.integer(base, i, e.dtype)) }
            }
        }
        if e.dtype.isFloatingPoint, let i = NonFinite.firstIndex(out, count: e.count) {
            throw SafeTensorsError.nonFinite(path: path, tensor: e.name, shape: e.shape, index: i, value: out[i])
        }
    }
}
