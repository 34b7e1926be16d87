/// The sampling loop a run takes: which timestep the model sees at each loop
/// step, and the update that follows.
public enum Sampler: Sendable {
    /// Upstream `p_sample_loop` over a respaced schedule.
    case ddpm(GaussianDiffusion)
    /// Upstream `ddim_sample_loop` with eta.
    case ddim(GaussianDiffusion, eta: Float)
    /// diffusers' `DPMSolverMultistepScheduler` (DPM-Solver++ 2M).
    case dpmSolver(DPMSolverMultistep)

    public static let names = ["ddpm", "ddim", "dpm-solver++"]

    public init(run: RunConfig, model: DiTConfig) throws {
        switch run.sampler {
        case "dpm-solver++":
            guard let spacing = TimestepSpacing(rawValue: run.timestepSpacing ?? TimestepSpacing.linspace.rawValue) else {
                throw DiTError("config key timestep_spacing: '\(run.timestepSpacing ?? "")' is not a spacing; use \(TimestepSpacing.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self = .dpmSolver(try DPMSolverMultistep(steps: run.steps, spacing: spacing))
        case "ddim":
            self = .ddim(try GaussianDiffusion(respacing: run.effectiveRespacing, learnSigma: model.learnSigma),
                         eta: Float(run.eta))
        default:
            self = .ddpm(try GaussianDiffusion(respacing: run.effectiveRespacing, learnSigma: model.learnSigma))
        }
    }

    /// timesteps[k]: the model timestep of loop step k (k = 0 first, the noisiest).
    public var timesteps: [Int] {
        switch self {
        case .ddpm(let d), .ddim(let d, _): return d.timestepMap.reversed()
        case .dpmSolver(let s): return s.timesteps
        }
    }

    /// No noise after z: DDIM with eta 0 and DPM-Solver++.
    public var isDeterministic: Bool {
        switch self {
        case .ddpm: return false
        case .ddim(_, let eta): return eta == 0
        case .dpmSolver: return true
        }
    }
}
