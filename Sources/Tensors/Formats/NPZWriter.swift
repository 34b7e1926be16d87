import Foundation

/// Writes an `.npz` holding one uint8 array (`arr_0.npy` by default) the way
/// `np.savez` does — a zip archive with one stored member — but streamed:
/// rows are appended as they come, so an array of 50 000 images never sits
/// in memory. Members of 4 GiB or more get zip64 size fields (as Python's
/// zipfile writes them, which `np.load` reads). The archive is written under
/// a temporary name and renamed into place by `finish()`; an abandoned
/// writer leaves nothing behind.
public final class NPZWriter {
    public let path: String
    let tmp: String
    let handle: FileHandle
    let member: [UInt8]
    let payloadSize: Int
    let arrayBytes: Int
    let zip64: Bool
    var crc: UInt32 = 0
    var written = 0
    var finished = false

    /// `shape` is the array's shape; exactly its product of bytes must then
    /// be appended. `forceZip64` writes zip64 fields even for a small
    /// member (for tests).
    public init(path: String, shape: [Int], member: String = "arr_0", forceZip64: Bool = false) throws {
        self.path = path
        tmp = AtomicFile.temporaryPath(for: path)
        self.member = Array("\(member).npy".utf8)
        let header = Self.npyHeader(shape: shape)
        arrayBytes = shape.reduce(1, *)
        payloadSize = header.count + arrayBytes
        zip64 = forceZip64 || payloadSize >= 0xFFFF_FFFF
        guard FileManager.default.createFile(atPath: tmp, contents: nil), let h = FileHandle(forWritingAtPath: tmp) else {
            throw TensorError("\(path): cannot create the npz (is the directory writable?)")
        }
        handle = h
        do {
            try write(localHeader(crc: 0))
            crc = Zlib.crc32(crc, header)   // the npy header opens the member
            try write(header)
        } catch {
            unlink(tmp)
            throw error
        }
    }

    deinit {
        if !finished { try? handle.close(); unlink(tmp) }
    }

    /// Appends the next bytes of the array (row-major).
    public func append(_ bytes: [UInt8]) throws {
        guard written + bytes.count <= arrayBytes else {
            throw TensorError("\(path): more bytes appended than the shape holds (\(arrayBytes))")
        }
        crc = Zlib.crc32(crc, bytes)
        try write(bytes)
        written += bytes.count
    }

    /// Writes the central directory, patches the CRC into the local header
    /// and renames the file into place.
    public func finish() throws {
        guard written == arrayBytes else {
            throw TensorError("\(path): \(written) array bytes appended but the shape needs \(arrayBytes)")
        }
        let centralOffset = localHeaderSize + payloadSize
        var central: [UInt8] = le32(0x0201_4B50) + le16(zip64 ? 45 : 20) + le16(zip64 ? 45 : 20) + le16(0) + le16(0)
        central += le16(0) + le16(0x21) + le32(crc)
        if zip64 {
            central += le32(0xFFFF_FFFF) + le32(0xFFFF_FFFF) + le16(member.count) + le16(28) + le16(0) + le16(0) + le16(0)
            central += le32(0) + le32(0xFFFF_FFFF) + member
            central += le16(0x0001) + le16(24) + le64(payloadSize) + le64(payloadSize) + le64(0)
        } else {
            central += le32(UInt32(payloadSize)) + le32(UInt32(payloadSize)) + le16(member.count) + le16(0) + le16(0) + le16(0)
            central += le16(0) + le32(0) + le32(0) + member
        }
        var end: [UInt8] = []
        if zip64 {
            let eocd64 = centralOffset + central.count
            end += le32(0x0606_4B50) + le64(44) + le16(45) + le16(45) + le32(0) + le32(0)
            end += le64(1) + le64(1) + le64(central.count) + le64(centralOffset)
            end += le32(0x0706_4B50) + le32(0) + le64(eocd64) + le32(1)
            end += le32(0x0605_4B50) + le16(0) + le16(0) + le16(0xFFFF) + le16(0xFFFF)
            end += le32(0xFFFF_FFFF) + le32(0xFFFF_FFFF) + le16(0)
        } else {
            end += le32(0x0605_4B50) + le16(0) + le16(0) + le16(1) + le16(1)
            end += le32(UInt32(central.count)) + le32(UInt32(centralOffset)) + le16(0)
        }
        do {
            try write(central + end)
            try handle.seek(toOffset: 0)
            try write(localHeader(crc: crc))
            try handle.synchronize()
            try handle.close()
        } catch {
            throw TensorError("\(path): cannot write the npz (\(error.localizedDescription))")
        }
        finished = true
        try AtomicFile.commit(tmp, to: path)
    }

    var localHeaderSize: Int { 30 + member.count + (zip64 ? 20 : 0) }

    func localHeader(crc: UInt32) -> [UInt8] {
        var h: [UInt8] = le32(0x0403_4B50) + le16(zip64 ? 45 : 20) + le16(0) + le16(0) + le16(0) + le16(0x21) + le32(crc)
        if zip64 {
            h += le32(0xFFFF_FFFF) + le32(0xFFFF_FFFF) + le16(member.count) + le16(20) + member
            h += le16(0x0001) + le16(16) + le64(payloadSize) + le64(payloadSize)
        } else {
            h += le32(UInt32(payloadSize)) + le32(UInt32(payloadSize)) + le16(member.count) + le16(0) + member
        }
        return h
    }

    func write(_ bytes: [UInt8]) throws {
        do { try handle.write(contentsOf: Data(bytes)) } catch {
            throw TensorError("\(path): cannot write the npz (\(error.localizedDescription))")
        }
    }

    /// The npy format 1.0 header for a uint8 array, padded to 64 bytes as
    /// numpy pads it (format 2.0 only past a 64 KiB header, never here).
    public static func npyHeader(shape: [Int]) -> [UInt8] {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (\(dims)), }"
        while (10 + dict.utf8.count + 1) % 64 != 0 { dict += " " }
        dict += "\n"
        let n = dict.utf8.count
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(n & 0xFF), UInt8(n >> 8)] + Array(dict.utf8)
    }
}

func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
func le64(_ v: Int) -> [UInt8] { (0..<8).map { UInt8((UInt64(v) >> (8 * UInt64($0))) & 0xFF) } }
