import Crypto
import Foundation

/// File digests through swift-crypto.
public enum FileDigest {
    /// The sha256 of a file as sha256sum prints it (64 lowercase hex digits),
    /// read in 4 MiB pieces so a checkpoint of gigabytes is never in memory.
    public static func sha256(ofFile path: String) throws -> String {
        guard let f = fopen(path, "rb") else {
            throw TensorError("\(path): cannot open for hashing (\(String(cString: strerror(errno))))")
        }
        defer { fclose(f) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 4 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        if ferror(f) != 0 { throw TensorError("\(path): read error while hashing") }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
