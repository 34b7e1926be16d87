import Foundation
import Tensors

/// Interprets one rank's actions of a `Schedule`: receives into pre-posted
/// buffers (`Schedule.receiveDepth`), computes its slice of the model, sends
/// with at most `Schedule.sendSlots` messages in flight, and (on stage 0)
/// runs the sampler.
/// Single-process sampling is the same runner with one stage.
public final class PipelineRunner {
    public let plan: SamplingPlan
    public let stage: Int
    public let replica: Int
    public let schedule: Schedule
    let actions: [Action]
    var pc = 0
    let model: DiT?
    let transport: Transport?
    let sink: ActivationSink?
    public let trace: Trace?
    let noise: NoiseSource?
    /// Seconds one block takes in `--simulate` mode (model is nil then).
    let simulatedBlockSeconds: Double
    /// Called on stage 0 after each sampler update (step, micro-batch).
    public var onUpdate: ((Int, Int) -> Void)?

    var isFirst: Bool { stage == 0 }
    var isLast: Bool { stage == plan.stages - 1 }

    /// This replica's images (global indices) and, on stage 0, their latents.
    public let images: Range<Int>
    public let latents: Tensor?
    let ws: Workspace?
    let tokens: Tensor
    let cond: Tensor
    let xIn: Tensor
    let modelOut: Tensor
    let noiseBuffer: Tensor
    /// dpm-solver++ on stage 0: each image's previous data prediction.
    let history: Tensor?

    let receiveSlots: [MessageBuffer]
    let sendSlots: [MessageBuffer]
    let totalReceives: Int
    var receiveSeq = 0
    var sendSeq = 0
    var currentInput: MessageBuffer?
    var pendingSend: MessageBuffer?

    static let activationTag = 1, outputTag = 2

    public init(plan: SamplingPlan, stage: Int, replica: Int, model: DiT?, transport: Transport?,
                noise: NoiseSource?, sink: ActivationSink? = nil, trace: Trace? = nil,
                simulatedBlockSeconds: Double = 0) throws {
        self.plan = plan
        self.stage = stage
        self.replica = replica
        schedule = plan.schedule(replica: replica)
        actions = schedule.actions[stage]
        self.model = model
        self.transport = transport
        self.noise = noise
        self.sink = sink
        self.trace = trace
        self.simulatedBlockSeconds = simulatedBlockSeconds
        precondition(plan.stages == 1 || transport != nil, "a multi-stage run needs a transport")

        let c = plan.model, rows = plan.rowsPerMicrobatch
        images = plan.images(replica: replica)
        ws = model.map { _ in Workspace(config: c, maxBatch: rows) }
        tokens = Tensor(shape: [rows * c.tokens, c.hiddenSize])
        cond = Tensor(shape: [rows, c.hiddenSize])
        xIn = Tensor(shape: [stage == 0 ? rows : 0, plan.imageSize])
        modelOut = Tensor(shape: [stage == plan.stages - 1 ? rows : 0, plan.outputSize])
        noiseBuffer = Tensor(shape: [plan.imageSize])
        if stage == 0 {
            guard let noise else { throw DiTError("stage 0 needs a noise source") }
            let l = Tensor(shape: [images.count] + plan.imageShape)
            for (j, image) in images.enumerated() { try noise.initial(image: image, into: l.data + j * plan.imageSize) }
            latents = l
        } else {
            latents = nil
        }
        if stage == 0, case .dpmSolver = plan.sampler {
            history = Tensor(shape: [images.count, plan.imageSize])
        } else {
            history = nil
        }

        let last = plan.stages - 1
        let inFloats = stage == 0 ? plan.outputFloats : plan.activationFloats
        let outFloats = stage == last ? plan.outputFloats : plan.activationFloats
        totalReceives = plan.stages == 1 ? 0 : actions.filter { if case .receive = $0 { return true } else { return false } }.count
        let depth = schedule.receiveDepth(stage: stage)
        receiveSlots = plan.stages == 1 ? [] : (0..<depth).map { _ in MessageBuffer(floats: inFloats) }
        sendSlots = plan.stages == 1 ? [] : (0..<Schedule.sendSlots).map { _ in MessageBuffer(floats: outFloats) }
        for n in 0..<min(receiveSlots.count, totalReceives) { try postReceive(seq: n) }
    }

    public var isDone: Bool { pc == actions.count && sendSlots.allSatisfy { $0.request == nil } }

    var incomingPeer: Int { plan.rank(replica: replica, stage: stage == 0 ? plan.stages - 1 : stage - 1) }
    var incomingTag: Int { stage == 0 ? Self.outputTag : Self.activationTag }

    func postReceive(seq: Int) throws {
        let slot = receiveSlots[seq % receiveSlots.count]
        slot.request = try transport!.postReceive(slot.raw, bytes: slot.bytes, from: incomingPeer, tag: incomingTag)
    }

    /// The requests this rank is blocked on, for a blocking wait.
    public var blockingRequests: [Int] {
        if pc < actions.count, case .receive = actions[pc], let r = receiveSlots[receiveSeq % receiveSlots.count].request { return [r] }
        return sendSlots.compactMap(\.request)
    }

