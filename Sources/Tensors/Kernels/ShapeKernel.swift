/// Data movement: nearest ×2 upsampling, concatenation and slicing along an axis, and
/// general permutation, each with its backward.
public enum ShapeKernel {
    /// (planes, H, W) → (planes, 2H, 2W)
    public static func upsample2xForward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, planes: Int, height: Int, width: Int) {
        let w2 = 2 * width
        for p in 0..<planes {
            let src = x + p * height * width, dst = y + p * 4 * height * width
            for i in 0..<height {
                let row = dst + 2 * i * w2
                for j in 0..<width { let v = src[i * width + j]; row[2 * j] = v; row[2 * j + 1] = v }
                (row + w2).update(from: row, count: w2)
            }
        }
    }

    public static func upsample2xBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, planes: Int, height: Int, width: Int) {
        let w2 = 2 * width
        for p in 0..<planes {
            let g = dy + p * 4 * height * width, d = dx + p * height * width
            for i in 0..<height {
                for j in 0..<width {
                    let a = g + 2 * i * w2 + 2 * j
                    d[i * width + j] = a[0] + a[1] + a[w2] + a[w2 + 1]
                }
            }
        }
    }

    /// Concatenates tensors that agree on all axes but `axis`: outer = Π shape[..<axis],
    /// inner = Π shape[(axis+1)...]; part k contributes sizes[k] along the axis.
    public static func concatForward(_ y: UnsafeMutablePointer<Float>, _ parts: [UnsafePointer<Float>], sizes: [Int], outer: Int, inner: Int) {
        let total = sizes.reduce(0, +)
        for o in 0..<outer {
            var offset = 0
            for (k, part) in parts.enumerated() {
                (y + (o * total + offset) * inner).update(from: part + o * sizes[k] * inner, count: sizes[k] * inner)
                offset += sizes[k]
            }
        }
    }

    /// The gradient of part `index` (overwritten).
    public static func concatBackward(_ dpart: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, index: Int, sizes: [Int], outer: Int, inner: Int) {
        let total = sizes.reduce(0, +)
        let offset = sizes[..<index].reduce(0, +)
        for o in 0..<outer {
            dpart.advanced(by: o * sizes[index] * inner).update(from: dy + (o * total + offset) * inner, count: sizes[index] * inner)
        }
    }

    /// y = x[..., start..<end, ...] along an axis of length `length`.
    public static func sliceForward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, outer: Int, length: Int,
                                    inner: Int, start: Int, end: Int) {
        let n = end - start
        for o in 0..<outer { (y + o * n * inner).update(from: x + (o * length + start) * inner, count: n * inner) }
    }

    public static func sliceBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, outer: Int, length: Int,
                                     inner: Int, start: Int, end: Int) {
        dx.update(repeating: 0, count: outer * length * inner)
        let n = end - start
        for o in 0..<outer { (dx + (o * length + start) * inner).update(from: dy + o * n * inner, count: n * inner) }
    }

    /// y = xᵀ with y.shape[i] = x.shape[order[i]].
    public static func permute(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, shape: [Int], order: [Int]) {
        let rank = shape.count
        var strides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * shape[i + 1] }
        let outShape = order.map { shape[$0] }
        let srcStrides = order.map { strides[$0] }
        let count = shape.reduce(1, *)
        var index = [Int](repeating: 0, count: rank)
        var src = 0
        for i in 0..<count {
            y[i] = x[src]
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                src += srcStrides[d]
                if index[d] < outShape[d] { break }
                src -= srcStrides[d] * outShape[d]
                index[d] = 0
                d -= 1
            }
        }
    }
}
