import Foundation
import Stages

extension HDF5DumpSource {
    /// Writes every entry to `output` in the merged layout (`DumpLayout`,
    /// docs/dump-format.md): `dit dump merge`. Datasets are gzip-chunked
    /// when the sources were compressed.
    func writeMerged(to output: String) throws {
        try H5Writer.write(atomically: output, format: .dump) { out in
            for (k, v) in DumpLayout.mergedRootAttributes(rawAttributes, files: files.map(\.path)) { try out.setRootAttribute(k, v) }
            let gzip = rawAttributes["compress"] == .string("gzip")
            for key in shapes.keys.sorted() {
                let loc = locations[key]!
                let t = loc.attributes["timestep"] ?? .int(-1)
                try out.group(DumpLayout.stepGroup(key.step), attributes: DumpLayout.stepAttributes(step: key.step, timestep: t))
                let values = try read(key)
                try values.withUnsafeBufferPointer {
                    try out.write(DumpLayout.mergedDataset(key), shape: shapes[key]!, data: $0.baseAddress!, gzip: gzip,
                                  attributes: DumpLayout.mergedAttributes(key, timestep: t, parts: loc.rows.count, source: loc.attributes))
                }
            }
        }
    }
}
