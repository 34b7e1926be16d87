/// What is wrong with a safetensors file, by case, carrying the file and the
/// tensor it names; `description` says it in words with the fix.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case file(FileError)
    /// A torch.save file (zip, or a legacy pickle) passed as safetensors.
    case pytorchFile(path: String, kind: String)
    case headerLength(path: String, length: UInt64, available: Int)
    case headerTooLarge(path: String, length: UInt64)
    case header(path: String, problem: String)
    case entry(path: String, tensor: String, problem: String)
    case unknownDType(path: String, tensor: String, dtype: String)
    case outOfBounds(path: String, tensor: String, begin: Int, end: Int, dataLength: Int)
    case sizeMismatch(path: String, tensor: String, shape: [Int], dtype: String, needs: Int, occupies: Int)
    case overlap(path: String, first: String, second: String)
    case gap(path: String, after: String?, before: String, bytes: Int)
    case trailingBytes(path: String, after: String?, bytes: Int)
    case noTensor(path: String, tensor: String, available: [String])
    case wrongDType(path: String, tensor: String, dtype: String, allowed: String)
    case notIntegers(path: String, tensor: String, value: Float)
    case nonFinite(path: String, tensor: String, shape: [Int], index: Int, value: Float)

    public var description: String {
        switch self {
        case .file(let e): return e.description
        case let .pytorchFile(path, kind):
            return "\(path): this is a PyTorch file (\(kind) written by torch.save), not safetensors; convert it with: python3 tools/convert_checkpoint.py \(path) OUT.safetensors"
        case let .headerLength(path, length, available):
            return "\(path): not a safetensors file, or truncated (header length \(length) but the file has \(available) bytes after it)"
        case let .headerTooLarge(path, length):
            return "\(path): not a safetensors file (header length \(length) bytes exceeds the format's limit of 100 MB)"
        case let .header(path, problem):
            return "\(path): not a safetensors file (its header is not valid: \(problem))"
        case let .entry(path, tensor, problem):
            return "\(path): header entry '\(tensor)': \(problem); the file is corrupt (rewrite it with safetensors or tools/convert_checkpoint.py)"
        case let .unknownDType(path, tensor, dtype):
            return "\(path): tensor '\(tensor)' has dtype \(dtype), which is not a safetensors dtype we read (F32, F16, BF16, F64, I64, I32, ...); convert the file to float32"
        case let .outOfBounds(path, tensor, begin, end, dataLength):
            return "\(path): tensor '\(tensor)' lies at bytes \(begin)..<\(end) but the data area has \(dataLength) bytes; the file is truncated or corrupt"
        case let .sizeMismatch(path, tensor, shape, dtype, needs, occupies):
            return "\(path): tensor '\(tensor)' of shape \(shape.shapeDescription) and dtype \(dtype) needs \(needs) bytes but occupies \(occupies)"
        case let .overlap(path, first, second):
            return "\(path): tensors '\(first)' and '\(second)' overlap in the data area; the file is corrupt"
        case let .gap(path, after, before, bytes):
            return "\(path): \(bytes) unindexed bytes \(after.map { "between tensors '\($0)' and" } ?? "before tensor") '\(before)'; the format requires the data area to be fully indexed (the file is corrupt)"
        case let .trailingBytes(path, after, bytes):
            return "\(path): \(bytes) unindexed bytes at the end of the data area\(after.map { " after tensor '\($0)'" } ?? ""); the file is truncated, padded or corrupt"
        case let .noTensor(path, tensor, available):
            return "\(path): no tensor named '\(tensor)' (the file has: \(available.prefix(12).joined(separator: ", "))\(available.count > 12 ? ", ..." : ""))"
        case let .wrongDType(path, tensor, dtype, allowed):
            return "\(path): tensor '\(tensor)' has dtype \(dtype); it must be \(allowed)"
        case let .notIntegers(path, tensor, value):
            return "\(path): tensor '\(tensor)' must hold integers, found \(value)"
        case let .nonFinite(path, tensor, shape, index, value):
            return "\(path): tensor '\(tensor)' \(shape.shapeDescription) holds \(value) at \(Self.position(index, shape)); the file is damaged or came from a diverged run"
        }
    }

    /// Flat index → "[i, j, k] (element n)".
    static func position(_ index: Int, _ shape: [Int]) -> String {
        var rest = index, coords: [Int] = []
        for d in shape.reversed() where d > 0 { coords.insert(rest % d, at: 0); rest /= d }
        return "[\(coords.map(String.init).joined(separator: ", "))] (element \(index))"
    }
}
