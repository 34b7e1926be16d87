/// What an activation dump records (see docs/dump-format.md).
public struct DumpConfig: Codable, Equatable, Sendable {
    /// Output path; each rank writes PATH with `.rankN` before the extension.
    public var path: String
    /// Steps: "all", "first", "last", "first,last", a list "0,5,9", a range "0-9", or "every:K".
    public var steps: String = "first,last"
    /// Images (global indices) to keep; nil = all.
    public var images: [Int]?
    /// Points: x_t, embed, c, block, block_internals, final, model_out, or "all".
    public var points: [String] = ["all"]
    public var compress: Bool = false

    public init(path: String) { self.path = path }
}
