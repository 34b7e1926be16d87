import Foundation

/// The file rank `rank` writes for a per-rank output PATH (traces, dumps):
/// PATH with `.rankN` before its extension, or `.rankN.<defaultExtension>`
/// when PATH has none — `out/d.h5` → `out/d.rank3.h5`, `out/t` → `out/t.rank3.json`.
public func rankPath(_ path: String, rank: Int, defaultExtension: String) -> String {
    let url = URL(fileURLWithPath: path)
    let ext = url.pathExtension.isEmpty ? defaultExtension : url.pathExtension
    return url.deletingPathExtension().path + ".rank\(rank).\(ext)"
}
