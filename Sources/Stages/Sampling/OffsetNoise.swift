/// A noise source for images numbered from `offset`: chunk-local image j
/// is global image offset + j.
public final class OffsetNoise: NoiseSource {
    let base: NoiseSource
    let offset: Int

    public init(_ base: NoiseSource, offset: Int) {
        self.base = base
        self.offset = offset
    }

    public func initial(image: Int, into out: UnsafeMutablePointer<Float>) throws {
        try base.initial(image: offset + image, into: out)
    }

    public func step(_ k: Int, image: Int, into out: UnsafeMutablePointer<Float>) throws {
        try base.step(k, image: offset + image, into: out)
    }
}
