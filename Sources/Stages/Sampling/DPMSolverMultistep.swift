import Foundation

/// How diffusers' schedulers pick N of the 1000 training timesteps
/// (`timestep_spacing`, Table 2 of arXiv:2305.08891).
public enum TimestepSpacing: String, CaseIterable, Sendable {
    /// round(linspace(0, 999, N + 1)), descending, the last (0) dropped.
    case linspace
    /// k · (1000 // (N + 1)) for k = N … 1.
    case leading
    /// round(arange(1000, 0, −1000 / N)) − 1.
    case trailing

    /// The timesteps of `set_timesteps(steps)`, descending, computed in
    /// float64 with numpy's rounding (half to even).
    public func timesteps(_ steps: Int, trainingSteps n: Int = GaussianDiffusion.trainingSteps) -> [Int] {
        switch self {
        case .linspace:
            // np.linspace: i · (stop − start) / num_intervals, the last value exactly stop.
            let step = Double(n - 1) / Double(steps)
            return (1...steps).reversed().map { $0 == steps ? n - 1 : Int((Double($0) * step).rounded(.toNearestOrEven)) }
        case .leading:
            let ratio = n / (steps + 1)
            return (1...steps).reversed().map { $0 * ratio }
        case .trailing:
            // np.arange(n, 0, −ratio): length ceil(n / ratio); element i = start + i · delta with
            // delta = (start − ratio) − start, as numpy fills a float range.
            let ratio = Double(n) / Double(steps), start = Double(n)
            let length = Int((start / ratio).rounded(.up)), delta = (start - ratio) - start
            return (0..<length).map { Int((start + Double($0) * delta).rounded(.toNearestOrEven)) - 1 }
        }
    }
}

/// diffusers' `DPMSolverMultistepScheduler` with its defaults — DPM-Solver++
/// (data prediction), order 2, midpoint, `lower_order_final`,
/// `final_sigmas_type="zero"`, epsilon prediction — over DiT's betas
/// (linear 1e-4 … 0.02, 1000 steps). Tables are computed in float32 as torch
/// computes them, and each update does the same float32 operations in the
/// same order as the scheduler's tensor expressions.
///
/// The update of step k needs the data prediction of step k − 1: the caller
/// keeps one `history` buffer per image (stage 0 does, per micro-batch).
public struct DPMSolverMultistep: Sendable {
    /// timesteps[k]: the model timestep of loop step k (k = 0 first).
    public let timesteps: [Int]
    /// σ_k = √((1 − ᾱ)/ᾱ) at timesteps[k], then 0.
    public let sigmas: [Float]
    let coefficients: [Coefficients]

    public var steps: Int { timesteps.count }

    /// The scalars of one step's update (0-dim float32 tensors in diffusers).
    struct Coefficients: Sendable {
        /// x0 = (x − sigmaS·eps) / alphaS.
        var sigmaS: Float, alphaS: Float
        /// x ← ratio·x − b·D0 [− c·D1, D1 = invR0·(m0 − m1)].
        var ratio: Float, b: Float, c: Float, invR0: Float
        var secondOrder: Bool
    }

    public init(steps: Int, spacing: TimestepSpacing) throws {
        guard steps >= 1 && steps <= GaussianDiffusion.trainingSteps else {
            throw DiTError("steps: must be in 1...\(GaussianDiffusion.trainingSteps) (got \(steps))")
        }
        let ts = spacing.timesteps(steps)
        if let repeated = zip(ts, ts.dropFirst()).first(where: { $0.0 <= $0.1 }) {
            throw DiTError("steps: \(steps) dpm-solver++ steps with \(spacing.rawValue) spacing repeat timestep \(repeated.1) (the solver would divide by zero); use fewer steps or another timestep_spacing")
        }
        let table = Self.trainingSigmas()
        let sigmas = ts.map { table[$0] } + [0]
        timesteps = ts
        self.sigmas = sigmas

        // _sigma_to_alpha_sigma_t and λ = log α − log σ, in float32.
        func alphaSigma(_ s: Float) -> (alpha: Float, sigma: Float, lambda: Float) {
            let alpha = 1 / (s * s + 1).squareRoot(), sigma = s * alpha
            return (alpha, sigma, logf(alpha) - logf(sigma))
        }
        let n = ts.count
        coefficients = (0..<n).map { k in
            let t = alphaSigma(sigmas[k + 1]), s0 = alphaSigma(sigmas[k])
            let h = t.lambda - s0.lambda
            let b = t.alpha * (expf(-h) - 1)
            // Order 1 on the first step (no history) and on the last
            // (final_sigmas_type "zero" forces lower_order_final).
            let second = k > 0 && k < n - 1
            var invR0: Float = 0
            if second {
                let s1 = alphaSigma(sigmas[k - 1])
                invR0 = 1 / ((s0.lambda - s1.lambda) / h)
            }
            return Coefficients(sigmaS: s0.sigma, alphaS: s0.alpha, ratio: t.sigma / s0.sigma, b: b, c: 0.5 * b,
                                invR0: invR0, secondOrder: second)
        }
    }

    /// σ(t) for t = 0..<1000 as the scheduler's float32 tensors hold it:
    /// betas = torch.linspace(1e-4, 0.02, 1000) (float32: ATen fills each
    /// half from its end, start + step·i as one fused multiply-add),
    /// ᾱ = cumprod(1 − β) (accumulated in double, stored as float),
    /// σ = ((1 − ᾱ)/ᾱ)^0.5. β and ᾱ match torch 2.13 bit for bit; σ is
    /// correctly rounded, torch's float32 sqrt is one ulp off in 4 of 1000.
    static func trainingSigmas() -> [Float] {
        let n = GaussianDiffusion.trainingSteps
        let start: Float = 0.0001, end: Float = 0.02
        let step = (end - start) / Float(n - 1)
        var cumprod = 1.0
        return (0..<n).map { i in
            let beta = i < n / 2 ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(n - 1 - i))
            cumprod *= Double(1 - beta)
            let ac = Float(cumprod)
            return ((1 - ac) / ac).squareRoot()
        }
    }

    /// One scheduler `step` in place over one image: `eps` holds its eps
    /// channels (a learn_sigma model's variance channels are not read, as
    /// DiTPipeline drops them), `history` the previous step's data
    /// prediction, replaced by this one's.
    public func step(x: UnsafeMutablePointer<Float>, eps: UnsafePointer<Float>, history: UnsafeMutablePointer<Float>,
                     count: Int, step k: Int) {
        let q = coefficients[k]
        for j in 0..<count {
            let m0 = (x[j] - q.sigmaS * eps[j]) / q.alphaS
            let first = q.ratio * x[j] - q.b * m0
            x[j] = q.secondOrder ? first - q.c * (q.invR0 * (m0 - history[j])) : first
            history[j] = m0
        }
    }
}
