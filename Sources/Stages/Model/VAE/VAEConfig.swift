/// The AutoencoderKL decoder's architecture, with diffusers' config names.
/// Read from a weight file's shapes by `VAEWeights`; only `normNumGroups`
/// (which no shape shows) is given, 32 for every released SD VAE.
public struct VAEConfig: Equatable, Sendable {
    /// latent_channels: 4 for SD-VAE.
    public var latentChannels: Int
    /// block_out_channels, encoder order: (128, 256, 512, 512) for SD-VAE.
    public var blockOutChannels: [Int]
    /// layers_per_block: the decoder's up blocks have one more ResNet each.
    public var layersPerBlock: Int
    /// out_channels: 3 for RGB.
    public var outChannels: Int
    public var normNumGroups: Int
    /// GroupNorm eps in every ResNet, the attention and conv_norm_out.
    public static let eps: Float = 1e-6

    public init(latentChannels: Int, blockOutChannels: [Int], layersPerBlock: Int, outChannels: Int, normNumGroups: Int = 32) {
        self.latentChannels = latentChannels
        self.blockOutChannels = blockOutChannels
        self.layersPerBlock = layersPerBlock
        self.outChannels = outChannels
        self.normNumGroups = normNumGroups
    }

    /// Pixels per latent along each axis: every up block but the last doubles the size.
    public var scaleFactor: Int { 1 << (blockOutChannels.count - 1) }

    /// (in, out) channels of up block i: block_out_channels reversed, each
    /// block taking the previous one's output.
    public func upBlockChannels(_ i: Int) -> (in: Int, out: Int) {
        let reversed = Array(blockOutChannels.reversed())
        return (reversed[max(0, i - 1)], reversed[i])
    }

    /// Every GroupNorm's channels must split into normNumGroups groups.
    public func validate() throws {
        guard !blockOutChannels.isEmpty, layersPerBlock >= 0, latentChannels > 0, outChannels > 0 else {
            throw DiTError("VAE config \(self) is empty or negative")
        }
        guard normNumGroups > 0 else { throw DiTError("VAE norm_num_groups must be positive (got \(normNumGroups))") }
        if let bad = blockOutChannels.first(where: { $0 <= 0 || $0 % normNumGroups != 0 }) {
            throw DiTError("VAE block_out_channels \(blockOutChannels) has \(bad), which does not split into norm_num_groups \(normNumGroups) groups; every block width must be a positive multiple of it")
        }
    }
}
