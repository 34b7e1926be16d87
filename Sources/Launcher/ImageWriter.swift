import Foundation
import Tensors

/// PNG output with torchvision `save_image` semantics: values clamped to
/// [-1, 1], mapped to [0, 1], then `mul(255).add(0.5).clamp(0, 255)` to
/// uint8; one-channel images become RGB; grids use `make_grid` layout
/// (2-pixel black padding, `nrow` images per row).
enum ImageWriter {
    /// RGB bytes (H·W·3) of one (C, H, W) image, C = 1 or 3.
    static func rgb(_ image: UnsafePointer<Float>, channels: Int, height: Int, width: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: height * width * 3)
        let plane = height * width
        for p in 0..<plane {
            for k in 0..<3 {
                let v = image[(channels == 1 ? 0 : k) * plane + p]
                out[p * 3 + k] = toByte(v)
            }
        }
        return out
    }

    @inline(__always)
    static func toByte(_ v: Float) -> UInt8 {
        let unit = (min(max(v, -1), 1) - (-1)) / 2
        return UInt8(min(max(unit * 255 + 0.5, 0), 255))
    }

    /// `make_grid(images, nrow, padding=2, pad_value=0)` as RGB bytes.
    static func grid(_ images: Tensor, nrow: Int) -> (rgb: [UInt8], width: Int, height: Int) {
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

    /// A PNG file (8-bit RGB, stored deflate blocks: no zlib dependency).
    static func png(rgb: [UInt8], width: Int, height: Int) -> Data {
        var raw = [UInt8]()
        raw.reserveCapacity(height * (width * 3 + 1))
        for y in 0..<height {
            raw.append(0)
            raw.append(contentsOf: rgb[(y * width * 3)..<((y + 1) * width * 3)])
        }
        var zlib: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65535, raw.count - offset)
            let last: UInt8 = offset + n == raw.count ? 1 : 0
            zlib += [last, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            zlib += raw[offset..<(offset + n)]
            offset += n
        } while offset < raw.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in raw { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        zlib += bigEndian((b << 16) | a)

        var data = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        func chunk(_ type: String, _ body: [UInt8]) {
            data.append(contentsOf: bigEndian(UInt32(body.count)))
            let typed = Array(type.utf8) + body
            data.append(contentsOf: typed)
            data.append(contentsOf: bigEndian(crc32(typed)))
        }
        chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0])
        chunk("IDAT", zlib)
        chunk("IEND", [])
        return data
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
