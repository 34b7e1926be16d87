import Foundation
import Tensors

/// Interprets one rank's `RankAction`s: receives through inboxes with
/// pre-posted buffers (`Schedule.receiveDepth`), computes through its
/// `StageWork`, sends through outboxes with at most `Schedule.sendSlots`
/// messages in flight, and (on the sampler rank) runs the sampler.
/// Single-process sampling is the same runner with one rank.
public final class PipelineRunner {
    public let plan: SamplingPlan
    public let layout: Layout
    public let position: Layout.Position
    public let schedule: Schedule
    public var stage: Int { position.stage }
    public var replica: Int { position.replica }
    let actions: [RankAction]
    var pc = 0
    let work: StageWork
    let transport: Transport?
    let sink: ActivationSink?
    /// Records block internals into the sink, when it wants them.
    let blockRecorder: BlockRecorder?
    public let trace: Trace?
    /// Called on the sampler after each sampler update (step, micro-batch).
    public var onUpdate: ((Int, Int) throws -> Void)?

    /// This replica's images (global indices) and, on its sampler rank, their state.
    public let images: Range<Int>
    public let sampler: SamplerState?
    public var latents: Tensor? { sampler?.latents }

    var isLast: Bool { stage == plan.stages - 1 }
    let tokens: Tensor, cond: Tensor
    /// Stage 0: the micro-batch's x_t (images) and this rank's input rows.
    let xShared: Tensor, xIn: Tensor
    /// Last stage: this rank's final-layer rows.
    let localOut: Tensor
    /// Sampler: every rank's final-layer rows, then the unpatchified output.
    let finalOut: Tensor, modelOut: Tensor

    let activationsIn: Inbox?, latentsIn: Inbox?
    let outputsIn: [(rank: Int, position: Layout.Position, inbox: Inbox)]
    let outbox: Outbox?, latentsOut: Outbox?
    let stagePeers: [Int]

