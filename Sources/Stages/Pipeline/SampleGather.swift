import Tensors

/// The end of a run: every replica's sampler sends its final latents, with a
/// checked header, to world rank 0, which returns all images in order.
public enum SampleGather {
    /// All images' latents on world rank 0 (itself replica 0's sampler); nil elsewhere.
    public static func gather(sampler: SamplerState?, plan: SamplingPlan, transport: Transport?) throws -> Tensor? {
        let rank = transport?.rank ?? 0
        func header(replica r: Int) -> MessageHeader {
            let images = plan.images(replica: r)
            return MessageHeader(kind: .samples, step: plan.steps - 1, microbatch: -1, sourceStage: 0, rows: images.count,
                                 floats: images.count * plan.imageSize, sourceRank: plan.samplerRank(replica: r))
        }
        if rank != 0 {
            guard let sampler, let transport else { return nil }
            let replica = plan.layout.position(rank: rank).replica
            let h = header(replica: replica), buffer = MessageBuffer(floats: Int(h.floats))
            h.write(to: buffer.raw)
            buffer.payload.update(from: sampler.latents.data, count: sampler.latents.count)
            try transport.wait([try transport.postSend(buffer.raw, bytes: buffer.bytes, to: 0, tag: MessageKind.samples.tag)])
            return nil
        }
        let all = Tensor(shape: [plan.run.classes.count] + plan.imageShape)
        all.data.update(from: sampler!.latents.data, count: sampler!.latents.count)
        for r in 1..<plan.replicas {
            let h = header(replica: r), buffer = MessageBuffer(floats: Int(h.floats))
            try transport!.wait([try transport!.postReceive(buffer.raw, bytes: buffer.bytes, from: Int(h.sourceRank),
                                                             tag: MessageKind.samples.tag)])
            try MessageHeader.check(buffer, expected: h, receiver: 0)
            (all.data + plan.images(replica: r).lowerBound * plan.imageSize).update(from: buffer.payload, count: Int(h.floats))
        }
        return all
    }
}
