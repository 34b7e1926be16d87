/// Images in the ADM evaluation format, as upstream sample_ddp.py makes
/// them: clamp(127.5·x + 128, 0, 255) truncated to uint8, H×W×3 (one-channel
/// images repeated to RGB); the .npz holds them as `arr_0`, uint8 N×H×W×3.
public enum NPZImages {
    /// One (C, H, W) image as H·W·3 bytes.
    public static func bytes(_ image: UnsafePointer<Float>, channels c: Int, height h: Int, width w: Int) -> [UInt8] {
        ImageWriter.rgb(image, channels: c, height: h, width: w) { ImageWriter.clampedByte(127.5 * $0 + 128) }
    }

    /// Writes all images of an (N, C, H, W) tensor as an .npz (temp + rename).
    public static func write(_ images: Tensor, to path: String) throws {
        let n = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3]
        let npz = try NPZWriter(path: path, shape: [n, h, w, 3])
        for i in 0..<n { try npz.append(bytes(images.pointer + i * c * h * w, channels: c, height: h, width: w)) }
        try npz.finish()
    }
}
