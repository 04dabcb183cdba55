/// Sizes of a 2-D convolution (or pooling window) over an NCHW input.
public struct ConvGeometry: Sendable, Hashable {
    public var batch, inChannels, height, width: Int
    public var outChannels, kernelH, kernelW: Int
    public var strideH, strideW, padH, padW, dilationH, dilationW, groups: Int

    public init(batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int,
                kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                dilation: (Int, Int) = (1, 1), groups: Int = 1) {
        self.batch = batch; self.inChannels = inChannels; self.height = height; self.width = width
        self.outChannels = outChannels; kernelH = kernel.0; kernelW = kernel.1
        strideH = stride.0; strideW = stride.1; padH = padding.0; padW = padding.1
        dilationH = dilation.0; dilationW = dilation.1; self.groups = groups
    }

    public var outHeight: Int { (height + 2 * padH - dilationH * (kernelH - 1) - 1) / strideH + 1 }
    public var outWidth: Int { (width + 2 * padW - dilationW * (kernelW - 1) - 1) / strideW + 1 }
    public var inPerGroup: Int { inChannels / groups }
    public var outPerGroup: Int { outChannels / groups }
    /// Rows of the im2col matrix of one group: (C/g)·kh·kw.
    public var patch: Int { inPerGroup * kernelH * kernelW }
    public var outPlane: Int { outHeight * outWidth }
    public var inPlane: Int { height * width }
    public var weightCount: Int { outChannels * patch }
    /// A 1×1, stride-1, unpadded convolution reads its input directly as the GEMM operand.
    public var isPointwise: Bool {
        kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0
    }
    /// Multiply-adds of the forward pass.
    public var macs: Int { batch * outChannels * outPlane * patch }

    public func validate(op: String) throws {
        guard batch > 0, inChannels > 0, height > 0, width > 0, outChannels > 0, kernelH > 0, kernelW > 0,
              strideH > 0, strideW > 0, padH >= 0, padW >= 0, dilationH > 0, dilationW > 0, groups > 0 else {
            throw TensorError.invalidArgument(op: op, message: "sizes must be positive: \(self)")
        }
        guard inChannels % groups == 0, outChannels % groups == 0 else {
            throw TensorError.invalidArgument(op: op, message: "channels \(inChannels)→\(outChannels) not divisible by groups \(groups)")
        }
        guard outHeight > 0, outWidth > 0 else {
            throw TensorError.invalidArgument(op: op, message: "kernel larger than padded input \(height)×\(width)")
        }
    }
}
