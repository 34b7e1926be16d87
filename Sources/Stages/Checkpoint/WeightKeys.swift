import Tensors

/// The one check of a weight file's tensors against those an architecture
/// needs (a DiT checkpoint, a VAE decoder), before any weight is loaded: each
/// present, of its shape and a weight dtype, and none left over. Errors name
/// the file, the key and both shapes.
enum WeightKeys {
    /// What a weight may be stored as; other dtypes are refused by name.
    static let dtypes: Set<SafeTensorsDType> = [.f32, .f16, .bf16]

    /// - Parameters:
    ///   - stored: the file's name for each canonical key it holds (tensors
    ///     the check skips left out).
    ///   - architecture: "a 4-block DiT of hidden size 96", for the messages.
    ///   - dtypeFix: appended to the allowed dtypes.
    ///   - unusedFix: what to do with the unused tensors (several or one).
    ///   - matches: whether a stored shape is the expected one.
    static func verify(_ file: SafeTensorsFile, expected: [(key: String, shape: [Int])], stored: [String: String],
                       architecture: String, dtypeFix: String = "", unusedFix: (_ several: Bool) -> String,
                       matches: ([Int], [Int]) -> Bool = (==)) throws {
        for (key, shape) in expected {
            guard let name = stored[key], let e = file.entries[name] else {
                throw DiTError("\(file.path): missing tensor '\(key)' (expected shape \(shape.shapeDescription) for \(architecture))")
            }
            guard matches(e.shape, shape) else {
                throw DiTError("\(file.path): tensor '\(name)' has shape \(e.shape.shapeDescription) but the model needs \(shape.shapeDescription) (\(architecture))")
            }
            guard dtypes.contains(e.dtype) else {
                throw SafeTensorsError.wrongDType(path: file.path, tensor: name, dtype: e.dtype.rawValue,
                                                  allowed: "F32, F16 or BF16 for a weight" + dtypeFix)
            }
        }
        let known = Set(expected.map(\.key))
        let unused = stored.filter { !known.contains($0.key) }.map(\.value).sorted()
        if !unused.isEmpty {
            throw DiTError("\(file.path): unexpected tensor\(unused.count > 1 ? "s" : "") \(unused.prefix(8).map { "'\($0)'" }.joined(separator: ", "))\(unused.count > 8 ? " and \(unused.count - 8) more" : "") not used by \(architecture); \(unusedFix(unused.count > 1))")
        }
    }
}
