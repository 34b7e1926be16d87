/// Errors from tensor file formats and kernels; each names the file or tensor
/// and says how to fix the input.
public struct TensorError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
