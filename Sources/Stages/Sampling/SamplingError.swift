import Tensors

/// A sampling run that cannot work, or went wrong, named by step and image.
public enum SamplingError: Error, CustomStringConvertible, Equatable {
    /// DDPM over one step with learn_sigma interpolates towards the posterior
    /// log variance of step 0, which is log(0); upstream fails the same way.
    case oneStepLearnedVariance
    /// NaN or ±Inf first seen at `key` (step, point, image), flat index `index`.
    case nonFinite(key: DumpKey, timestep: Int, index: Int, value: Float, origin: String)

    public var description: String {
        switch self {
        case .oneStepLearnedVariance:
            return "steps: DDPM with 1 step cannot use this model's learned variance (the posterior variance of the only step is 0, its log -inf); use at least 2 steps, or sampler ddim"
        case let .nonFinite(key, timestep, index, value, origin):
            return "sampling went non-finite: \(value) at \(key) (timestep \(timestep), element \(index)), \(origin); rerun with --dump to see where it starts (docs/troubleshooting.md)"
        }
    }

    /// Throws `.nonFinite` if `values` hold NaN or ±Inf.
    static func check(_ values: UnsafePointer<Float>, count: Int, key: DumpKey, timestep: Int, origin: @autoclosure () -> String) throws {
        if let i = NonFinite.firstIndex(values, count: count) {
            throw nonFinite(key: key, timestep: timestep, index: i, value: values[i], origin: origin())
        }
    }
}
