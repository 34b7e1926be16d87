import CDNNL

/// y[M×N] = x[M×K] · W[K×N] + bias through oneDNN's matmul primitive with
/// bf16 weights reordered once into the primitive's blocked layout and fp32
/// accumulation. x is converted to bf16 per call (a oneDNN reorder); y is
/// fp32. Primitives are made once per row count M and reused.
final class OneDNNMatmul {
    let k: Int, n: Int
    private var weights: dnnl_memory_t?
    private var weightsDesc = dnnl_memory_desc_t()
    private var bias: dnnl_memory_t?
    private var biasDesc = dnnl_memory_desc_t()
    private var plans: [Int: Plan] = [:]

    /// One row count's primitives and memory objects (handles set per call).
    private struct Plan {
        let convert: dnnl_primitive_t, matmul: dnnl_primitive_t
        let source: dnnl_memory_t, sourceBF16: dnnl_memory_t, destination: dnnl_memory_t
    }

    /// weightT: K×N row-major fp32 (x·Wᵀ's Wᵀ); bias: N floats or nil.
    init(weightT: UnsafePointer<Float>, k: Int, n: Int, bias b: UnsafePointer<Float>?) {
        (self.k, self.n) = (k, n)
        if let b {
            var dims: [dnnl_dim_t] = [1, dnnl_dim_t(n)]
            check(dnnl_memory_desc_init_by_tag(&biasDesc, 2, &dims, dnnl_f32, dnnl_ab), "bias descriptor")
            check(dnnl_memory_create(&bias, &biasDesc, Self.engine, dit_dnnl_memory_allocate()), "bias memory")
            var handle: UnsafeMutableRawPointer?
            dnnl_memory_get_data_handle(bias, &handle)
            handle!.assumingMemoryBound(to: Float.self).update(from: b, count: n)
        }
        plans[Self.layoutRows] = makePlan(rows: Self.layoutRows, weightT: weightT)
    }

    /// The row count whose primitive picks the weights' layout.
    static let layoutRows = 256

    deinit {
        for p in plans.values {
            for prim in [p.convert, p.matmul] { dnnl_primitive_destroy(prim) }
            for mem in [p.source, p.sourceBF16, p.destination] { dnnl_memory_destroy(mem) }
        }
        if let weights { dnnl_memory_destroy(weights) }
        if let bias { dnnl_memory_destroy(bias) }
    }