    public init(plan: SamplingPlan, position: Layout.Position, work: StageWork, transport: Transport?,
                noise: NoiseSource?, sink: ActivationSink? = nil, trace: Trace? = nil) throws {
        self.plan = plan
        self.position = position
        self.work = work
        self.transport = transport
        self.sink = sink
        self.trace = trace
        let stage = position.stage, replica = position.replica, layout = plan.layout
        let schedule = plan.schedule(replica: replica), program = RankAction.program(schedule, layout: layout, position: position)
        self.schedule = schedule
        actions = program
        self.layout = layout
        precondition(layout.worldSize == 1 || transport != nil, "a multi-rank run needs a transport")
        images = plan.images(replica: position.replica)
        if position.isSampler {
            guard let noise else { throw DiTError("the sampler rank needs a noise source") }
            sampler = try SamplerState(plan: plan, images: images, noise: noise)
        } else {
            sampler = nil
        }

        let c = plan.model, rows = plan.rowsPerRank, tl = plan.tokensPerRank
        if let sink, DumpPoint.blockInternals.contains(where: { p in plan.timesteps.indices.contains { sink.wants(p, step: $0) } }) {
            // Config validation refuses dumps under these layouts; a recorder would see partial rows or tokens.
            guard plan.run.sequenceParallel == 1 && plan.run.cfgParallel == 1 else {
                throw DiTError("dump points: block_internals records whole rows and every token of a block; run it with cfg_parallel: 1 and sequence_parallel: 1 (this layout has cfg_parallel \(plan.run.cfgParallel), sequence_parallel \(plan.run.sequenceParallel))")
            }
            blockRecorder = BlockRecorder(sink: sink, rows: rows, tokens: c.tokens)
            work.observer = blockRecorder
        } else {
            blockRecorder = nil
        }
        tokens = Tensor(shape: [rows * tl, c.hiddenSize])
        cond = Tensor(shape: [rows, c.hiddenSize])
        xShared = Tensor(shape: [stage == 0 ? plan.microbatchSize : 0, plan.imageSize])
        xIn = Tensor(shape: [stage == 0 ? rows : 0, plan.imageSize])
        localOut = Tensor(shape: [stage == plan.stages - 1 ? rows * tl : 0, plan.patchFloats])
        let all = position.isSampler ? plan.rowsPerMicrobatch : 0
        finalOut = Tensor(shape: [all * c.tokens, plan.patchFloats])
        modelOut = Tensor(shape: [all, plan.outputSize])

        func count(_ f: (RankAction) -> Bool) -> Int { program.filter(f).count }
        let me = layout.rank(position), last = plan.stages - 1
        let at = Layout.Position(replica: replica, stage: stage - 1, branch: position.branch, part: position.part)
        let peers = position.isSampler ? layout.group(replica: replica, stage: 0).map(layout.rank).filter { $0 != me } : []
        stagePeers = peers
        if let transport {
            let receives = count { if case .receive = $0 { return true } else { return false } }
            activationsIn = receives == 0 ? nil : try Inbox(transport: transport, kind: .activations, peer: layout.rank(at),
                floats: plan.activationFloats, depth: schedule.receiveDepth(stage: stage), total: receives)
            let latents = count { if case .receiveLatents = $0 { return true } else { return false } }
            latentsIn = latents == 0 ? nil : try Inbox(transport: transport, kind: .latents, peer: plan.samplerRank(replica: replica),
                floats: plan.latentFloats, depth: 2, total: latents)
            let gathers = count { if case .gather = $0 { return true } else { return false } }
            outputsIn = gathers == 0 ? [] : try layout.group(replica: replica, stage: last).filter { layout.rank($0) != me }.map {
                (layout.rank($0), $0, try Inbox(transport: transport, kind: .modelOutput, peer: layout.rank($0), floats: plan.outputFloats,
                                               depth: schedule.receiveDepth(stage: 0), total: gathers))
            }
            let sends = count { if case .send = $0 { return true } else { return false } }
            outbox = sends == 0 ? nil : Outbox(transport: transport, kind: stage == last ? .modelOutput : .activations,
                                               floats: stage == last ? plan.outputFloats : plan.activationFloats)
            latentsOut = peers.isEmpty ? nil : Outbox(transport: transport, kind: .latents, floats: plan.latentFloats)
        } else {
            (activationsIn, latentsIn, outputsIn, outbox, latentsOut) = (nil, nil, [], nil, nil)
        }
    }

    var outboxes: [Outbox] { [outbox, latentsOut].compactMap { $0 } }

    public var isDone: Bool { pc == actions.count && outboxes.allSatisfy { $0.pending.isEmpty } }

    /// The requests this rank is blocked on, for a blocking wait.
    public var blockingRequests: [Int] {
        if pc < actions.count {
            switch actions[pc] {
            case .receive: return activationsIn!.pending + outboxes.flatMap(\.pending)
            case .receiveLatents: return latentsIn!.pending + outboxes.flatMap(\.pending)
            case .gather: return outputsIn.flatMap(\.inbox.pending) + outboxes.flatMap(\.pending)
            default: break
            }
        }
        return outboxes.flatMap(\.pending)
    }

    /// The message the current receive action waits for (nil while sends drain).
    var currentWait: WaitContext? {
        guard pc < actions.count else { return nil }
        switch actions[pc] {
        case let .receive(k, m): return WaitContext(kind: .activations, step: k, microbatch: m, peer: activationsIn!.peer)
        case let .receiveLatents(k, m): return WaitContext(kind: .latents, step: k, microbatch: m, peer: latentsIn!.peer)
        case let .gather(k, m): return outputsIn.first.map { WaitContext(kind: .modelOutput, step: k, microbatch: m, peer: $0.rank) }
        default: return nil
        }
    }

    /// Runs actions until one must wait. Returns whether anything happened.
    @discardableResult
    public func advance() throws -> Bool {
        var progressed = false
        while pc < actions.count {
            guard try execute(actions[pc]) else { break }
            pc += 1
            progressed = true
        }
        // Drain: every send must complete before the rank may finish.
        for box in outboxes where try box.drain() { progressed = true }
        return progressed
    }

