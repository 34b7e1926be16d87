import CZlib

/// The zlib calls the file formats need: one-shot deflate and inflate (PNG's
/// IDAT) and the CRC-32 of zip and PNG.
enum Zlib {
    /// `bytes` deflated in a zlib stream at `level` (0 stores, 9 is smallest).
    static func compress(_ bytes: [UInt8], level: Int32) -> [UInt8] {
        var size = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let status = compress2(&out, &size, bytes, uLong(bytes.count), level)
        // compress2 fails only without memory or with a bad level; both are bugs here.
        precondition(status == Z_OK, "zlib compress2 failed (\(status))")
        out.removeLast(out.count - Int(size))
        return out
    }

    /// The zlib stream `bytes` inflated; it must hold exactly `count` bytes.
    static func uncompress(_ bytes: [UInt8], count: Int) throws -> [UInt8] {
        var size = uLong(count)
        var out = [UInt8](repeating: 0, count: count)
        switch CZlib.uncompress(&out, &size, bytes, uLong(bytes.count)) {
        case Z_OK where Int(size) == count: return out
        case Z_OK: throw TensorError("the compressed data holds \(size) bytes, \(count) expected")
        case Z_BUF_ERROR: throw TensorError("the compressed data is truncated or holds more than \(count) bytes")
        case Z_DATA_ERROR: throw TensorError("the compressed data is damaged (zlib: bad data or checksum)")
        case let status: throw TensorError("zlib uncompress failed (\(status))")
        }
    }

    /// Folds `bytes` into a running CRC-32 (IEEE 802.3, as zip and PNG use);
    /// start from 0, the result is the CRC.
    static func crc32(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        UInt32(crc32_z(uLong(crc), bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count))
    }

    static func crc32(_ crc: UInt32, _ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { crc32(crc, $0) } }
}
