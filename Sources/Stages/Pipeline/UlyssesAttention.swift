import Tensors

/// Ulysses sequence parallelism (Jacobs et al., 2023) for one rank of a
/// group of P: the rank holds T/P tokens of every image. Before attention an
/// all-to-all turns its token-split q, k, v into head-split (all T tokens,
/// H/P heads); attention runs on those heads exactly as on one rank (a head
/// is computed the same way whatever the head count); a second all-to-all
/// turns the output back to token-split. Pairwise Isend/Irecv over the
/// `Transport`, every message with a checked header.
public final class UlyssesAttention {
    let transport: Transport
    /// World ranks of the group, by part; `part` is this rank's.
    let group: [Int]
    let part: Int
    let stage: Int
    let heads: Int, headDim: Int, tokens: Int, maxBatch: Int
    let qkvHeads: Tensor, attnHeads: Tensor
    let sendBuffers: [MessageBuffer], receiveBuffers: [MessageBuffer]
    /// The step and micro-batch the next exchanges belong to (for headers).
    var step = 0, microbatch = 0

    public init(transport: Transport, group: [Int], part: Int, stage: Int, config c: DiTConfig, maxBatch: Int) {
        precondition(group.count > 1 && c.numHeads % group.count == 0 && c.tokens % group.count == 0)
        (self.transport, self.group, self.part, self.stage) = (transport, group, part, stage)
        (heads, headDim, tokens, self.maxBatch) = (c.numHeads, c.headDim, c.tokens, maxBatch)
        let p = group.count
        qkvHeads = Tensor(shape: [maxBatch * c.tokens, 3 * c.hiddenSize / p])
        attnHeads = Tensor(shape: [maxBatch * c.tokens, c.hiddenSize / p])
        let floats = maxBatch * (c.tokens / p) * 3 * (c.hiddenSize / p)
        sendBuffers = (0..<p).map { _ in MessageBuffer(floats: floats) }
        receiveBuffers = (0..<p).map { _ in MessageBuffer(floats: floats) }
    }

    var parts: Int { group.count }
    var localTokens: Int { tokens / parts }
    var partWidth: Int { heads / parts * headDim }

    /// qkv (N·T/P, 3D) of this rank's tokens → out (N·T/P, D).
    func callAsFunction(qkv: UnsafePointer<Float>, batch n: Int, block: Int, workspace ws: Workspace,
                        into out: UnsafeMutablePointer<Float>) throws {
        let d = heads * headDim, w = partWidth, tl = localTokens
        // Token-split → head-split: part q gets, of each of my tokens, its heads' q, k and v.
        try exchange(.headSplit, block: block, rows: n, floats: n * tl * 3 * w, pack: { q, dst in
            for r in 0..<(n * tl) {
                for s in 0..<3 { (dst + (r * 3 + s) * w).update(from: qkv + r * 3 * d + s * d + q * w, count: w) }
            }
        }, unpack: { q, src in
            for i in 0..<n {
                for t in 0..<tl {
                    (qkvHeads.data + (i * tokens + q * tl + t) * 3 * w).update(from: src + (i * tl + t) * 3 * w, count: 3 * w)
                }
            }
        })
        Attention.forward(qkv: qkvHeads.pointer, batch: n, tokens: tokens, heads: heads / parts, headDim: headDim,
                          scratch: ws.attention.data, threads: min(Parallel.threads, ws.attentionThreads),
                          into: attnHeads.data)                                   // (N·T, D/P)
        // Head-split → token-split: part q gets my heads' output for its tokens.
        try exchange(.tokenSplit, block: block, rows: n, floats: n * tl * w, pack: { q, dst in
            for i in 0..<n {
                (dst + i * tl * w).update(from: attnHeads.pointer + (i * tokens + q * tl) * w, count: tl * w)
            }
        }, unpack: { q, src in
            for r in 0..<(n * tl) { (out + r * d + q * w).update(from: src + r * w, count: w) }
        })
    }

    /// One all-to-all: receives posted first, then every part's share packed
    /// and sent, this rank's own share passed through, all waited for.
    func exchange(_ kind: MessageKind, block: Int, rows: Int, floats: Int,
                  pack: (Int, UnsafeMutablePointer<Float>) -> Void,
                  unpack: (Int, UnsafePointer<Float>) -> Void) throws {
        let me = group[part]
        var requests: [Int] = []
        for q in 0..<parts where q != part {
            let b = receiveBuffers[q]
            requests.append(try transport.postReceive(b.raw, bytes: MessageHeader.size + 4 * floats, from: group[q], tag: kind.tag))
        }
        for q in 0..<parts where q != part {
            let b = sendBuffers[q]
            MessageHeader(kind: kind, step: step, microbatch: microbatch, sourceStage: stage, rows: rows, floats: floats,
                          sourceRank: me, block: block).write(to: b.raw)
            pack(q, b.payload)
            requests.append(try transport.postSend(b.raw, bytes: MessageHeader.size + 4 * floats, to: group[q], tag: kind.tag))
        }
        let own = sendBuffers[part]
        pack(part, own.payload)
        unpack(part, own.payload)
        try transport.wait(requests)
        for q in 0..<parts where q != part {
            let expected = MessageHeader(kind: kind, step: step, microbatch: microbatch, sourceStage: stage, rows: rows,
                                         floats: floats, sourceRank: group[q], block: block)
            try MessageHeader.check(receiveBuffers[q], expected: expected, receiver: me)
            unpack(q, receiveBuffers[q].payload)
        }
    }
}
