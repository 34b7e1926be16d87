import Foundation
import Tensors

/// PNG output with torchvision `save_image` semantics: values clamped to
/// [-1, 1], mapped to [0, 1], then `mul(255).add(0.5).clamp(0, 255)` to
/// uint8; one-channel images become RGB; grids use `make_grid` layout
/// (2-pixel black padding, `nrow` images per row).
enum ImageWriter {
    /// RGB bytes (H·W·3) of one (C, H, W) image, C = 1 or 3, each value
    /// converted by `byte` (save_image's `toByte` unless told otherwise).
    @inline(__always)
    static func rgb(_ image: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
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
    static func toByte(_ v: Float) -> UInt8 {
        let unit = (min(max(v, -1), 1) - (-1)) / 2
        return clampedByte(unit * 255 + 0.5)
    }

    /// v clamped to [0, 255] and truncated; NaN (which min/max pass
    /// through, and UInt8() would trap on) becomes 0, as torch's uint8 cast.
    @inline(__always)
    static func clampedByte(_ v: Float) -> UInt8 {
        v.isNaN ? 0 : UInt8(min(max(v, 0), 255))
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
            data.append(contentsOf: bigEndian(CRC32.checksum(typed)))
        }
        chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0])
        chunk("IDAT", zlib)
        chunk("IEND", [])
        return data
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    /// Reads back a PNG written by `png(rgb:width:height:)` (8-bit RGB,
    /// filter 0, stored deflate blocks); nil for any other PNG, a damaged
    /// file or a checksum mismatch.
    static func readStoredPNG(_ data: Data) -> (rgb: [UInt8], width: Int, height: Int)? {
        let b = [UInt8](data)
        guard b.count > 8, b[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { return nil }
        func be32(_ o: Int) -> Int { Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3]) }
        var offset = 8, width = 0, height = 0, zlib: [UInt8] = []
        while offset + 12 <= b.count {
            let length = be32(offset), type = String(decoding: b[(offset + 4)..<(offset + 8)], as: UTF8.self)
            guard offset + 12 + length <= b.count,
                  CRC32.checksum(Array(b[(offset + 4)..<(offset + 8 + length)])) == UInt32(be32(offset + 8 + length)) else { return nil }
            let body = b[(offset + 8)..<(offset + 8 + length)]
            switch type {
            case "IHDR":
                guard length == 13, Array(body.suffix(5)) == [8, 2, 0, 0, 0] else { return nil }
                width = be32(offset + 8); height = be32(offset + 12)
            case "IDAT": zlib += body
            case "IEND":
                guard width > 0, height > 0, zlib.count >= 6, zlib[0] == 0x78 else { return nil }
                var raw: [UInt8] = [], p = 2, last = false
                raw.reserveCapacity(height * (width * 3 + 1))
                while !last {
                    guard p + 5 <= zlib.count, zlib[p] & 0b110 == 0 else { return nil }   // stored blocks only
                    last = zlib[p] & 1 == 1
                    let n = Int(zlib[p + 1]) | Int(zlib[p + 2]) << 8
                    guard p + 5 + n <= zlib.count else { return nil }
                    raw += zlib[(p + 5)..<(p + 5 + n)]
                    p += 5 + n
                }
                let stride = width * 3 + 1
                guard raw.count == height * stride else { return nil }
                var rgb = [UInt8](); rgb.reserveCapacity(width * height * 3)
                for y in 0..<height {
                    guard raw[y * stride] == 0 else { return nil }
                    rgb += raw[(y * stride + 1)..<((y + 1) * stride)]
                }
                return (rgb, width, height)
            default: break
            }
            offset += 12 + length
        }
        return nil
    }
}
