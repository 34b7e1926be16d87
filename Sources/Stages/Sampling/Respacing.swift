import Foundation

/// Upstream `space_timesteps`: which of the original diffusion steps a
/// shortened schedule keeps.
public enum Respacing {
    /// - "ddimN": the stride-i range(0, T, i) with exactly N elements.
    /// - "a,b,c": T split into equal sections (earlier ones one longer when T
    ///   does not divide), section j taking `counts[j]` steps at a fractional
    ///   stride, each index rounded as Python's round() does (half to even).
    public static func timesteps(_ numTimesteps: Int, _ spec: String) throws -> [Int] {
        if spec.hasPrefix("ddim") {
            guard let count = Int(spec.dropFirst(4)), count > 0 else {
                throw DiTError("respacing '\(spec)': expected ddimN with N a positive integer")
            }
            for stride in 1..<max(numTimesteps, 2) where (numTimesteps + stride - 1) / stride == count {
                return Array(Swift.stride(from: 0, to: numTimesteps, by: stride))
            }
            throw DiTError("respacing '\(spec)': cannot create exactly \(count) steps with an integer stride of \(numTimesteps)")
        }
        let counts = try spec.split(separator: ",", omittingEmptySubsequences: false).map { part -> Int in
            guard let n = Int(part.trimmingCharacters(in: .whitespaces)), n >= 0 else {
                throw DiTError("respacing '\(spec)': '\(part)' is not a step count; use e.g. 250, 10,15,20 or ddim50")
            }
            return n
        }
        let sizePer = numTimesteps / counts.count, extra = numTimesteps % counts.count
        var start = 0
        var steps = Set<Int>()
        for (i, count) in counts.enumerated() {
            let size = sizePer + (i < extra ? 1 : 0)
            guard size >= count else {
                throw DiTError("respacing '\(spec)': cannot take \(count) steps from a section of \(size) (at most \(numTimesteps) steps in all)")
            }
            let stride = count <= 1 ? 1.0 : Double(size - 1) / Double(count - 1)
            var cur = 0.0
            for _ in 0..<count {
                steps.insert(start + Int(cur.rounded(.toNearestOrEven)))
                cur += stride
            }
            start += size
        }
        return steps.sorted()
    }
}
