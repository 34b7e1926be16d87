extension RunConfig {
    /// Ranks one replica uses: cfg_parallel × sequence_parallel × stages.
    public var ranksPerReplica: Int { cfgParallel * sequenceParallel * stages }

    /// The world size this layout needs: replicas × cfg_parallel × sequence_parallel × stages.
    public var worldSize: Int { replicas * ranksPerReplica }

    /// cfg_parallel and sequence_parallel against the guidance and the model.
    func validateParallel(model: DiTConfig?) throws {
        guard [1, 2].contains(cfgParallel) else {
            throw DiTError("config key cfg_parallel: must be 1 or 2 (got \(cfgParallel)); 2 runs the conditional and the null-class rows on two rank groups")
        }
        if cfgParallel == 2 && !usesGuidance {
            throw DiTError("config key cfg_parallel: 2 needs classifier-free guidance but cfg_scale is 1 (no null-class rows to split off); set cfg_scale ≠ 1 or cfg_parallel: 1")
        }
        guard sequenceParallel >= 1 else {
            throw DiTError("config key sequence_parallel: must be ≥ 1 (got \(sequenceParallel))")
        }
        if cfgParallel * sequenceParallel > 1 && dump != nil {
            throw DiTError("config key dump: activation dumps record whole rows; run the dump with cfg_parallel: 1 and sequence_parallel: 1 (the samples are the same)")
        }
        guard let model, sequenceParallel > 1 else { return }
        let allowed = (1...model.numHeads).filter { model.numHeads % $0 == 0 && model.tokens % $0 == 0 }
        if model.numHeads % sequenceParallel != 0 {
            throw DiTError("config key sequence_parallel: \(sequenceParallel) does not divide the model's \(model.numHeads) attention heads; use one of \(allowed.map(String.init).joined(separator: ", "))")
        }
        if model.tokens % sequenceParallel != 0 {
            throw DiTError("config key sequence_parallel: \(sequenceParallel) does not divide the model's \(model.tokens) tokens; use one of \(allowed.map(String.init).joined(separator: ", "))")
        }
    }
}
