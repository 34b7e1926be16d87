import Foundation

/// How the model's variance is chosen (upstream `ModelVarType`).
public enum ModelVariance: Sendable {
    /// learn_sigma: the second half of the output channels interpolates
    /// between the clipped posterior log variance and log beta.
    case learnedRange
    /// Fixed: [posterior_variance[1], betas[1:]].
    case fixedLarge
}

/// Upstream's Gaussian diffusion (IDDPM) over a respaced schedule: tables in
/// Double as numpy computes them; each step reads its coefficients as Float
/// (as `_extract_into_tensor` does) and does all further math in Float.
public struct GaussianDiffusion: Sendable {
    public static let trainingSteps = 1000
    /// timestepMap[i]: the original timestep of respaced step i; the model is
    /// called with it.
    public let timestepMap: [Int]
    public let betas: [Double]
    public let alphasCumprod: [Double]
    public let alphasCumprodPrev: [Double]
    public let variance: ModelVariance
    let sqrtRecipAlphasCumprod: [Float]
    let sqrtRecipm1AlphasCumprod: [Float]
    let posteriorMeanCoef1: [Float]
    let posteriorMeanCoef2: [Float]
    let posteriorLogVarianceClipped: [Float]
    let logBetas: [Float]
    let fixedLargeLogVariance: [Float]

    public var steps: Int { timestepMap.count }

    /// 1000 linear betas from 1e-4 to 0.02 (`np.linspace`, float64), respaced.
    public init(respacing: String, learnSigma: Bool) throws {
        let n = Self.trainingSteps
        let base = (0..<n).map { 0.0001 + (0.02 - 0.0001) * Double($0) / Double(n - 1) }
        let keep = Set(try Respacing.timesteps(n, respacing))
        var last = 1.0, cumprod = 1.0
        var newBetas: [Double] = [], map: [Int] = []
        for (i, beta) in base.enumerated() {
            cumprod *= 1 - beta
            if keep.contains(i) {
                newBetas.append(1 - cumprod / last)
                last = cumprod
                map.append(i)
            }
        }
        self.init(betas: newBetas, timestepMap: map, variance: learnSigma ? .learnedRange : .fixedLarge)
    }

    public init(betas: [Double], timestepMap: [Int], variance: ModelVariance) {
        self.betas = betas
        self.timestepMap = timestepMap
        self.variance = variance
        var ac: [Double] = [], p = 1.0
        for b in betas { p *= 1 - b; ac.append(p) }
        alphasCumprod = ac
        alphasCumprodPrev = [1.0] + ac.dropLast()
        let prev = alphasCumprodPrev
        let n = betas.count
        sqrtRecipAlphasCumprod = ac.map { Float((1 / $0).squareRoot()) }
        sqrtRecipm1AlphasCumprod = ac.map { Float((1 / $0 - 1).squareRoot()) }
        let posteriorVariance = (0..<n).map { betas[$0] * (1 - prev[$0]) / (1 - ac[$0]) }
        posteriorLogVarianceClipped = n > 1
            ? ([posteriorVariance[1]] + posteriorVariance.dropFirst()).map { Float(log($0)) }
            : [Float(log(posteriorVariance[0]))]
        posteriorMeanCoef1 = (0..<n).map { Float(betas[$0] * prev[$0].squareRoot() / (1 - ac[$0])) }
        posteriorMeanCoef2 = (0..<n).map { Float((1 - prev[$0]) * (1 - betas[$0]).squareRoot() / (1 - ac[$0])) }
        logBetas = betas.map { Float(log($0)) }
        fixedLargeLogVariance = n > 1
            ? ([posteriorVariance[1]] + betas.dropFirst()).map { Float(log($0)) }
            : [Float(log(betas[0]))]
    }

    /// One image's (x_t, model output) → (pred_xstart, model log variance)
    /// for step i, element j: upstream `p_mean_variance` without the mean.
    @inline(__always)
    func predictXStart(x: Float, eps: Float, i: Int, clip: Bool) -> Float {
        let v = sqrtRecipAlphasCumprod[i] * x - sqrtRecipm1AlphasCumprod[i] * eps
        return clip ? min(max(v, -1), 1) : v
    }

    /// `p_sample`: x ← mean + [i > 0]·exp(½·log_variance)·noise, in place
    /// over one image. `modelOutput` has C eps channels, then (learn_sigma) C
    /// variance channels, each `count` values.
    public func ddpmStep(x: UnsafeMutablePointer<Float>, modelOutput: UnsafePointer<Float>, count: Int, step i: Int,
                         noise: UnsafePointer<Float>, clipDenoised: Bool = false) {
        let c1 = posteriorMeanCoef1[i], c2 = posteriorMeanCoef2[i]
        let minLog = posteriorLogVarianceClipped[i], maxLog = logBetas[i], fixed = fixedLargeLogVariance[i]
        let mask: Float = i != 0 ? 1 : 0
        for j in 0..<count {
            let xs = predictXStart(x: x[j], eps: modelOutput[j], i: i, clip: clipDenoised)
            let mean = c1 * xs + c2 * x[j]
            let logVariance: Float
            switch variance {
            case .learnedRange:
                let frac = (modelOutput[count + j] + 1) / 2
                logVariance = frac * maxLog + (1 - frac) * minLog
            case .fixedLarge:
                logVariance = fixed
            }
            x[j] = mean + mask * expf(0.5 * logVariance) * noise[j]
        }
    }

    /// `ddim_sample` with eta: x ← x0·√ᾱ_prev + √(1 − ᾱ_prev − σ²)·eps + [i > 0]·σ·noise.
    public func ddimStep(x: UnsafeMutablePointer<Float>, modelOutput: UnsafePointer<Float>, count: Int, step i: Int,
                         eta: Float, noise: UnsafePointer<Float>, clipDenoised: Bool = false) {
        let alphaBar = Float(alphasCumprod[i]), alphaBarPrev = Float(alphasCumprodPrev[i])
        let sigma = eta * ((1 - alphaBarPrev) / (1 - alphaBar)).squareRoot() * (1 - alphaBar / alphaBarPrev).squareRoot()
        let a = alphaBarPrev.squareRoot(), b = (1 - alphaBarPrev - sigma * sigma).squareRoot()
        let r = sqrtRecipAlphasCumprod[i], rm1 = sqrtRecipm1AlphasCumprod[i]
        let mask: Float = i != 0 ? 1 : 0
        for j in 0..<count {
            let xs = predictXStart(x: x[j], eps: modelOutput[j], i: i, clip: clipDenoised)
            let eps = (r * x[j] - xs) / rm1
            x[j] = xs * a + b * eps + mask * sigma * noise[j]
        }
    }
}
