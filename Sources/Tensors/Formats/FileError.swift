import Foundation

/// Why an input file cannot be read, in plain words (never a Foundation
/// error code); each case names the file.
public enum FileError: Error, CustomStringConvertible, Equatable {
    case missing(path: String)
    case directory(path: String)
    case unreadable(path: String, reason: String)
    case empty(path: String)

    public var description: String {
        switch self {
        case .missing(let p): return "\(p): no such file; check the path"
        case .directory(let p): return "\(p): is a directory, not a file; give the file inside it"
        case let .unreadable(p, reason): return "\(p): cannot be read (\(reason)); check its permissions"
        case .empty(let p): return "\(p): the file is empty (0 bytes); it was not written completely"
        }
    }

    /// Throws unless `path` is a non-empty regular file this process can open.
    public static func checkReadable(_ path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw errno == ENOENT || errno == ENOTDIR ? FileError.missing(path: path)
                : FileError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        if st.st_mode & S_IFMT == S_IFDIR { throw FileError.directory(path: path) }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        close(fd)
        if st.st_mode & S_IFMT == S_IFREG && st.st_size == 0 { throw FileError.empty(path: path) }
    }
}
