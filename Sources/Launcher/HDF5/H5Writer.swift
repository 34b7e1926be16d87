import CHDF5
import Foundation
import Stages
import Tensors

/// An HDF5 file being written: groups, float32 and int64 datasets (float32
/// contiguous, or chunked and gzip-compressed), typed attributes. The one
/// writer of every HDF5 file `dit` makes: activation dumps and merged dumps,
/// samples.h5, `dit forward` and `dit vae-decode` outputs. Not thread-safe;
/// `HDF5Sink` calls it from its writer thread only.
final class H5Writer {
    /// How HDF5 lays the file out.
    enum Format {
        /// HDF5's defaults (the earliest file format): `dit forward` and
        /// `dit vae-decode` outputs, as they have always been written.
        case earliest
        /// The 1.8 file format or later, with a fixed metadata cache of
        /// this many bytes: dumps and samples.h5 (docs/dump-format.md).
        case v18(metadataCacheBytes: Int)

        /// Dumps' and samples.h5's: 256 KiB of metadata cache.
        static let dump = Format.v18(metadataCacheBytes: 256 << 10)
    }

    /// The file's name in messages.
    let path: String
    private(set) var file: hid_t = -1
    private var groups: Set<String> = ["/"]
    /// Creation properties without HDF5's object times: by default every
    /// object header holds its creation and modification time, so the same
    /// run wrote different bytes each time. Without them a file is a function
    /// of its contents (the demo's samples.h5 hashes the same on every run).
    private let untimedGroup: hid_t, untimedDataset: hid_t

    /// A property list of class `cls` with object time tracking off.
    private static func untimed(_ cls: hid_t) -> hid_t {
        let p = H5Pcreate(cls)
        if p >= 0 { H5Pset_obj_track_times(p, false) }
        return p >= 0 ? p : dit_h5p_default()
    }

    /// Creates (truncates) `path`; messages call it `name` (default: `path`),
    /// the final name of a file written under a temporary one.
    init(creating path: String, format: Format, name: String? = nil) throws {
        dit_h5_silence_errors()
        self.path = name ?? path
        untimedGroup = Self.untimed(dit_h5p_group_create())
        untimedDataset = Self.untimed(dit_h5p_dataset_create())
        let fcpl = Self.untimed(dit_h5p_file_create())   // the root group's times
        defer { if fcpl != dit_h5p_default() { H5Pclose(fcpl) } }
        errno = 0
        var fapl = dit_h5p_default()
        defer { if fapl != dit_h5p_default() { H5Pclose(fapl) } }
        if case .v18(let cacheBytes) = format {
            // The 1.8 file format or later: compact link storage in groups and
            // smaller object headers make creating objects cheaper. Not 1.10
            // as the lower bound: its superblock marks the file open for
            // writing, and a killed run's file would then not open without
            // h5clear.
            fapl = H5Pcreate(dit_h5p_file_access())
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
                    mdc.initial_size = cacheBytes
                    mdc.min_size = cacheBytes
                    mdc.max_size = cacheBytes
                    mdc.incr_mode = H5C_incr__off
                    mdc.flash_incr_mode = H5C_flash_incr__off
                    mdc.decr_mode = H5C_decr__off
                    H5Pset_mdc_config(fapl, &mdc)
                }
            } else {
                fapl = dit_h5p_default()
            }
        }
        file = H5Fcreate(path, dit_h5f_acc_trunc(), fcpl, fapl)
        if file < 0 {
            let reason = errno != 0 ? String(cString: strerror(errno)) : "HDF5 could not create it"
            throw HDF5Error(message: "\(self.path): cannot create the HDF5 file (\(reason)); check that the directory exists and is writable")
        }
    }

    /// Writes `path` through `body` under a temporary name, renamed into
    /// place when done: a failure leaves no file under the final name.
    static func write(atomically path: String, format: Format, _ body: (H5Writer) throws -> Void) throws {
        let temporary = AtomicFile.temporaryPath(for: path)
        do {
            let file = try H5Writer(creating: temporary, format: format, name: path)
            try body(file)
            try file.close()
            try AtomicFile.commit(temporary, to: path)
        } catch {
            unlink(temporary)
            throw error
        }
    }

    deinit {
        if file >= 0 { H5Fclose(file) }
        for p in [untimedGroup, untimedDataset] where p != dit_h5p_default() { H5Pclose(p) }
    }

    func hasGroup(_ path: String) -> Bool { groups.contains(path) }

    /// Creates `path`'s group and its parents, setting attributes on the
    /// group itself when it is new.
    func group(_ path: String, attributes: [(String, AttributeValue)] = []) throws {
        if groups.contains(path) { return }
        try group(Self.parent(path))
        let g = try check(H5Gcreate2(file, path, dit_h5p_default(), untimedGroup, dit_h5p_default()), "creating group \(path) in \(self.path)")
        defer { H5Gclose(g) }
        for (k, v) in attributes { try Self.setAttribute(g, k, v, in: self.path) }
        groups.insert(path)
    }

    /// A float32 dataset, contiguous (no chunk index to build) unless
    /// `gzip`: then in one chunk, or chunks of one leading index each when
    /// over 64 MiB (HDF5's chunk limit is 4 GiB), with shuffle + deflate 4.
    func write(_ name: String, shape: [Int], data: UnsafePointer<Float>, gzip: Bool = false, attributes: [(String, AttributeValue)] = []) throws {
        try group(Self.parent(name))
        let dims = shape.map { hsize_t($0) }
        let space = try check(H5Screate_simple(Int32(dims.count), dims, nil), "dataspace for \(name)")
        defer { H5Sclose(space) }
        var dcpl = untimedDataset
        defer { if dcpl != untimedDataset { H5Pclose(dcpl) } }
        if gzip, shape.allSatisfy({ $0 > 0 }) {
            dcpl = try check(H5Pcopy(untimedDataset), "properties of \(name)")
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

    func write(_ name: String, _ tensor: Tensor) throws {
        try write(name, shape: tensor.shape, data: tensor.pointer)
    }

    /// A 1-D int64 dataset.
    func writeInts(_ name: String, _ values: [Int]) throws {
        try group(Self.parent(name))
        let v = values.map(Int64.init)
        let space = try check(H5Screate_simple(1, [hsize_t(v.count)], nil), "dataspace for \(name)")
        defer { H5Sclose(space) }
        let set = try check(H5Dcreate2(file, name, dit_h5t_native_int64(), space, dit_h5p_default(), untimedDataset, dit_h5p_default()),
                            "creating dataset \(name) in \(path)")
        defer { H5Dclose(set) }
        if !v.isEmpty {
            try check(H5Dwrite(set, dit_h5t_native_int64(), dit_h5s_all(), dit_h5s_all(), dit_h5p_default(), v), "writing dataset \(name) in \(path)")
        }
    }

    /// "/a/b" → "/a", "/a" → "/".
    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    func setRootAttribute(_ key: String, _ value: AttributeValue) throws {
        if H5Aexists(file, key) > 0 { H5Adelete(file, key) }
        try Self.setAttribute(file, key, value, in: path)
    }

    func flush() throws { try check(H5Fflush(file, H5F_SCOPE_GLOBAL), "flushing \(path)") }

    func close() throws {
        let f = file
        file = -1
        try check(H5Fclose(f), "closing \(path)")
    }

    static func setAttribute(_ object: hid_t, _ key: String, _ value: AttributeValue, in path: String) throws {
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

