/// An attribute value of an output file (dumps, samples.h5): what the HDF5
/// writer stores typed (numbers as numbers) and the reader gives back.
public enum AttributeValue: Equatable, Sendable, CustomStringConvertible {
    case string(String), int(Int), ints([Int]), double(Double), doubles([Double])

    public var description: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .ints(let l): return "[" + l.map(String.init).joined(separator: ", ") + "]"
        case .double(let d): return String(d)
        case .doubles(let l): return "[" + l.map { String($0) }.joined(separator: ", ") + "]"
        }
    }
    public var int: Int? { if case .int(let i) = self { return i }; return nil }
    public var ints: [Int]? {
        switch self { case .ints(let l): return l; case .int(let i): return [i]; default: return nil }
    }
}
