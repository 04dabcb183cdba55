import CBLAS

/// y = x·Wᵀ + b. x (N, in), W (out, in), b (out), y (N, out).
public enum LinearKernel {
    public static func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                               _ b: UnsafePointer<Float>?, batch: Int, inFeatures: Int, outFeatures: Int) {
        if let b {
            for r in 0..<batch { (y + r * outFeatures).update(from: b, count: outFeatures) }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(batch), Int32(outFeatures), Int32(inFeatures), 1,
                    x, Int32(inFeatures), w, Int32(inFeatures), b == nil ? 0 : 1, y, Int32(outFeatures))
    }

    /// dx = dy·W (overwritten).
    public static func backwardInput(_ dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, w: UnsafePointer<Float>,
                                     batch: Int, inFeatures: Int, outFeatures: Int) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(batch), Int32(inFeatures), Int32(outFeatures), 1,
                    dy, Int32(outFeatures), w, Int32(inFeatures), 0, dx, Int32(inFeatures))
    }

    /// dW += dyᵀ·x; db += Σ_rows dy (db may be nil).
    public static func backwardWeight(dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>,
                                      x: UnsafePointer<Float>, batch: Int, inFeatures: Int, outFeatures: Int) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(outFeatures), Int32(inFeatures), Int32(batch), 1,
                    dy, Int32(outFeatures), x, Int32(inFeatures), 1, dw, Int32(inFeatures))
        if let db {
            for r in 0..<batch {
                let row = dy + r * outFeatures
                for o in 0..<outFeatures { db[o] += row[o] }
            }
        }
    }
}
