import Foundation
import XCTest
@testable import Stages
import Tensors

/// Fixtures, a scratch directory and a tiny pipeline run over the loopback
/// transport, for the Launcher's file and wire tests.
enum TestRun {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    /// A fresh directory under the temporary directory.
    static func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dit-launcher-tests-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A tiny DiT: depth 3, hidden 64, 16 tokens (16×16×3 images, patch 4).
    static func checkpoint() throws -> Checkpoint {
        try Checkpoint(path: fixture("fwd-tiny-p4-nosigma.safetensors"), inputSize: 16)
    }

    /// 3 guided steps of 5 images in micro-batches of 2 (the last one padded).
    static func config(stages: Int = 1, replicas: Int = 1) throws -> RunConfig {
        var r = RunConfig()
        r.checkpoint = try checkpoint().path
        r.steps = 3
        r.classes = [1, 2, 3, 4, 5]
        r.microbatchSize = 2
        r.cfgScale = 4
        r.stages = stages
        r.replicas = replicas
        return r
    }

    /// Runs every rank of `run` cooperatively in this thread; `sink(rank, stage)`
    /// records, and is closed at the end (as `PipelineRunner.run` closes it).
    static func pipeline(_ run: RunConfig, sink makeSink: (Int, Int) throws -> ActivationSink?) throws {
        let ckpt = try checkpoint()
        let plan = try SamplingPlan(run: run, model: ckpt.config)
        let hub = LoopbackHub(worldSize: plan.layout.worldSize)
        var sinks: [ActivationSink] = []
        let runners = try (0..<plan.layout.worldSize).map { rank -> PipelineRunner in
            let p = plan.layout.position(rank: rank)
            let model = try DiT(checkpoint: ckpt, blocks: plan.partition.ranges[p.stage], embedders: p.stage == 0,
                                finalLayer: p.stage == plan.stages - 1)
            let transport = hub.transport(rank: rank)
            let sink = try makeSink(rank, p.stage)
            if let sink { sinks.append(sink) }
            return try PipelineRunner(plan: plan, position: p, work: plan.work(model: model, position: p, transport: transport),
                                      transport: transport, noise: p.isSampler ? PhiloxNoise(seed: run.seed, imageSize: plan.imageSize) : nil,
                                      sink: sink)
        }
        while !runners.allSatisfy(\.isDone) {
            var progressed = false
            for runner in runners where !runner.isDone { progressed = try runner.advance() || progressed }
            if !progressed { throw DiTError("loopback run deadlocked") }
        }
        for sink in sinks { try sink.close() }
    }

    /// Runs `body(rank)` for every rank on its own thread (a loopback wait
    /// blocks until another rank's call completes it); rethrows the first error.
    static func threads<T>(_ ranks: Int, _ body: @escaping (Int) throws -> T) throws -> [T?] {
        let box = ThreadResults<T>(), group = DispatchGroup()
        for rank in 0..<ranks {
            group.enter()
            let thread = Thread {
                do {
                    let r = try body(rank)
                    box.lock.withLock { box.results[rank] = r }
                } catch {
                    box.lock.withLock { box.error = box.error ?? error }
                }
                group.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
        if let error = box.error { throw error }
        return (0..<ranks).map { box.results[$0] }
    }
}

/// What the threads of `TestRun.threads` return, under a lock.
final class ThreadResults<T>: @unchecked Sendable {
    var results: [Int: T] = [:]
    var error: Error?
    let lock = NSLock()
}

/// Records into several sinks at once.
final class TeeSink: ActivationSink {
    let sinks: [ActivationSink]
    init(_ sinks: ActivationSink...) { self.sinks = sinks }
    func wants(_ point: DumpPoint, step: Int) -> Bool { sinks.contains { $0.wants(point, step: step) } }
    func record(_ point: DumpPoint, step: Int, microbatch: Int, block: Int?, rows: RowInfo,
                data: UnsafePointer<Float>, shape: [Int]) throws {
        for s in sinks where s.wants(point, step: step) {
            try s.record(point, step: step, microbatch: microbatch, block: block, rows: rows, data: data, shape: shape)
        }
    }
    func endStep(_ step: Int) throws { for s in sinks { try s.endStep(step) } }
    func close() throws { for s in sinks { try s.close() } }
}

/// Fails unless `a` and `b` hold the same entries, shapes and values (bitwise).
func assertSameDump(_ a: DumpSource, _ b: DumpSource, file: StaticString = #filePath, line: UInt = #line) throws {
    XCTAssertEqual(a.shapes, b.shapes, "\(a.name) vs \(b.name)", file: file, line: line)
    for key in a.shapes.keys.sorted() where b.shapes[key] != nil {
        let x = try a.read(key), y = try b.read(key)
        XCTAssertEqual(x.map(\.bitPattern), y.map(\.bitPattern), "\(key): \(a.name) vs \(b.name)", file: file, line: line)
    }
}
