import CHDF5
import Foundation

/// An attribute value in a dump file.
enum H5Attr: Equatable, CustomStringConvertible {
    case string(String), int(Int), ints([Int]), double(Double), doubles([Double])

    var description: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .ints(let l): return "[" + l.map(String.init).joined(separator: ", ") + "]"
        case .double(let d): return String(d)
        case .doubles(let l): return "[" + l.map { String($0) }.joined(separator: ", ") + "]"
        }
    }
    var int: Int? { if case .int(let i) = self { return i }; return nil }
    var ints: [Int]? {
        switch self { case .ints(let l): return l; case .int(let i): return [i]; default: return nil }
    }
}

/// A dump file being written (latest HDF5 file format): float32 datasets,
/// contiguous or chunked and gzip-compressed, with attributes. Not thread-safe; `HDF5Sink` calls it
/// from its writer thread only.
final class DumpH5File {
    let path: String
    private(set) var file: hid_t = -1
    private var groups: Set<String> = ["/"]

    /// Creates (truncates) `path`.
    init(creating path: String) throws {
        dit_h5_silence_errors()
        self.path = path
        errno = 0
        // The 1.8 file format or later: compact link storage in groups and
        // smaller object headers make creating objects cheaper. Not 1.10
        // as the lower bound: its superblock marks the file open for
        // writing, and a killed run's file would then not open without
        // h5clear.
        let fapl = H5Pcreate(dit_h5p_file_access())
        defer { if fapl >= 0 { H5Pclose(fapl) } }
        let latest = H5F_libver_t(rawValue: H5F_LIBVER_NBOUNDS.rawValue - 1)  // H5F_LIBVER_LATEST is a macro
        if fapl >= 0 {
            H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, latest)
            // A small, fixed metadata cache: H5Fflush (once per step) walks
            // every cached entry in HDF5 1.10, so the default cache, which
            // grows with the file, makes each flush slower than the last.
            var mdc = H5AC_cache_config_t()
            mdc.version = 1  // H5AC__CURR_CACHE_CONFIG_VERSION
            if H5Pget_mdc_config(fapl, &mdc) >= 0 {
                mdc.set_initial_size = true
                mdc.initial_size = Self.metadataCacheBytes
                mdc.min_size = Self.metadataCacheBytes
                mdc.max_size = Self.metadataCacheBytes
                mdc.incr_mode = H5C_incr__off
                mdc.flash_incr_mode = H5C_flash_incr__off
                mdc.decr_mode = H5C_decr__off
                H5Pset_mdc_config(fapl, &mdc)
            }
        }
        file = H5Fcreate(path, dit_h5f_acc_trunc(), dit_h5p_default(), fapl >= 0 ? fapl : dit_h5p_default())
        if file < 0 {
            let reason = errno != 0 ? String(cString: strerror(errno)) : "HDF5 could not create it"
            throw HDF5Error(message: "\(path): cannot create the dump file (\(reason)); check that the directory exists and is writable")
        }
    }

    deinit { if file >= 0 { H5Fclose(file) } }

    /// Metadata cache size of a file being written (DIT_DUMP_MDC_BYTES overrides, for tuning).
    static let metadataCacheBytes = ProcessInfo.processInfo.environment["DIT_DUMP_MDC_BYTES"].flatMap { Int($0) } ?? 256 << 10

    func hasGroup(_ path: String) -> Bool { groups.contains(path) }

    /// Creates `path`'s group and its parents, setting attributes on the
    /// group itself when it is new.
    func group(_ path: String, attributes: [(String, H5Attr)] = []) throws {
        if groups.contains(path) { return }
        try group(Self.parent(path))
        let g = try check(H5Gcreate2(file, path, dit_h5p_default(), dit_h5p_default(), dit_h5p_default()), "creating group \(path) in \(self.path)")
        defer { H5Gclose(g) }
        for (k, v) in attributes { try Self.setAttribute(g, k, v, in: self.path) }
        groups.insert(path)
    }

    /// A float32 dataset, contiguous (no chunk index to build) unless
    /// `gzip`: then in one chunk, or chunks of one leading index each when
    /// over 64 MiB (HDF5's chunk limit is 4 GiB), with shuffle + deflate 4.
    func write(_ name: String, shape: [Int], data: UnsafePointer<Float>, gzip: Bool, attributes: [(String, H5Attr)] = []) throws {
        try group(Self.parent(name))
        let dims = shape.map { hsize_t($0) }
        let space = try check(H5Screate_simple(Int32(dims.count), dims, nil), "dataspace for \(name)")
        defer { H5Sclose(space) }
        var dcpl = dit_h5p_default()
        defer { if dcpl != dit_h5p_default() { H5Pclose(dcpl) } }
        if gzip, shape.allSatisfy({ $0 > 0 }) {
            dcpl = try check(H5Pcreate(dit_h5p_dataset_create()), "properties of \(name)")
            var chunk = dims
            for i in chunk.indices.dropLast() where chunk.reduce(1, *) * 4 > 64 << 20 { chunk[i] = 1 }
            try check(H5Pset_chunk(dcpl, Int32(chunk.count), chunk), "chunking \(name)")
            try check(H5Pset_shuffle(dcpl), "shuffle filter for \(name)")
            try check(H5Pset_deflate(dcpl, 4), "gzip filter for \(name)")
        }
        let set = try check(H5Dcreate2(file, name, dit_h5t_native_float(), space, dit_h5p_default(), dcpl, dit_h5p_default()),
                            "creating dataset \(name) in \(path)")
        defer { H5Dclose(set) }
        if shape.allSatisfy({ $0 > 0 }) {
            try check(H5Dwrite(set, dit_h5t_native_float(), dit_h5s_all(), dit_h5s_all(), dit_h5p_default(), data),
                      "writing dataset \(name) in \(path)")
        }
        for (k, v) in attributes { try Self.setAttribute(set, k, v, in: path) }
    }

    /// "/a/b" → "/a", "/a" → "/".
    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    func setRootAttribute(_ key: String, _ value: H5Attr) throws {
        if H5Aexists(file, key) > 0 { H5Adelete(file, key) }
        try Self.setAttribute(file, key, value, in: path)
    }

    func flush() throws { try check(H5Fflush(file, H5F_SCOPE_GLOBAL), "flushing \(path)") }

    func close() throws {
        let f = file
        file = -1
        try check(H5Fclose(f), "closing \(path)")
    }

    static func setAttribute(_ object: hid_t, _ key: String, _ value: H5Attr, in path: String) throws {
        func write(_ type: hid_t, _ dims: [hsize_t]?, _ bytes: UnsafeRawPointer) throws {
            let space = dims.map { H5Screate_simple(1, $0, nil) } ?? H5Screate(H5S_SCALAR)
            defer { H5Sclose(space) }
            let attr = try check(H5Acreate2(object, key, type, space, dit_h5p_default(), dit_h5p_default()), "attribute \(key) in \(path)")
            defer { H5Aclose(attr) }
            try check(H5Awrite(attr, type, bytes), "writing attribute \(key) in \(path)")
        }
        switch value {
        case .string(let s):
            // Variable-length UTF-8, which h5py reads as str.
            let type = H5Tcopy(dit_h5t_c_s1())
            defer { H5Tclose(type) }
            H5Tset_size(type, dit_h5t_variable())
            H5Tset_cset(type, H5T_CSET_UTF8)
            try s.withCString { p in
                var pointer: UnsafePointer<CChar>? = p
                try withUnsafePointer(to: &pointer) { try write(type, nil, UnsafeRawPointer($0)) }
            }
        case .int(let i):
            var v = Int64(i)
            try write(dit_h5t_native_int64(), nil, &v)
        case .ints(let l):
            let v = l.map(Int64.init)
            try v.withUnsafeBytes { try write(dit_h5t_native_int64(), [hsize_t(max(v.count, 0))], $0.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!) }
        case .double(let d):
            var v = d
            try write(dit_h5t_native_double(), nil, &v)
        case .doubles(let l):
            try l.withUnsafeBytes { try write(dit_h5t_native_double(), [hsize_t(l.count)], $0.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!) }
        }
    }
}

