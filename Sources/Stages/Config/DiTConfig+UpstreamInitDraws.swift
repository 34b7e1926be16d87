extension DiTConfig {
    /// The 32-bit words of torch's global CPU generator (mt19937) that
    /// upstream sample.py consumes between `torch.manual_seed(seed)` and
    /// `z = torch.randn(...)`: building `DiT(...)` (its `__init__` and
    /// `initialize_weights`). Loading the VAE draws nothing with diffusers ≥
    /// 0.33 (`from_pretrained` builds under `no_init_weights`), with or
    /// without accelerate; checked by tools/make_upstream_seed_fixture.py.
    ///
    /// Every nn.Linear and nn.Conv2d fills weight and bias on construction
    /// (kaiming-uniform: one word per float); `initialize_weights` redraws
    /// every Linear weight and the patch embedding's weight (xavier-uniform),
    /// and `normal_` fills the label table (also on construction) and the two
    /// timestep-MLP weights with ATen's normal_fill (n words, 16 more when n
    /// is not a multiple of 16). sample.py builds the label table with
    /// class_dropout_prob 0.1, so with its null row.
    public var upstreamInitDraws: Int {
        func linear(_ input: Int, _ output: Int) -> Int { 2 * input * output + output }
        func normalFill(_ n: Int) -> Int { n + (n % 16 == 0 ? 0 : 16) }
        let h = hiddenSize, f = Self.frequencyEmbeddingSize
        let patchEmbed = 2 * h * inChannels * patchSize * patchSize + h
        let tEmbedder = linear(f, h) + linear(h, h) + normalFill(h * f) + normalFill(h * h)
        let yEmbedder = 2 * normalFill((numClasses + 1) * h)
        let block = linear(h, 3 * h) + linear(h, h) + linear(h, mlpHidden) + linear(mlpHidden, h) + linear(h, 6 * h)
        let finalLayer = linear(h, patchSize * patchSize * outChannels) + linear(h, 2 * h)
        return patchEmbed + tEmbedder + yEmbedder + depth * block + finalLayer
    }
}
