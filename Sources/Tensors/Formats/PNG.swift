import Foundation

/// 8-bit RGB PNG files, deflated by zlib. The chunks are a few lines by
/// hand rather than libpng: it would be a second C library around the same
/// zlib calls, and its simplified API sets neither the filter nor the level.
///
/// The encoder is deterministic: every row takes the Paeth filter and the
/// rows are deflated at zlib level 6 into IDAT chunks of up to 1 GiB. On the
/// images measured in docs/formats.md this is within 1.5 % of a per-row
/// adaptive filter choice, and level 9 saves under 1 % for four times the time.
public enum PNG {
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    static let level: Int32 = 6
    static let idatPiece = 1 << 30

    /// A PNG file of `rgb`, H·W·3 bytes row-major.
    public static func encode(rgb: [UInt8], width: Int, height: Int) -> Data {
        precondition(width > 0 && height > 0 && rgb.count == width * height * 3, "PNG.encode: \(rgb.count) bytes for \(width)×\(height) RGB")
        let deflated = Zlib.compress(paethRows(rgb, width: width, height: height), level: level)
        var data = Data(signature)
        func chunk(_ type: String, _ body: ArraySlice<UInt8>) {
            data.append(contentsOf: bigEndian(UInt32(body.count)))
            let typed = Array(type.utf8) + body
            data.append(contentsOf: typed)
            data.append(contentsOf: bigEndian(Zlib.crc32(0, typed)))
        }
        chunk("IHDR", ArraySlice(bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0]))
        for start in stride(from: 0, to: deflated.count, by: idatPiece) {
            chunk("IDAT", deflated[start..<min(start + idatPiece, deflated.count)])
        }
        chunk("IEND", [])
        return data
    }

    /// The pixels of an 8-bit RGB, non-interlaced PNG (what `encode` writes,
    /// with any of the five row filters, as other encoders write them). Every
    /// chunk's CRC is checked; a damaged file or another kind of PNG throws,
    /// saying what is wrong.
    public static func decode(_ data: Data) throws -> (rgb: [UInt8], width: Int, height: Int) {
        let b = [UInt8](data)
        guard b.count >= 8, b[0..<8].elementsEqual(signature) else { throw TensorError("not a PNG file (no PNG signature)") }
        func be32(_ o: Int) -> Int { Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3]) }
        var offset = 8, width = 0, height = 0, deflated: [UInt8] = []
        while offset + 12 <= b.count {
            let length = be32(offset), type = String(decoding: b[(offset + 4)..<(offset + 8)], as: UTF8.self)
            guard offset + 12 + length <= b.count else { throw TensorError("truncated PNG (the \(type) chunk runs past the end)") }
            let crc = b[(offset + 4)..<(offset + 8 + length)].withUnsafeBytes { Zlib.crc32(0, $0) }
            guard crc == UInt32(be32(offset + 8 + length)) else { throw TensorError("damaged PNG (bad CRC in the \(type) chunk)") }
            let body = b[(offset + 8)..<(offset + 8 + length)]
            switch type {
            case "IHDR":
                guard length == 13 else { throw TensorError("damaged PNG (IHDR of \(length) bytes)") }
                width = be32(offset + 8); height = be32(offset + 12)
                guard Array(body.suffix(5)) == [8, 2, 0, 0, 0], width > 0, height > 0 else {
                    throw TensorError("a PNG other than 8-bit RGB non-interlaced (IHDR \(Array(body.suffix(5))))")
                }
            case "IDAT": deflated += body
            case "IEND":
                guard width > 0 else { throw TensorError("damaged PNG (no IHDR chunk)") }
                let raw = try Zlib.uncompress(deflated, count: height * (width * 3 + 1))
                return (try unfilter(raw, width: width, height: height), width, height)
            default: break
            }
            offset += 12 + length
        }
        throw TensorError("truncated PNG (no IEND chunk)")
    }

    /// The filtered scanlines: each row is filter type 4 (Paeth) and the
    /// differences from the Paeth predictor of its left, upper and upper-left
    /// bytes (PNG spec §9.4; bytes outside the image are 0).
    static func paethRows(_ rgb: [UInt8], width: Int, height: Int) -> [UInt8] {
        let row = width * 3
        var raw = [UInt8](repeating: 4, count: height * (row + 1))
        rgb.withUnsafeBufferPointer { p in
            raw.withUnsafeMutableBufferPointer { out in
                for y in 0..<height {
                    let cur = y * row, up = cur - row, dst = y * (row + 1) + 1
                    for x in 0..<row {
                        let a = x >= 3 ? p[cur + x - 3] : 0, b = y > 0 ? p[up + x] : 0
                        let c = x >= 3 && y > 0 ? p[up + x - 3] : 0
                        out[dst + x] = p[cur + x] &- paeth(a, b, c)
                    }
                }
            }
        }
        return raw
    }

    /// The pixels of filtered scanlines of any of the five filter types.
    static func unfilter(_ raw: [UInt8], width: Int, height: Int) throws -> [UInt8] {
        let row = width * 3
        var rgb = [UInt8](repeating: 0, count: height * row)
        try raw.withUnsafeBufferPointer { r in
            try rgb.withUnsafeMutableBufferPointer { out in
                for y in 0..<height {
                    let src = y * (row + 1), cur = y * row, up = cur - row, filter = r[src]
                    guard filter <= 4 else { throw TensorError("damaged PNG (row \(y) has filter type \(filter))") }
                    for x in 0..<row {
                        let a = x >= 3 ? out[cur + x - 3] : 0, b = y > 0 ? out[up + x] : 0
                        let c = x >= 3 && y > 0 ? out[up + x - 3] : 0
                        let predicted: UInt8
                        switch filter {
                        case 0: predicted = 0
                        case 1: predicted = a
                        case 2: predicted = b
                        case 3: predicted = UInt8((Int(a) + Int(b)) / 2)
                        default: predicted = paeth(a, b, c)
                        }
                        out[cur + x] = r[src + 1 + x] &+ predicted
                    }
                }
            }
        }
        return rgb
    }

    @inline(__always)
    static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let p = Int(a) + Int(b) - Int(c), pa = abs(p - Int(a)), pb = abs(p - Int(b)), pc = abs(p - Int(c))
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
}
