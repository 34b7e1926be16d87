import Foundation
import XCTest
@testable import Stages

/// Experiment-file errors name the key path, the value and the type wanted;
/// duplicate keys, aliases and oversized files are refused.
final class ConfigParsingTests: XCTestCase {
    func error(_ yaml: String) -> String {
        do { _ = try RunConfig.parse(yaml); return "no error" } catch { return "\(error)" }
    }

    func testTypeErrorsNameThePathValueAndType() {
        XCTAssertEqual(error("steps: \"fifty\"\n"), "config key steps (line 1): expected an integer, got 'fifty'")
        XCTAssertEqual(error("classes: [1, x]\n"), "config key classes[1] (line 1): expected an integer, got 'x'")
        XCTAssertEqual(error("cfg_scale: [4]\n"), "config key cfg_scale (line 1): expected a number, got a list")
        XCTAssertEqual(error("dump:\n  path: d.h5\n  compress: maybe\n"),
                       "config key dump.compress (line 3): expected true or false, got 'maybe'")
        XCTAssertTrue(error("dump:\n  path: d.h5\n  stepz: all\n")
            .hasPrefix("unknown config key 'dump.stepz' (line 3); known keys of dump: compress, images, path, points, steps"))
        XCTAssertEqual(error("dump: out.h5\n"),
                       "config key dump (line 1): expected a mapping of keys (path, steps, images, points, compress), got 'out.h5'")
        XCTAssertTrue(error("dump:\n  steps: all\n").contains("dump.path: required"))
        XCTAssertTrue(error("cfg_sacle: 4\n").hasPrefix("unknown config key 'cfg_sacle' (line 1); known keys: cfg_parallel, cfg_scale, checkpoint, chunk_images"))
        XCTAssertEqual(error("guidance: some\n"), "config key guidance (line 1): expected upstream or all-channels, got 'some'")
    }

    func testScalarsWhereListsAreMeant() throws {
        XCTAssertEqual(try RunConfig.parse("classes: 3\n").classes, [3])
        XCTAssertEqual(try RunConfig.parse("classes: 3,1,4\n").classes, [3, 1, 4])
        XCTAssertEqual(try RunConfig.parse("classes: [3, 1]\n").classes, [3, 1])
        XCTAssertEqual(try RunConfig.parse("partition: 7\n").partition, .blocks([7]))
        XCTAssertEqual(try RunConfig.parse("partition: auto\nvae: ~\n").partition, .auto)
        let d = try RunConfig.parse("dump:\n  path: d.h5\n  points: block\n  steps: 3\n  images: 0\n").dump
        XCTAssertEqual(d?.points, ["block"])
        XCTAssertEqual(d?.steps, "3")
        XCTAssertEqual(d?.images, [0])
    }

    func testDuplicateKeysAreErrors() {
        XCTAssertEqual(error("steps: 5\nseed: 1\nsteps: 6\n"), "config key steps is given twice (lines 1 and 3); keep one")
        XCTAssertEqual(error("dump:\n  path: a\n  path: b\n"), "config key dump.path is given twice (lines 2 and 3); keep one")
    }

    /// Ten levels of ten aliases each would expand to 10^10 nodes.
    func testAliasBombIsRefusedQuickly() {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...10 {
            yaml += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        let start = Date()
        XCTAssertTrue(error(yaml).contains("YAML aliases are not supported"), error(yaml))
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
        XCTAssertTrue(error("seed: &s 3\nsteps: *s\n").contains("line 1: this value is anchored"))
    }

    func testOversizedFileIsRefused() {
        let big = "# " + String(repeating: "x", count: ConfigNode.maxBytes) + "\n"
        XCTAssertTrue(error(big).contains("an experiment file is at most 1048576 bytes"), error(big))
    }

    func testKnownKeysComeFromTheTable() {
        XCTAssertEqual(RunConfig.knownKeys, RunConfig.keys.map(\.name))
        XCTAssertEqual(Set(RunConfig.knownKeys).count, RunConfig.knownKeys.count)
        XCTAssertTrue(RunConfig.knownKeys.contains("microbatch_size"))
    }

    /// Every key is written out (samples.h5's run_config) and reads back the same.
    func testEveryKeyIsWrittenAndReadBack() throws {
        var run = RunConfig()
        (run.model, run.imageSize, run.numHeads, run.respacing, run.noise, run.threads) = ("DiT-S/2", 256, 6, "ddim10", "n.safetensors", 2)
        (run.vae, run.npz, run.trace, run.numImages, run.chunkImages, run.peerTimeout) = ("v", "s.npz", "t.json", 8, 4, 5)
        (run.timestepSpacing, run.partition, run.dump) = ("leading", .blocks([1, 2]), DumpConfig(path: "d.h5"))
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(run)) as! [String: Any]
        XCTAssertEqual(Set(json.keys), Set(RunConfig.knownKeys))
        let defaults = try JSONSerialization.jsonObject(with: JSONEncoder().encode(RunConfig())) as! [String: Any]
        XCTAssertEqual(defaults.count, 21, "keys without a value are left out")
        XCTAssertEqual(try RunConfig.parse("model: DiT-S/2\nimage_size: 256\nnum_heads: 6\nrespacing: ddim10\nnoise: n.safetensors\nthreads: 2\n"
            + "vae: v\nnpz: s.npz\ntrace: t.json\nnum_images: 8\nchunk_images: 4\npeer_timeout: 5\ntimestep_spacing: leading\n"
            + "partition: [1, 2]\ndump:\n  path: d.h5\n"), run)
    }
}