    /// Runs to completion, blocking in the transport while waiting.
    public func run() throws {
        while !isDone {
            if try !advance(), !isDone {
                let start = trace?.now ?? 0
                transport!.waitContext = currentWait
                try transport!.waitAny(blockingRequests)
                trace?.add("wait", "wait", from: start)
            }
        }
        try sink?.close()
    }

    func header(_ kind: MessageKind, _ k: Int, _ m: Int, from source: Layout.Position) -> MessageHeader {
        let rows = kind == .latents ? plan.microbatchSize : plan.rowsPerRank
        let floats = kind == .latents ? plan.latentFloats : kind == .activations ? plan.activationFloats : plan.outputFloats
        return MessageHeader(kind: kind, step: k, microbatch: m, sourceStage: source.stage, rows: rows, floats: floats,
                             sourceRank: layout.rank(source))
    }

    func execute(_ action: RankAction) throws -> Bool {
        let start = trace?.now ?? 0
        switch action {
        case let .receive(k, m):
            let from = Layout.Position(replica: replica, stage: stage - 1, branch: position.branch, part: position.part)
            guard try activationsIn!.consume(header(.activations, k, m, from: from), { p in
                tokens.data.update(from: p, count: tokens.count)
                cond.data.update(from: p + tokens.count, count: cond.count)
            }) else { return false }
            trace?.add("recv", "receive", from: start, step: k, microbatch: m)
        case let .receiveLatents(k, m):
            guard try latentsIn!.consume(header(.latents, k, m, from: .init(replica: replica, stage: 0)), { p in
                xShared.data.update(from: p, count: xShared.count)
            }) else { return false }
            trace?.add("recv x", "receive", from: start, step: k, microbatch: m)
        case let .shareLatents(k, m):
            sampler!.copyInput(microbatch: m, into: xShared.data)
            try latentsOut!.send(header(.latents, k, m, from: position), to: stagePeers, trace: trace) { p in
                p.update(from: xShared.pointer, count: xShared.count)
            }
            trace?.add("send x", "send", from: start, step: k, microbatch: m)
        case let .forward(k, m):
            try forward(step: k, microbatch: m)
        case let .send(k, m):
            let last = isLast, next = Layout.Position(replica: replica, stage: stage + 1, branch: position.branch, part: position.part)
            let peer = last ? plan.samplerRank(replica: replica) : layout.rank(next)
            try outbox!.send(header(last ? .modelOutput : .activations, k, m, from: position), to: [peer], trace: trace) { p in
                if last {
                    p.update(from: localOut.pointer, count: localOut.count)
                } else {
                    p.update(from: tokens.pointer, count: tokens.count)
                    (p + tokens.count).update(from: cond.pointer, count: cond.count)
                }
            }
            trace?.add("send", "send", from: start, step: k, microbatch: m)
        case let .gather(k, m):
            for source in outputsIn { guard try source.inbox.ready() else { return false } }
            for source in outputsIn {
                _ = try source.inbox.consume(header(.modelOutput, k, m, from: source.position)) { p in
                    scatter(p, from: source.position)
                }
            }
            trace?.add("gather", "receive", from: start, step: k, microbatch: m)
        case let .update(k, m):
            try update(step: k, microbatch: m)
        }
        return true
    }

    /// Final-layer rows of the rank at `p` into their rows and tokens of `finalOut`.
    func scatter(_ rows: UnsafePointer<Float>, from p: Layout.Position) {
        let tl = plan.tokensPerRank, f = plan.patchFloats, t = plan.model.tokens
        for i in 0..<plan.rowsPerRank {
            let row = p.branch * plan.rowsPerRank + i
            (finalOut.data + (row * t + p.part * tl) * f).update(from: rows + i * tl * f, count: tl * f)
        }
    }

    func rowInfo(microbatch m: Int, step k: Int) -> RowInfo {
        let b = plan.microbatchSize
        let ids = (0..<b).map { j -> Int in
            let local = m * b + j
            return local < images.count ? images.lowerBound + local : -1
        }
        return RowInfo(images: ids, doubled: plan.doubled, timestep: plan.timesteps[k])
    }

