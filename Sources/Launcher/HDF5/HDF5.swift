import CHDF5
import Foundation

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
