/// A row-major Float32 array with a shape. Storage is owned, allocated once and
/// never moved, so kernels work on raw pointers without copy-on-write or
/// exclusivity checks in their inner loops.
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let count: Int
    public let data: UnsafeMutablePointer<Float>

    /// A zero-filled tensor.
    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.data = .allocate(capacity: max(count, 1))
        data.initialize(repeating: 0, count: max(count, 1))
    }

    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit { data.deallocate() }

    public var pointer: UnsafePointer<Float> { UnsafePointer(data) }
    public var buffer: UnsafeMutableBufferPointer<Float> { .init(start: data, count: count) }
    public var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }

    /// A copy holding the same values under another shape of equal size.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        let t = Tensor(shape: newShape)
        precondition(t.count == count, "cannot reshape \(shape) to \(newShape)")
        t.data.update(from: data, count: count)
        return t
    }

    /// Rows `range` of the leading dimension, copied.
    public func rows(_ range: Range<Int>) -> Tensor {
        let inner = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
        let t = Tensor(shape: [range.count] + shape.dropFirst())
        t.data.update(from: data + range.lowerBound * inner, count: range.count * inner)
        return t
    }

    public func fill(_ value: Float) { data.update(repeating: value, count: count) }

    public func copy(from other: Tensor) {
        precondition(other.count == count, "copy of \(other.shape) into \(shape)")
        data.update(from: other.data, count: count)
    }
}

extension Array where Element == Int {
    /// "(2, 3, 4)", as PyTorch prints shapes, for error messages.
    public var shapeDescription: String { "(" + map(String.init).joined(separator: ", ") + ")" }
}
