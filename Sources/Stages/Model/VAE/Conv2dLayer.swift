import Tensors

/// nn.Conv2d with square kernel, stride 1 and "same" padding (k / 2), as
/// every convolution in the AutoencoderKL decoder is.
struct Conv2dLayer {
    let inChannels: Int
    let outChannels: Int
    let kernel: Int
    /// (out, in·k·k): the row-major left operand of the im2col gemm as stored.
    let weight: Tensor
    let bias: Tensor

    init(_ weights: VAEWeights, _ prefix: String) throws {
        let w = try weights.tensor(prefix + ".weight")
        (outChannels, inChannels, kernel) = (w.shape[0], w.shape[1], w.shape[2])
        weight = w
        bias = try weights.tensor(prefix + ".bias")
    }

    func geometry(height: Int, width: Int) -> Conv2d.Geometry {
        Conv2d.Geometry(channels: inChannels, height: height, width: width, outChannels: outChannels,
                        kernel: kernel, padding: kernel / 2)
    }

    /// One image: x (in, h, w) → y (out, h, w).
    func callAsFunction(_ x: UnsafePointer<Float>, height: Int, width: Int, workspace ws: VAEWorkspace,
                        into y: UnsafeMutablePointer<Float>) {
        let g = geometry(height: height, width: width)
        Conv2d.forward(x, batch: 1, geometry: g, weight: weight.pointer, bias: bias.pointer,
                       scratch: ws.convScratch(g), into: y)
    }
}
