import CHDF5
import Foundation
import Tensors

/// One HDF5 call's status checked, with the operation and file named.
struct HDF5Error: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

@discardableResult
func check(_ status: herr_t, _ what: @autoclosure () -> String) throws -> herr_t {
    if status < 0 { throw HDF5Error(message: "HDF5: \(what()) failed") }
    return status
}

@discardableResult
func check(_ id: hid_t, _ what: @autoclosure () -> String) throws -> hid_t {
    if id < 0 { throw HDF5Error(message: "HDF5: \(what()) failed") }
    return id
}

/// A new HDF5 file written under a temporary name and renamed into place by
/// `commit()`, so a failed run never leaves a partial file under the final name.
final class HDF5Writer {
    let path: String
    let temporaryPath: String
    private var file: hid_t
    private var committed = false

    init(path: String) throws {
        dit_h5_silence_errors()
        self.path = path
        temporaryPath = AtomicFile.temporaryPath(for: path)
        file = H5Fcreate(temporaryPath, dit_h5f_acc_trunc(), dit_h5p_default(), dit_h5p_default())
        if file < 0 {
            throw HDF5Error(message: "\(path): cannot create the HDF5 file; check that the directory exists and is writable")
        }
    }

    deinit {
        if file >= 0 { H5Fclose(file) }
        if !committed { unlink(temporaryPath) }
    }

    /// A float32 dataset at `name` (groups created as needed), with attributes.
    func write(_ name: String, shape: [Int], data: UnsafePointer<Float>, attributes: [String: String] = [:]) throws {
        let dims = shape.map { hsize_t($0) }
        let space = try check(H5Screate_simple(Int32(dims.count), dims, nil), "dataspace for \(name)")
        defer { H5Sclose(space) }
        let lcpl = H5Pcreate(H5P_CLS_LINK_CREATE_ID_g)
        defer { H5Pclose(lcpl) }
        H5Pset_create_intermediate_group(lcpl, 1)
        let set = try check(H5Dcreate2(file, name, dit_h5t_native_float(), space, lcpl, dit_h5p_default(), dit_h5p_default()),
                            "creating dataset \(name) in \(path)")
        defer { H5Dclose(set) }
        try check(H5Dwrite(set, dit_h5t_native_float(), dit_h5s_all(), dit_h5s_all(), dit_h5p_default(), data),
                  "writing dataset \(name) in \(path)")
        for (key, value) in attributes { try setAttribute(set, key, value) }
    }

    func write(_ name: String, _ tensor: Tensor, attributes: [String: String] = [:]) throws {
        try write(name, shape: tensor.shape, data: tensor.pointer, attributes: attributes)
    }

    /// A string attribute on the root group.
    func setRootAttribute(_ key: String, _ value: String) throws {
        try setAttribute(file, key, value)
    }

    private func setAttribute(_ object: hid_t, _ key: String, _ value: String) throws {
        let type = H5Tcopy(dit_h5t_c_s1())
        defer { H5Tclose(type) }
        H5Tset_size(type, max(value.utf8.count, 1))
        let space = H5Screate(H5S_SCALAR)
        defer { H5Sclose(space) }
        let attr = try check(H5Acreate2(object, key, type, space, dit_h5p_default(), dit_h5p_default()), "attribute \(key)")
        defer { H5Aclose(attr) }
        var bytes = Array(value.utf8)
        if bytes.isEmpty { bytes = [0] }
        try check(H5Awrite(attr, type, bytes), "writing attribute \(key)")
    }

    /// Closes the file and renames it into place.
    func commit() throws {
        try check(H5Fclose(file), "closing \(path)")
        file = -1
        try AtomicFile.commit(temporaryPath, to: path)
        committed = true
    }
}
