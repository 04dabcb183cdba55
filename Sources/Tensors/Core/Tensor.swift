import Foundation

/// A contiguous Float32 tensor, row-major (NCHW for images). A tensor is a view of shared
/// storage: copies share it (reference semantics, no copy-on-write in hot loops); use
/// `copy()` for an independent tensor.
public struct Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let storage: TensorStorage

    public var count: Int { shape.reduce(1, *) }
    public var pointer: UnsafeMutablePointer<Float> { storage.pointer }
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: storage.pointer, count: count) }
    public var rank: Int { shape.count }

    public init(shape: [Int], storage: TensorStorage) {
        precondition(storage.capacity >= shape.reduce(1, *), "storage smaller than shape \(shape)")
        self.shape = shape
        self.storage = storage
    }

    /// Uninitialised memory (from `pool` when given).
    public init(uninitialized shape: [Int], pool: BufferPool? = nil) {
        let n = shape.reduce(1, *)
        self.init(shape: shape, storage: pool?.take(n) ?? TensorStorage(capacity: n))
    }

    public init(zeros shape: [Int], pool: BufferPool? = nil) {
        self.init(uninitialized: shape, pool: pool)
        pointer.update(repeating: 0, count: count)
    }

    public init(repeating value: Float, shape: [Int]) {
        self.init(uninitialized: shape)
        pointer.update(repeating: value, count: count)
    }

    public init(shape: [Int], values: [Float]) throws {
        guard shape.reduce(1, *) == values.count else {
            throw TensorError.shapeMismatch(op: "Tensor(values:)", expected: "\(values.count) elements", got: shape)
        }
        self.init(uninitialized: shape)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    /// Uniform in [low, high) from `rng`.
    public init(uniform shape: [Int], low: Float, high: Float, rng: inout RandomState) {
        self.init(uninitialized: shape)
        for i in 0..<count { pointer[i] = low + (high - low) * rng.nextFloat() }
    }

    /// Normal(0, std) from `rng`.
    public init(normal shape: [Int], std: Float, rng: inout RandomState) {
        self.init(uninitialized: shape)
        for i in 0..<count { pointer[i] = std * rng.nextGaussian() }
    }

    public var scalars: [Float] { Array(buffer) }

    public subscript(index: Int) -> Float {
        get { pointer[index] }
        nonmutating set { pointer[index] = newValue }
    }

    public func copy() -> Tensor {
        let out = Tensor(uninitialized: shape)
        out.pointer.update(from: pointer, count: count)
        return out
    }

    /// The same storage seen with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard newShape.reduce(1, *) == count else {
            throw TensorError.shapeMismatch(op: "reshape", expected: "\(count) elements", got: newShape)
        }
        return Tensor(shape: newShape, storage: storage)
    }

    public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }

    public func copy(from other: Tensor) {
        precondition(other.count == count)
        pointer.update(from: other.pointer, count: count)
    }
}
