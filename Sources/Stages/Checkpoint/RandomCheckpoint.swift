import Foundation
import Tensors

/// A checkpoint of random weights with the shapes of a config, for
/// benchmarks run without a real checkpoint. It is written as a safetensors
/// file and opened through `Checkpoint`, so it passes the same key checks.
public enum RandomCheckpoint {
    /// Writes every tensor `Checkpoint.expectedShapes(config)` lists (no
    /// `pos_embed`: it is computed) with uniform weights of scale 1/√fan_in,
    /// zero biases, and input_size/num_heads metadata.
    public static func write(config: DiTConfig, seed: UInt64 = 0, to path: String) throws {
        var writer = SafeTensorsWriter(metadata: ["input_size": String(config.inputSize),
                                                  "num_heads": String(config.numHeads)])
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        for (key, shape) in Checkpoint.expectedShapes(config) where key != "pos_embed" {
            let count = shape.reduce(1, *)
            var values = [Float](repeating: 0, count: count)
            if !key.hasSuffix(".bias") {
                // adaLN weights are kept small so 28 random blocks stay finite.
                let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
                let scale = (key.contains("adaLN") ? 0.1 : 1) / Float(fanIn).squareRoot()
                values.withUnsafeMutableBufferPointer { v in
                    for i in 0..<count {
                        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                        v[i] = (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
                    }
                }
            }
            writer.add(key, shape: shape, .f32(values))
        }
        try writer.write(to: path)
    }

    /// A checkpoint of random weights, from a temporary file that is removed
    /// once mapped.
    public static func make(config: DiTConfig, seed: UInt64 = 0) throws -> Checkpoint {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("dit-random-\(getpid())-\(seed).safetensors").path
        try write(config: config, seed: seed, to: path)
        defer { unlink(path) }
        return try Checkpoint(path: path)
    }
}