    /// Runs actions until one must wait. Returns whether anything happened.
    @discardableResult
    public func advance() throws -> Bool {
        var progressed = false
        while pc < actions.count {
            guard try execute(actions[pc]) else { return progressed }
            pc += 1
            progressed = true
        }
        // Drain: every send must complete before the rank may finish.
        for slot in sendSlots {
            if let r = slot.request, try transport!.test(r) { slot.request = nil; progressed = true }
        }
        return progressed
    }

    /// Runs to completion, blocking in the transport while waiting.
    public func run() throws {
        while !isDone {
            if try !advance(), !isDone {
                let start = trace?.now ?? 0
                try transport!.waitAny(blockingRequests)
                trace?.add("wait", "wait", from: start)
            }
        }
        try sink?.close()
    }

    func execute(_ action: Action) throws -> Bool {
        switch action {
        case let .receive(k, m, from):
            let slot = receiveSlots[receiveSeq % receiveSlots.count]
            if let r = slot.request {
                guard try transport!.test(r) else { return false }
                slot.request = nil
            }
            try checkHeader(slot, step: k, microbatch: m, from: from)
            currentInput = slot
            receiveSeq += 1
            trace?.add("recv", "receive", from: trace!.now, step: k, microbatch: m)
        case let .forward(k, m):
            try forward(step: k, microbatch: m)
        case let .send(k, m, to):
            guard let slot = pendingSend else { throw DiTError("stage \(stage): send \(action) without a computed message") }
            let peer = plan.rank(replica: replica, stage: to)
            let start = trace?.now ?? 0
            slot.request = try transport!.postSend(slot.raw, bytes: slot.bytes, to: peer,
                                                   tag: to == 0 ? Self.outputTag : Self.activationTag)
            trace?.add("send", "send", from: start, step: k, microbatch: m)
            pendingSend = nil
            sendSeq += 1
        case let .update(k, m):
            try update(step: k, microbatch: m)
        }
        return true
    }

    func checkHeader(_ slot: MessageBuffer, step: Int, microbatch: Int, from: Int) throws {
        let expectKind: MessageKind = stage == 0 ? .modelOutput : .activations
        let floats = (slot.bytes - MessageHeader.size) / 4
        let expected = MessageHeader(kind: expectKind, step: step, microbatch: microbatch, sourceStage: from,
                                     rows: stage == 0 ? plan.microbatchSize : plan.rowsPerMicrobatch, floats: floats)
        guard let h = MessageHeader.read(from: slot.raw) else {
            throw DiTError("rank \(transport!.rank) (stage \(stage)): received a message without a valid header from stage \(from); are all ranks running the same build and config?")
        }
        guard h == expected else {
            throw DiTError("rank \(transport!.rank) (stage \(stage)): expected \(expected) but received \(h); are all ranks running the same config?")
        }
    }

    /// Releases the consumed input buffer and re-posts its receive.
    func releaseInput() throws {
        let consumed = receiveSeq - 1
        if consumed + receiveSlots.count < totalReceives { try postReceive(seq: consumed + receiveSlots.count) }
        currentInput = nil
    }

    /// The next send buffer, once its previous message has left.
    func acquireSendSlot() throws -> MessageBuffer {
        let slot = sendSlots[sendSeq % sendSlots.count]
        if let r = slot.request {
            let start = trace?.now ?? 0
            try transport!.wait([r])
            slot.request = nil
            trace?.add("send wait", "wait", from: start)
        }
        return slot
    }

    func rowInfo(microbatch m: Int, step k: Int) -> RowInfo {
        let b = plan.microbatchSize
        let ids = (0..<b).map { j -> Int in
            let local = m * b + j
            return local < images.count ? images.lowerBound + local : -1
        }
        return RowInfo(images: ids, doubled: plan.doubled, timestep: plan.timesteps[k])
    }

    func realImages(microbatch m: Int) -> Int { min(plan.microbatchSize, images.count - m * plan.microbatchSize) }

