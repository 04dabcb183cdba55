/// Typed failures of the tensor engine; the message names the op and the offending value.
public enum TensorError: Error, Equatable, Sendable, CustomStringConvertible {
    case shapeMismatch(op: String, expected: String, got: [Int])
    case invalidArgument(op: String, message: String)
    case nonFiniteLoss(step: Int, value: Float)
    case safetensors(String)
    case io(path: String, message: String)

    public var description: String {
        switch self {
        case .shapeMismatch(let op, let expected, let got): "\(op): expected shape \(expected), got \(got)"
        case .invalidArgument(let op, let message): "\(op): \(message)"
        case .nonFiniteLoss(let step, let value): "loss is \(value) at step \(step)"
        case .safetensors(let message): "safetensors: \(message)"
        case .io(let path, let message): "\(path): \(message)"
        }
    }
}
