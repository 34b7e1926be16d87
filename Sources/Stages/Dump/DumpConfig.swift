/// What an activation dump records (see docs/dump-format.md). Every key but
/// `path` may be left out and takes its default.
public struct DumpConfig: Codable, Equatable, Sendable {
    /// Output path; each rank writes PATH with `.rankN` before the extension.
    public var path: String
    /// Steps: "all", "first", "last", "first,last", a list "0,5,9", a range "0-9", or "every:K".
    public var steps: String = "first,last"
    /// Images (global indices) to keep; nil = all.
    public var images: [Int]?
    /// Points: x_t, embed, c, block, final, model_out, or "all".
    public var points: [String] = ["all"]
    /// gzip (level 4) the datasets.
    public var compress: Bool = false

    public init(path: String) { self.path = path }

    enum CodingKeys: String, CodingKey { case path, steps, images, points, compress }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func fail(_ key: CodingKeys, _ why: String) -> DiTError { DiTError("config key dump.\(key.rawValue): \(why)") }
        guard let path = try? c.decodeIfPresent(String.self, forKey: .path), !path.isEmpty else {
            throw fail(.path, "required (the HDF5 file to write, e.g. out/dump.h5)")
        }
        self.path = path
        // Steps may be written as a string, one integer or a list of integers.
        if c.contains(.steps) {
            if let s = try? c.decode(String.self, forKey: .steps) { steps = s }
            else if let k = try? c.decode(Int.self, forKey: .steps) { steps = String(k) }
            else if let list = try? c.decode([Int].self, forKey: .steps) { steps = list.map(String.init).joined(separator: ",") }
            else { throw fail(.steps, "expected a string such as \"first,last\", \"0-9\", \"every:10\" or a list of step indices") }
        }
        if c.contains(.images) {
            guard let list = try? c.decode([Int].self, forKey: .images) else {
                throw fail(.images, "expected a list of image indices, e.g. [0, 3]")
            }
            images = list
        }
        if c.contains(.points) {
            if let s = try? c.decode(String.self, forKey: .points) { points = DumpSelection.splitList(s) }
            else if let list = try? c.decode([String].self, forKey: .points) { points = list }
            else { throw fail(.points, "expected a list of point names, e.g. [block, final]") }
        }
        if c.contains(.compress) {
            guard let z = try? c.decode(Bool.self, forKey: .compress) else { throw fail(.compress, "expected true or false") }
            compress = z
        }
        _ = try DumpSelection.parsePoints(points)
        _ = try DumpSelection.StepSpec(steps)
    }
}
