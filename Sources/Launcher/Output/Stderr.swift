import Foundation

/// Messages to stderr that never kill the process. Under mpirun, stderr is a
/// pipe to mpirun's I/O forwarding, which mpirun closes first when it is
/// stopped (SIGINT/SIGTERM): a rank that then writes its progress line
/// would die of SIGPIPE before it could leave its trace. `MPIWorld` ignores
/// SIGPIPE under mpirun, and this writer drops what a closed pipe refuses
/// (FileHandle.write would trap on EPIPE).
enum Stderr {
    static func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Foundation.write(2, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            bytes = bytes.dropFirst(n)
        }
    }
}
