/// An error in a checkpoint, a config or an input, with the thing named and
/// the fix said.
public struct DiTError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
