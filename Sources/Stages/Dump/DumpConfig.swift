/// What an activation dump records (see docs/dump-format.md). Every key but
/// `path` may be left out and takes its default.
public struct DumpConfig: Encodable, Equatable, Sendable {
    /// Output path; each rank writes PATH with `.rankN` before the extension.
    public var path: String
    /// Steps: "all", "first", "last", "first,last", a list "0,5,9", a range "0-9", or "every:K".
    public var steps: String = "first,last"
    /// Images (global indices) to keep; nil = all.
    public var images: [Int]?
    /// Points: x_t, embed, c, block, block_internals, final, model_out, or "all" (all but block_internals).
    public var points: [String] = ["all"]
    /// gzip (level 4) the datasets.
    public var compress: Bool = false

    public init(path: String) { self.path = path }

    enum CodingKeys: String, CodingKey, CaseIterable { case path, steps, images, points, compress }

    /// The `dump:` section of an experiment file.
    public init(_ v: ConfigNode) throws {
        path = ""
        for (key, value) in try v.mapping(keys: CodingKeys.allCases.map(\.rawValue)) {
            switch CodingKeys(rawValue: key)! {
            case .path: path = try value.string()
            // Steps may be written as a string, one integer or a list of integers.
            case .steps:
                guard let list = try? value.list().map({ try $0.string() }), !list.isEmpty else {
                    throw value.fail("a string such as \"first,last\", \"0-9\", \"every:10\" or a list of step indices")
                }
                steps = list.joined(separator: ",")
            case .images: images = try value.optional { try $0.ints() }
            case .points: points = try value.list().map { try $0.string() }
            case .compress: compress = try value.bool()
            }
        }
        guard !path.isEmpty else {
            throw DiTError("config key \(v.child("path")): required (the HDF5 file to write, e.g. out/dump.h5)")
        }
        _ = try DumpSelection.parsePoints(points)
        _ = try DumpSelection.StepSpec(steps)
    }
}
