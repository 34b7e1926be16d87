extension RunConfig {
    /// Upstream `timestep_respacing` of a ddpm or ddim run. `--sampler ddim
    /// --steps N` takes `ddimN` (stride 1000/N: t = 900, 800, …, 0 for N = 10),
    /// the IDDPM/ADM `--use_ddim` convention and diffusers' DDIM "leading"
    /// spacing, when 1000 splits into N steps by an integer stride, else N.
    /// For dpm-solver++, which does not respace, its timestep spacing.
    public var effectiveRespacing: String {
        if sampler == "dpm-solver++" { return timestepSpacing ?? TimestepSpacing.linspace.rawValue }
        if let respacing { return respacing }
        if sampler == "ddim", ddimRespacingExists { return "ddim\(steps)" }
        return String(steps)
    }

    var ddimRespacingExists: Bool {
        (try? Respacing.timesteps(GaussianDiffusion.trainingSteps, "ddim\(steps)")) != nil
    }

    /// Why a ddim run does not take t = 1000/N·k, when it does not.
    public var respacingNote: String? {
        guard sampler == "ddim", respacing == nil, !ddimRespacingExists else { return nil }
        return "ddim with \(steps) steps: 1000 does not split into \(steps) steps of an integer stride (no respacing ddim\(steps)), so the steps are spread evenly (respacing \(steps))"
    }

    /// dpm-solver++'s timestep spacing (default linspace), checked.
    func dpmTimestepSpacing() throws -> TimestepSpacing {
        guard let spacing = TimestepSpacing(rawValue: timestepSpacing ?? TimestepSpacing.linspace.rawValue) else {
            throw DiTError("config key timestep_spacing: '\(timestepSpacing ?? "")' is not a spacing; use \(TimestepSpacing.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return spacing
    }

    /// The sampler's keys, checked together: options of one sampler given to
    /// another are errors, not silently ignored.
    func validateSamplerOptions() throws {
        if sampler == "dpm-solver++" {
            func conflict(_ key: String, _ why: String) -> DiTError {
                DiTError("config key \(key): \(why) — not with sampler dpm-solver++, which follows diffusers' DPMSolverMultistepScheduler; remove \(key) or use ddpm/ddim")
            }
            if respacing != nil { throw conflict("respacing", "upstream respacing picks DDPM/DDIM steps; dpm-solver++ picks its \(steps) steps by timestep_spacing") }
            if eta != 0 { throw conflict("eta", "eta \(eta) adds DDIM noise") }
            if clipDenoised { throw conflict("clip_denoised", "clipping x0 is upstream's p_mean_variance option") }
            _ = try DPMSolverMultistep(steps: steps, spacing: try dpmTimestepSpacing())
        } else {
            if let s = timestepSpacing {
                throw DiTError("config key timestep_spacing: '\(s)' is diffusers' spacing for sampler dpm-solver++; \(sampler) takes respacing (e.g. ddim25 or 10,15,20)")
            }
            // The respacing must be realisable (e.g. ddimN needs an integer stride).
            _ = try Respacing.timesteps(GaussianDiffusion.trainingSteps, effectiveRespacing)
        }
    }
}

extension Sampler {
    /// The sampler a validated run config names.
    public init(run: RunConfig, model: DiTConfig) throws {
        switch run.sampler {
        case "dpm-solver++":
            self = .dpmSolver(try DPMSolverMultistep(steps: run.steps, spacing: try run.dpmTimestepSpacing()))
        case "ddim":
            self = .ddim(try GaussianDiffusion(respacing: run.effectiveRespacing, learnSigma: model.learnSigma),
                         eta: Float(run.eta))
        default:
            self = .ddpm(try GaussianDiffusion(respacing: run.effectiveRespacing, learnSigma: model.learnSigma))
        }
    }
}
