/// Which eps channels classifier-free guidance mixes.
public enum GuidanceMode: String, Codable, CaseIterable, Sendable {
    /// Upstream `forward_with_cfg`: `model_out[:, :3]`, i.e. channels 0..2 of
    /// the output, whatever the channel count (for a 1-channel learn_sigma
    /// model that includes the variance channel; upstream does it, so do we).
    case upstream
    /// Every eps channel (the first in_channels channels), the textbook rule.
    case allChannels = "all-channels"

    public func guidedChannels(_ c: DiTConfig) -> Int {
        switch self {
        case .upstream: return min(3, c.outChannels)
        case .allChannels: return c.inChannels
        }
    }
}
