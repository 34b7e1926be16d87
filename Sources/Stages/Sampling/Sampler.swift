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
