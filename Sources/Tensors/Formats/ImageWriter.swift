/// Images as torchvision `save_image` makes them: values clamped to
/// [-1, 1], mapped to [0, 1], then `mul(255).add(0.5).clamp(0, 255)` to
/// uint8; one-channel images become RGB; grids use `make_grid` layout
/// (2-pixel black padding, `nrow` images per row). `PNG` writes the bytes.
public enum ImageWriter {
    /// RGB bytes (H·W·3) of one (C, H, W) image, C = 1 or 3, each value
    /// converted by `byte` (save_image's `toByte` unless told otherwise).
    @inline(__always)
    public static func rgb(_ image: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                           byte: (Float) -> UInt8 = toByte) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: height * width * 3)
        let plane = height * width
        for p in 0..<plane {
            for k in 0..<3 {
                out[p * 3 + k] = byte(image[(channels == 1 ? 0 : k) * plane + p])
            }
        }
        return out
    }

    @inline(__always)
    public static func toByte(_ v: Float) -> UInt8 {
        let unit = (min(max(v, -1), 1) - (-1)) / 2
        return clampedByte(unit * 255 + 0.5)
    }

    /// v clamped to [0, 255] and truncated; NaN (which min/max pass
    /// through, and UInt8() would trap on) becomes 0, as torch's uint8 cast.
    @inline(__always)
    public static func clampedByte(_ v: Float) -> UInt8 {
        v.isNaN ? 0 : UInt8(min(max(v, 0), 255))
    }

    /// `make_grid(images, nrow, padding=2, pad_value=0)` as RGB bytes.
    public static func grid(_ images: Tensor, nrow: Int) -> (rgb: [UInt8], width: Int, height: Int) {
        let n = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3], pad = 2
        let cols = min(nrow, n), rows = (n + cols - 1) / cols
        let gw = cols * (w + pad) + pad, gh = rows * (h + pad) + pad
        var out = [UInt8](repeating: 0, count: gw * gh * 3)
        for i in 0..<n {
            let tile = rgb(images.pointer + i * c * h * w, channels: c, height: h, width: w)
            let y0 = (i / cols) * (h + pad) + pad, x0 = (i % cols) * (w + pad) + pad
            for y in 0..<h {
                let dst = ((y0 + y) * gw + x0) * 3
                out.replaceSubrange(dst..<(dst + w * 3), with: tile[(y * w * 3)..<((y + 1) * w * 3)])
            }
        }
        return (out, gw, gh)
    }
}
