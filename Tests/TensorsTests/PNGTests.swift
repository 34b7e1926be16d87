import Foundation
import XCTest
@testable import Tensors

/// The PNG encoder's bytes checked chunk by chunk with zlib (CRCs, the
/// inflated rows against a naive Paeth filter), and the decoder on every
/// filter type, on stored deflate blocks (what dit wrote before it
/// compressed) and on damaged files. PIL's reading is checked end to end by
/// scripts/test-cli.sh.
final class PNGTests: XCTestCase {
    /// Smooth gradients with noise: something each filter type predicts differently.
    func image(width: Int, height: Int) -> [UInt8] {
        (0..<(width * height * 3)).map { i in
            let x = (i / 3) % width, y = i / 3 / width, k = i % 3
            return UInt8(truncatingIfNeeded: 3 * x + 5 * y + 80 * k + (i * 7919) % 11)
        }
    }

    /// PNG spec §9 filters on 2-D indices, the naive twin of PNG.paethRows.
    func filtered(_ rgb: [UInt8], width w: Int, height h: Int, type: (Int) -> Int) -> [UInt8] {
        func at(_ x: Int, _ y: Int) -> Int { x < 0 || y < 0 ? 0 : Int(rgb[(y * w * 3) + x]) }
        var out: [UInt8] = []
        for y in 0..<h {
            let f = type(y)
            out.append(UInt8(f))
            for x in 0..<(w * 3) {
                let a = at(x - 3, y), b = at(x, y - 1), c = at(x - 3, y - 1)
                let p = a + b - c
                let paeth = abs(p - a) <= abs(p - b) && abs(p - a) <= abs(p - c) ? a : abs(p - b) <= abs(p - c) ? b : c
                let predicted = [0, a, b, (a + b) / 2, paeth][f]
                out.append(UInt8((at(x, y) - predicted + 256) % 256))
            }
        }
        return out
    }

    func chunks(_ png: Data) -> [(type: String, body: [UInt8], crc: UInt32)] {
        let b = [UInt8](png)
        func be32(_ o: Int) -> Int { Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3]) }
        var out: [(String, [UInt8], UInt32)] = [], o = 8
        while o + 12 <= b.count {
            let n = be32(o)
            out.append((String(decoding: b[(o + 4)..<(o + 8)], as: UTF8.self), Array(b[(o + 8)..<(o + 8 + n)]), UInt32(be32(o + 8 + n))))
            o += 12 + n
        }
        XCTAssertEqual(o, b.count, "the chunks end where the file ends")
        return out
    }

    func testEncodedBytesAreAValidPNG() throws {
        for (w, h) in [(1, 1), (7, 5), (33, 17), (64, 64)] {
            let rgb = image(width: w, height: h)
            let png = PNG.encode(rgb: rgb, width: w, height: h)
            XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            let c = chunks(png)
            XCTAssertEqual(c.map(\.type), ["IHDR", "IDAT", "IEND"])
            for chunk in c { XCTAssertEqual(Zlib.crc32(0, Array(chunk.type.utf8) + chunk.body), chunk.crc, "\(chunk.type) CRC") }
            XCTAssertEqual(c[0].body, PNG.bigEndian(UInt32(w)) + PNG.bigEndian(UInt32(h)) + [8, 2, 0, 0, 0])
            let rows = try Zlib.uncompress(c[1].body, count: h * (3 * w + 1))
            XCTAssertEqual(rows, filtered(rgb, width: w, height: h) { _ in 4 }, "\(w)×\(h): Paeth rows")
            let back = try PNG.decode(png)
            XCTAssertEqual(back.width, w); XCTAssertEqual(back.height, h)
            XCTAssertEqual(back.rgb, rgb)
        }
        let big = image(width: 64, height: 64)
        XCTAssertLessThan(PNG.encode(rgb: big, width: 64, height: 64).count, big.count / 2, "deflated, not stored")
    }

    /// Rows of every filter type, deflated (level 6) or stored (level 0: the
    /// PNGs of dit before it compressed, which a resumed bulk run reads back).
    func testDecodesEveryFilterTypeAndStoredBlocks() throws {
        let (w, h) = (9, 11), rgb = image(width: w, height: h)
        for (level, type) in [(Int32(6), { (y: Int) in y % 5 }), (0, { _ in 0 })] {
            let idat = Zlib.compress(filtered(rgb, width: w, height: h, type: type), level: level)
            var png = Data(PNG.signature)
            for (t, body) in [("IHDR", PNG.bigEndian(UInt32(w)) + PNG.bigEndian(UInt32(h)) + [8, 2, 0, 0, 0]),
                              ("IDAT", idat), ("IEND", [])] {
                png.append(contentsOf: PNG.bigEndian(UInt32(body.count)) + Array(t.utf8) + body)
                png.append(contentsOf: PNG.bigEndian(Zlib.crc32(0, Array(t.utf8) + body)))
            }
            XCTAssertEqual(try PNG.decode(png).rgb, rgb, "level \(level)")
        }
    }

    func testDamagedOrOtherPNGsAreNamed() {
        let png = PNG.encode(rgb: image(width: 8, height: 8), width: 8, height: 8)
        func reason(_ data: Data) -> String {
            do { _ = try PNG.decode(data); return "decoded" } catch { return "\(error)" }
        }
        var flipped = png
        flipped[45] ^= 0x10   // inside the IDAT body (IHDR ends at 33, the body starts at 41)
        XCTAssertTrue(reason(flipped).contains("bad CRC in the IDAT chunk"), reason(flipped))
        XCTAssertTrue(reason(png.prefix(png.count - 20)).contains("truncated"), reason(png.prefix(png.count - 20)))
        XCTAssertTrue(reason(Data("GIF89a...".utf8)).contains("no PNG signature"))
        var gray = png
        gray[25] = 0   // colour type 0
        let crc = Zlib.crc32(0, Array(gray[12..<29]))
        gray.replaceSubrange(29..<33, with: PNG.bigEndian(crc))
        XCTAssertTrue(reason(gray).contains("other than 8-bit RGB"), reason(gray))
    }

    func testSaveImageAndNPZBytes() {
        XCTAssertEqual([-2, -1, 0, 0.5, 1, 3, .nan].map { ImageWriter.toByte(Float($0)) }, [0, 0, 128, 191, 255, 255, 0])
        let v: [Float] = [-1, 0, 1, .nan]
        XCTAssertEqual(NPZImages.bytes(v, channels: 1, height: 2, width: 2), [0, 0, 0, 128, 128, 128, 255, 255, 255, 0, 0, 0])
        // make_grid: 3 one-pixel images, 2 per row, 2-pixel black padding.
        let g = ImageWriter.grid(Tensor(shape: [3, 1, 1, 1], values: [1, 1, 1]), nrow: 2)
        XCTAssertEqual(g.width, 8); XCTAssertEqual(g.height, 8)
        let white = g.rgb.indices.filter { g.rgb[$0] == 255 }.map { $0 / 3 }
        XCTAssertEqual(Array(Set(white)).sorted(), [2 * 8 + 2, 2 * 8 + 5, 5 * 8 + 2])
    }
}