/// Read access to any HDF5 file: groups, float datasets, attributes.
final class H5Reader {
    let path: String
    let file: hid_t

    init(path: String) throws {
        dit_h5_silence_errors()
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { throw HDF5Error(message: "\(path): no such file") }
        file = H5Fopen(path, dit_h5f_acc_rdonly(), dit_h5p_default())
        if file < 0 { throw HDF5Error(message: "\(path): not a readable HDF5 file") }
    }

    deinit { H5Fclose(file) }

    func isGroup(_ name: String) -> Bool {
        let g = H5Gopen2(file, name, dit_h5p_default())
        if g >= 0 { H5Gclose(g); return true }
        return false
    }

    /// Link names in a group, sorted by name.
    func children(_ name: String) throws -> [String] {
        let g = try check(H5Gopen2(file, name, dit_h5p_default()), "opening group \(name) in \(path)")
        defer { H5Gclose(g) }
        var info = H5G_info_t()
        try check(H5Gget_info(g, &info), "listing \(name) in \(path)")
        return try (0..<info.nlinks).map { i in
            let n = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, dit_h5p_default())
            guard n >= 0 else { throw HDF5Error(message: "HDF5: reading link \(i) of \(name) in \(path) failed") }
            var buf = [CChar](repeating: 0, count: Int(n) + 1)
            H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, buf.count, dit_h5p_default())
            return String(cString: buf)
        }
    }

    func shape(_ name: String) throws -> [Int] {
        let set = try check(H5Dopen2(file, name, dit_h5p_default()), "opening dataset \(name) in \(path)")
        defer { H5Dclose(set) }
        return try Self.shape(of: set, name, path)
    }

    static func shape(of set: hid_t, _ name: String, _ path: String) throws -> [Int] {
        let space = try check(H5Dget_space(set), "dataspace of \(name) in \(path)")
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        H5Sget_simple_extent_dims(space, &dims, nil)
        return dims.prefix(rank).map { Int($0) }
    }

    /// A dataset's values converted to float32.
    func floats(_ name: String) throws -> [Float] {
        let set = try check(H5Dopen2(file, name, dit_h5p_default()), "opening dataset \(name) in \(path)")
        defer { H5Dclose(set) }
        let count = try Self.shape(of: set, name, path).reduce(1, *)
        var out = [Float](repeating: 0, count: count)
        if count > 0 {
            try out.withUnsafeMutableBytes {
                _ = try check(H5Dread(set, dit_h5t_native_float(), dit_h5s_all(), dit_h5s_all(), dit_h5p_default(), $0.baseAddress),
                              "reading dataset \(name) in \(path) as float32")
            }
        }
        return out
    }

    /// Every attribute of a group or dataset, by name.
    func attributes(_ name: String) throws -> [String: H5Attr] {
        let obj = try check(H5Oopen(file, name, dit_h5p_default()), "opening \(name) in \(path)")
        defer { H5Oclose(obj) }
        var out: [String: H5Attr] = [:]
        var i: hsize_t = 0
        while true {
            let attr = H5Aopen_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, i, dit_h5p_default(), dit_h5p_default())
            if attr < 0 { break }
            defer { H5Aclose(attr) }
            i += 1
            let n = H5Aget_name(attr, 0, nil)
            var buf = [CChar](repeating: 0, count: Int(n) + 1)
            H5Aget_name(attr, buf.count, &buf)
            out[String(cString: buf)] = Self.value(of: attr)
        }
        return out
    }

    static func value(of attr: hid_t) -> H5Attr {
        let type = H5Aget_type(attr)
        defer { H5Tclose(type) }
        let space = H5Aget_space(attr)
        defer { H5Sclose(space) }
        let count = max(Int(H5Sget_simple_extent_npoints(space)), 0)
        let scalar = H5Sget_simple_extent_ndims(space) == 0
        switch H5Tget_class(type) {
        case H5T_STRING:
            if H5Tis_variable_str(type) > 0 {
                var ptrs = [UnsafeMutablePointer<CChar>?](repeating: nil, count: max(count, 1))
                let mem = H5Tcopy(dit_h5t_c_s1())
                defer { H5Tclose(mem) }
                H5Tset_size(mem, dit_h5t_variable())
                H5Tset_cset(mem, H5Tget_cset(type))
                guard H5Aread(attr, mem, &ptrs) >= 0 else { return .string("<unreadable>") }
                let s = ptrs.map { $0.map { String(cString: $0) } ?? "" }
                for p in ptrs { if let p { H5free_memory(p) } }
                return .string(s.joined(separator: ", "))
            }
            let size = H5Tget_size(type)
            var bytes = [UInt8](repeating: 0, count: size * max(count, 1) + 1)
            guard H5Aread(attr, type, &bytes) >= 0 else { return .string("<unreadable>") }
            return .string(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self))
        case H5T_INTEGER:
            var v = [Int64](repeating: 0, count: max(count, 1))
            guard H5Aread(attr, dit_h5t_native_int64(), &v) >= 0 else { return .string("<unreadable>") }
            return scalar ? .int(Int(v[0])) : .ints(v.prefix(count).map { Int($0) })
        case H5T_FLOAT:
            var v = [Double](repeating: 0, count: max(count, 1))
            guard H5Aread(attr, dit_h5t_native_double(), &v) >= 0 else { return .string("<unreadable>") }
            return scalar ? .double(v[0]) : .doubles(Array(v.prefix(count)))
        default:
            return .string("<unsupported type>")
        }
    }
}
