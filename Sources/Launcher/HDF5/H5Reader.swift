import CHDF5
import Foundation
import Stages

/// Read access to any HDF5 file: groups, float and integer datasets,
/// attributes. The one reader of the files `H5Writer` writes (and of h5py's).
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

    /// A dataset's values converted to int64.
    func integers(_ name: String) throws -> [Int] {
        let set = try check(H5Dopen2(file, name, dit_h5p_default()), "opening dataset \(name) in \(path)")
        defer { H5Dclose(set) }
        let count = try Self.shape(of: set, name, path).reduce(1, *)
        var out = [Int64](repeating: 0, count: count)
        if count > 0 {
            try out.withUnsafeMutableBytes {
                _ = try check(H5Dread(set, dit_h5t_native_int64(), dit_h5s_all(), dit_h5s_all(), dit_h5p_default(), $0.baseAddress),
                              "reading dataset \(name) in \(path) as int64")
            }
        }
        return out.map(Int.init)
    }

    /// Every attribute of a group or dataset, by name.
    func attributes(_ name: String) throws -> [String: AttributeValue] {
        let obj = try check(H5Oopen(file, name, dit_h5p_default()), "opening \(name) in \(path)")
        defer { H5Oclose(obj) }
        var out: [String: AttributeValue] = [:]
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

    static func value(of attr: hid_t) -> AttributeValue {
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