    func forward(step k: Int, microbatch m: Int) throws {
        let c = plan.model, rows = plan.rowsPerRank, b = plan.microbatchSize
        let info = rowInfo(microbatch: m, step: k)
        let computeStart = trace?.now ?? 0
        if stage == 0 {
            if layout.groupSize == 1 { sampler!.copyInput(microbatch: m, into: xShared.data) }
            // This rank's rows of [conditional; null]: all, or one CFG branch's half.
            let first = position.branch * rows, n = min(b, images.count - m * b)
            for i in 0..<rows {
                (xIn.data + i * plan.imageSize).update(from: xShared.pointer + (first + i) % b * plan.imageSize, count: plan.imageSize)
            }
            try record(.x_t, k, m, nil, info, xShared.pointer, [b] + plan.imageShape)
            let t = [Float](repeating: Float(info.timestep), count: rows)
            let y = (first..<(first + rows)).map { r in
                r < b ? plan.run.classes[images.lowerBound + m * b + min(r, n - 1)] : c.nullClass
            }
            work.embed(x: xIn.pointer, t: t, y: y, tokens: tokens, c: cond)
            try record(.embed, k, m, nil, info, tokens.pointer, [rows, c.tokens, c.hiddenSize])
            try record(.c, k, m, nil, info, cond.pointer, [rows, c.hiddenSize])
        }
        if let blockRecorder { (blockRecorder.step, blockRecorder.microbatch, blockRecorder.info) = (k, m, info) }
        try work.blocks(tokens: tokens, c: cond, rows: rows, step: k, microbatch: m) { block, out in
            try self.transport?.progress()
            try self.blockRecorder?.check()
            try self.record(.block, k, m, block, info, out.pointer, [rows, c.tokens, c.hiddenSize])
        }
        if isLast {
            work.finalRows(tokens: tokens, c: cond, rows: rows, into: localOut.data)
            if position.isSampler { scatter(localOut.pointer, from: position) }
        }
        trace?.add("F\(m)@\(k)", "compute", from: computeStart, step: k, microbatch: m)
        if stage != 0 && m == schedule.microbatches - 1 { try sink?.endStep(k) }
    }

    func update(step k: Int, microbatch m: Int) throws {
        let start = trace?.now ?? 0
        let c = plan.model, b = plan.microbatchSize, rows = plan.rowsPerMicrobatch
        let info = rowInfo(microbatch: m, step: k)
        Patch.unpatchify(finalOut.pointer, batch: rows, channels: c.outChannels, gridHeight: c.gridSize,
                         gridWidth: c.gridSize, patch: c.patchSize, into: modelOut.data)
        try record(.final, k, m, nil, info, modelOut.pointer, [rows, c.outChannels, c.inputSize, c.inputSize])
        if plan.doubled {
            Guidance.apply(modelOut.data, half: b, channels: plan.run.guidance.guidedChannels(c),
                           planeSize: c.inputSize * c.inputSize, rowStride: plan.outputSize, scale: Float(plan.run.cfgScale))
        }
        try record(.model_out, k, m, nil, info, modelOut.pointer, [b, c.outChannels, c.inputSize, c.inputSize])
        try sampler!.step(k, microbatch: m, output: modelOut.pointer)
        trace?.add("U\(m)@\(k)", "sampler", from: start, step: k, microbatch: m)
        if m == schedule.microbatches - 1 { try sink?.endStep(k) }
        try onUpdate?(k, m)
    }

    @inline(__always)
    func record(_ point: DumpPoint, _ k: Int, _ m: Int, _ block: Int?, _ info: RowInfo,
                _ data: UnsafePointer<Float>, _ shape: [Int]) throws {
        guard let sink, sink.wants(point, step: k) else { return }
        try sink.record(point, step: k, microbatch: m, block: block, rows: info, data: data, shape: shape)
    }
}
