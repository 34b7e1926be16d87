import Tensors

extension RunConfig {
    /// One experiment-file key: its name, how the file's value sets it, and
    /// how it is written out (samples.h5's `run_config`, the rank fingerprint).
    struct Key {
        let name: String
        let read: (inout RunConfig, ConfigNode) throws -> Void
        let write: (RunConfig, inout KeyedEncodingContainer<Name>) throws -> Void

        struct Name: CodingKey {
            let stringValue: String
            init(stringValue: String) { self.stringValue = stringValue }
            var intValue: Int? { nil }
            init?(intValue: Int) { nil }
        }

        /// A key that always has a value.
        static func value<T: Encodable>(_ name: String, _ path: WritableKeyPath<RunConfig, T>,
                                        _ value: @escaping (ConfigNode) throws -> T) -> Key {
            Key(name: name, read: { $0[keyPath: path] = try value($1) },
                write: { try $1.encode($0[keyPath: path], forKey: Name(stringValue: name)) })
        }

        /// A key that may be absent or null (`~`); it is then not written.
        static func optional<T: Encodable>(_ name: String, _ path: WritableKeyPath<RunConfig, T?>,
                                           _ value: @escaping (ConfigNode) throws -> T) -> Key {
            Key(name: name, read: { $0[keyPath: path] = try $1.optional(value) },
                write: { try $1.encodeIfPresent($0[keyPath: path], forKey: Name(stringValue: name)) })
        }

        /// A key whose value is one of a `RawRepresentable`'s names.
        static func choice<T: Encodable & CaseIterable & RawRepresentable>(_ name: String, _ path: WritableKeyPath<RunConfig, T>,
                                                                          _ allowed: String) -> Key where T.RawValue == String {
            value(name, path) { v in
                guard let c = T(rawValue: try v.string()) else { throw v.fail(allowed) }
                return c
            }
        }
    }

    /// The config keys: the one list the parser, the unknown-key error, the
    /// encoding and `knownKeys` use.
    static let keys: [Key] = [
        .value("checkpoint", \.checkpoint) { try $0.string() },
        .optional("model", \.model) { try $0.string() },
        .optional("image_size", \.imageSize) { try $0.int() },
        .optional("num_heads", \.numHeads) { try $0.int() },
        .value("sampler", \.sampler) { try $0.string() },
        .value("steps", \.steps) { try $0.int() },
        .optional("respacing", \.respacing) { try $0.string() },
        .value("eta", \.eta) { try $0.double() },
        .value("cfg_scale", \.cfgScale) { try $0.double() },
        .choice("guidance", \.guidance, GuidanceMode.allCases.map(\.rawValue).joined(separator: " or ")),
        .value("classes", \.classes) { try $0.ints() },
        .value("seed", \.seed) { try $0.uint64() },
        .value("rng", \.rng) { try $0.string() },
        .optional("noise", \.noise) { try $0.string() },
        .value("clip_denoised", \.clipDenoised) { try $0.bool() },
        .value("output_dir", \.outputDir) { try $0.string() },
        .value("nrow", \.nrow) { try $0.int() },
        .value("stages", \.stages) { try $0.int() },
        .value("replicas", \.replicas) { try $0.int() },
        .value("microbatch_size", \.microbatchSize) { try $0.int() },
        .value("partition", \.partition) { v in
            if (try? v.string()) == "auto" { return .auto }
            guard let b = try? v.ints() else { throw v.fail("'auto' or a list of block counts per stage, e.g. [7, 7, 7, 7]") }
            return .blocks(b)
        },
        .optional("threads", \.threads) { try $0.int() },
        .optional("vae", \.vae) { try $0.string() },
        .optional("npz", \.npz) { try $0.string() },
        .optional("trace", \.trace) { try $0.string() },
        .value("simulate", \.simulate) { try $0.bool() },
        .optional("dump", \.dump) { try DumpConfig($0) },
        .optional("num_images", \.numImages) { try $0.int() },
        .optional("chunk_images", \.chunkImages) { try $0.int() },
        .choice("gemm", \.gemm, GemmBackend.Choice.allCases.map(\.rawValue).joined(separator: ", ") + " (the GEMM library)"),
        .choice("precision", \.precision, Precision.allCases.map(\.rawValue).joined(separator: " or ")),
        .optional("peer_timeout", \.peerTimeout) { try $0.double() },
        .value("cfg_parallel", \.cfgParallel) { try $0.int() },
        .value("sequence_parallel", \.sequenceParallel) { try $0.int() },
        .optional("timestep_spacing", \.timestepSpacing) { try $0.string() },
    ]

    public static let knownKeys = keys.map(\.name)

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.Name.self)
        for key in Self.keys { try key.write(self, &c) }
    }
}