    func forward(step k: Int, microbatch m: Int) throws {
        let c = plan.model, rows = plan.rowsPerMicrobatch, b = plan.microbatchSize
        let info = rowInfo(microbatch: m, step: k)
        let computeStart = trace?.now ?? 0
        if isFirst {
            let latents = latents!, n = realImages(microbatch: m)
            for j in 0..<b {
                let src = latents.data + (m * b + min(j, n - 1)) * plan.imageSize
                (xIn.data + j * plan.imageSize).update(from: src, count: plan.imageSize)
                if plan.doubled { (xIn.data + (b + j) * plan.imageSize).update(from: src, count: plan.imageSize) }
            }
            try record(.x_t, k, m, nil, info, xIn.pointer, [b] + plan.imageShape)
            let t = [Float](repeating: Float(info.timestep), count: rows)
            let labels = (0..<b).map { plan.run.classes[images.lowerBound + m * b + min($0, n - 1)] }
            let y = labels + (plan.doubled ? [Int](repeating: c.nullClass, count: b) : [])
            if let model {
                model.embed(x: xIn.pointer, t: t, y: y, tokens: tokens, c: cond, workspace: ws!)
            }
            try record(.embed, k, m, nil, info, tokens.pointer, [rows, c.tokens, c.hiddenSize])
            try record(.c, k, m, nil, info, cond.pointer, [rows, c.hiddenSize])
        } else {
            let input = currentInput!
            tokens.data.update(from: input.payload, count: tokens.count)
            cond.data.update(from: input.payload + tokens.count, count: cond.count)
            try releaseInput()
        }

        var pollError: Error?
        if let model {
            model.runBlocks(tokens: tokens, c: cond, batch: rows, workspace: ws!) { block, out in
                do {
                    try self.transport?.progress()
                    try self.record(.block, k, m, block, info, out.pointer, [rows, c.tokens, c.hiddenSize])
                } catch { pollError = pollError ?? error }
            }
        } else {
            // Sleep in 2 ms slices with progress calls between, so message
            // latency stays far below a block and does not skew the study;
            // shorter slices only add wake-ups when 28 ranks share 2 cores.
            let end = Date().addingTimeInterval(simulatedBlockSeconds * Double(plan.partition.ranges[stage].count))
            while case let left = end.timeIntervalSinceNow, left > 0 {
                usleep(UInt32(min(left, 2e-3) * 1e6))
                try transport?.progress()
            }
        }
        if let pollError { throw pollError }

        if isLast {
            if let model { model.finish(tokens: tokens, c: cond, batch: rows, workspace: ws!, into: modelOut.data) }
            try record(.final, k, m, nil, info, modelOut.pointer, [rows, c.outChannels, c.inputSize, c.inputSize])
            if plan.doubled {
                Guidance.apply(modelOut.data, half: b, channels: plan.run.guidance.guidedChannels(c),
                               planeSize: c.inputSize * c.inputSize, rowStride: plan.outputSize,
                               scale: Float(plan.run.cfgScale))
            }
        }
        trace?.add("F\(m)@\(k)", "compute", from: computeStart, step: k, microbatch: m)
        if !isFirst && m == schedule.microbatches - 1 { try sink?.endStep(k) }

        guard plan.stages > 1 else { return }   // one stage: the update reads modelOut directly
        let slot = try acquireSendSlot()
        if isLast {
            MessageHeader(kind: .modelOutput, step: k, microbatch: m, sourceStage: stage, rows: b,
                          floats: plan.outputFloats).write(to: slot.raw)
            slot.payload.update(from: modelOut.data, count: plan.outputFloats)
        } else {
            MessageHeader(kind: .activations, step: k, microbatch: m, sourceStage: stage, rows: rows,
                          floats: plan.activationFloats).write(to: slot.raw)
            slot.payload.update(from: tokens.data, count: tokens.count)
            (slot.payload + tokens.count).update(from: cond.data, count: cond.count)
        }
        pendingSend = slot
    }

    func update(step k: Int, microbatch m: Int) throws {
        let start = trace?.now ?? 0
        let output: UnsafePointer<Float> = plan.stages == 1 ? modelOut.pointer : UnsafePointer(currentInput!.payload)
        let info = rowInfo(microbatch: m, step: k)
        try record(.model_out, k, m, nil, info, output, [plan.microbatchSize, plan.model.outChannels, plan.model.inputSize, plan.model.inputSize])
        let i = plan.steps - 1 - k, b = plan.microbatchSize
        let latents = latents!
        for j in 0..<realImages(microbatch: m) {
            let local = m * b + j
            // Deterministic samplers draw nothing after z; their noise term is σ = 0 times a zero buffer.
            if !plan.sampler.isDeterministic { try noise!.step(k, image: images.lowerBound + local, into: noiseBuffer.data) }
            let x = latents.data + local * plan.imageSize
            let eps = output + j * plan.outputSize
            switch plan.sampler {
            case .ddim(let d, let eta):
                d.ddimStep(x: x, modelOutput: eps, count: plan.imageSize, step: i, eta: eta,
                           noise: noiseBuffer.pointer, clipDenoised: plan.run.clipDenoised)
            case .ddpm(let d):
                d.ddpmStep(x: x, modelOutput: eps, count: plan.imageSize, step: i, noise: noiseBuffer.pointer,
                           clipDenoised: plan.run.clipDenoised)
            case .dpmSolver(let s):
                s.step(x: x, eps: eps, history: history!.data + local * plan.imageSize, count: plan.imageSize, step: k)
            }
        }
        if currentInput != nil { try releaseInput() }
        trace?.add("U\(m)@\(k)", "sampler", from: start, step: k, microbatch: m)
        if m == schedule.microbatches - 1 { try sink?.endStep(k) }
        onUpdate?(k, m)
    }

    @inline(__always)
    func record(_ point: DumpPoint, _ k: Int, _ m: Int, _ block: Int?, _ info: RowInfo,
                _ data: UnsafePointer<Float>, _ shape: [Int]) throws {
        guard let sink, sink.wants(point, step: k) else { return }
        try sink.record(point, step: k, microbatch: m, block: block, rows: info, data: data, shape: shape)
    }
}