    /// Bytes of the packed weights.
    var weightBytes: Int { Int(dnnl_memory_desc_get_size(&weightsDesc)) }

    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        let plan: Plan
        if let p = plans[rows] { plan = p } else { plan = makePlan(rows: rows, weightT: nil); plans[rows] = plan }
        dnnl_memory_set_data_handle(plan.source, UnsafeMutableRawPointer(mutating: x))
        dnnl_memory_set_data_handle(plan.destination, UnsafeMutableRawPointer(y))
        var convertArgs = [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: plan.source),
                           dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: plan.sourceBF16)]
        check(dnnl_primitive_execute(plan.convert, Self.stream, 2, &convertArgs), "bf16 conversion")
        var args = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: plan.sourceBF16),
                    dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: weights),
                    dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: plan.destination)]
        if let bias { args.append(dnnl_exec_arg_t(arg: DNNL_ARG_BIAS, memory: bias)) }
        check(dnnl_primitive_execute(plan.matmul, Self.stream, Int32(args.count), &args), "bf16 matmul")
        check(dnnl_stream_wait(Self.stream), "stream wait")
    }

    /// The primitives for `rows` rows. The first call (weightT given) lets
    /// oneDNN pick the weights' layout and reorders the weights into it;
    /// later calls use that layout.
    private func makePlan(rows: Int, weightT: UnsafePointer<Float>?) -> Plan {
        var srcDims: [dnnl_dim_t] = [dnnl_dim_t(rows), dnnl_dim_t(k)]
        var weiDims: [dnnl_dim_t] = [dnnl_dim_t(k), dnnl_dim_t(n)]
        var dstDims: [dnnl_dim_t] = [dnnl_dim_t(rows), dnnl_dim_t(n)]
        var src32 = dnnl_memory_desc_t(), src16 = dnnl_memory_desc_t(), dst = dnnl_memory_desc_t()
        check(dnnl_memory_desc_init_by_tag(&src32, 2, &srcDims, dnnl_f32, dnnl_ab), "source descriptor")
        check(dnnl_memory_desc_init_by_tag(&src16, 2, &srcDims, dnnl_bf16, dnnl_ab), "bf16 source descriptor")
        check(dnnl_memory_desc_init_by_tag(&dst, 2, &dstDims, dnnl_f32, dnnl_ab), "destination descriptor")
        var wei = dnnl_memory_desc_t()
        if weightT != nil {
            check(dnnl_memory_desc_init_by_tag(&wei, 2, &weiDims, dnnl_bf16, dnnl_format_tag_any), "weights descriptor")
        } else {
            wei = weightsDesc
        }
        var desc = dnnl_matmul_desc_t()
        let hasBias = bias != nil
        check(withUnsafePointer(to: &biasDesc) { b in dnnl_matmul_desc_init(&desc, &src16, &wei, hasBias ? b : nil, &dst) },
              "matmul descriptor")
        var pd: dnnl_primitive_desc_t?
        check(dnnl_primitive_desc_create(&pd, &desc, nil, Self.engine, nil), "bf16 matmul for \(rows)×\(k)×\(n)")
        defer { dnnl_primitive_desc_destroy(pd) }
        if let weightT {
            weightsDesc = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)!.pointee
            var user = dnnl_memory_desc_t()
            check(dnnl_memory_desc_init_by_tag(&user, 2, &weiDims, dnnl_f32, dnnl_ab), "fp32 weights descriptor")
            var from: dnnl_memory_t?
            check(dnnl_memory_create(&from, &user, Self.engine, UnsafeMutableRawPointer(mutating: weightT)), "fp32 weights")
            check(dnnl_memory_create(&weights, &weightsDesc, Self.engine, dit_dnnl_memory_allocate()), "bf16 weights")
            reorder(from: from!, &user, to: weights!, &weightsDesc)
            dnnl_memory_destroy(from)
        }
        var matmul: dnnl_primitive_t?
        check(dnnl_primitive_create(&matmul, pd), "matmul primitive")
        var cpd: dnnl_primitive_desc_t?
        check(dnnl_reorder_primitive_desc_create(&cpd, &src32, Self.engine, &src16, Self.engine, nil), "bf16 conversion")
        defer { dnnl_primitive_desc_destroy(cpd) }
        var convert: dnnl_primitive_t?
        check(dnnl_primitive_create(&convert, cpd), "bf16 conversion primitive")
        var source: dnnl_memory_t?, sourceBF16: dnnl_memory_t?, destination: dnnl_memory_t?
        check(dnnl_memory_create(&source, &src32, Self.engine, nil), "source memory")
        check(dnnl_memory_create(&sourceBF16, &src16, Self.engine, dit_dnnl_memory_allocate()), "bf16 source memory")
        check(dnnl_memory_create(&destination, &dst, Self.engine, nil), "destination memory")
        return Plan(convert: convert!, matmul: matmul!, source: source!, sourceBF16: sourceBF16!, destination: destination!)
    }

    private func reorder(from: dnnl_memory_t, _ fromDesc: inout dnnl_memory_desc_t, to: dnnl_memory_t,
                         _ toDesc: inout dnnl_memory_desc_t) {
        var rpd: dnnl_primitive_desc_t?
        check(dnnl_reorder_primitive_desc_create(&rpd, &fromDesc, Self.engine, &toDesc, Self.engine, nil), "weights reorder")
        defer { dnnl_primitive_desc_destroy(rpd) }
        var prim: dnnl_primitive_t?
        check(dnnl_primitive_create(&prim, rpd), "weights reorder primitive")
        defer { dnnl_primitive_destroy(prim) }
        var args = [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: from), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: to)]
        check(dnnl_primitive_execute(prim, Self.stream, 2, &args), "weights reorder")
        check(dnnl_stream_wait(Self.stream), "stream wait")
    }

    nonisolated(unsafe) static let engine: dnnl_engine_t = {
        var e: dnnl_engine_t?
        check(dnnl_engine_create(&e, dnnl_cpu, 0), "CPU engine")
        return e!
    }()

    nonisolated(unsafe) static let stream: dnnl_stream_t = {
        var s: dnnl_stream_t?
        check(dnnl_stream_create(&s, engine, dnnl_stream_default_flags.rawValue), "CPU stream")
        return s!
    }()
}

/// oneDNN calls fail only on a broken installation or an unsupported shape,
/// neither of which the input can cause: stop with the call named.
private func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
    precondition(status == dnnl_success, "oneDNN: \(what()) failed with status \(status.rawValue)")
}
