import Foundation
import Tensors

/// The ADM evaluation format: an .npz holding `arr_0`, uint8 (N, H, W, 3),
/// converted as upstream sample_ddp.py does: clamp(127.5·x + 128, 0, 255)
/// then truncation to uint8. One-channel images are repeated to RGB.
enum NPZWriter {
    static func uint8Images(_ images: Tensor) -> (bytes: [UInt8], shape: [Int]) {
        let n = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3]
        var out = [UInt8](repeating: 0, count: n * h * w * 3)
        for i in 0..<n {
            for y in 0..<h {
                for x in 0..<w {
                    for k in 0..<3 {
                        let v = images[((i * c + (c == 1 ? 0 : k)) * h + y) * w + x]
                        out[((i * h + y) * w + x) * 3 + k] = UInt8(min(max(127.5 * v + 128, 0), 255))
                    }
                }
            }
        }
        return (out, [n, h, w, 3])
    }

    /// An .npy (format 1.0) of uint8 values.
    static func npy(_ bytes: [UInt8], shape: [Int]) -> Data {
        var header = "{'descr': '|u1', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", "))\(shape.count == 1 ? "," : "")), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        data.append(contentsOf: bytes)
        return data
    }

    /// A zip archive with one stored (uncompressed) member, as np.savez writes.
    static func npz(member name: String, _ payload: Data) throws -> Data {
        guard payload.count < Int(UInt32.max) - 1024 else {
            throw TensorError("npz: \(payload.count) bytes exceed the 4 GiB a plain zip member can hold; write fewer images per file")
        }
        let crc = ImageWriter.crc32(Array(payload))
        let nameBytes = Array(name.utf8)
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)] }
        let size = le32(UInt32(payload.count))
        var zip = Data()
        zip.append(contentsOf: le32(0x0403_4B50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21))
        zip.append(contentsOf: le32(crc) + size + size + le16(nameBytes.count) + le16(0) + nameBytes)
        zip.append(payload)
        let central = zip.count
        zip.append(contentsOf: le32(0x0201_4B50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21))
        zip.append(contentsOf: le32(crc) + size + size + le16(nameBytes.count) + le16(0) + le16(0) + le16(0) + le16(0))
        zip.append(contentsOf: le32(0) + le32(0) + nameBytes)
        let centralSize = zip.count - central
        zip.append(contentsOf: le32(0x0605_4B50) + le16(0) + le16(0) + le16(1) + le16(1))
        zip.append(contentsOf: le32(UInt32(centralSize)) + le32(UInt32(central)) + le16(0))
        return zip
    }

    static func data(_ images: Tensor) throws -> Data {
        let (bytes, shape) = uint8Images(images)
        return try npz(member: "arr_0.npy", npy(bytes, shape: shape))
    }
}
