/// A building block with named parameters (trained) and buffers (saved, not trained, e.g.
/// batch-norm running statistics). Names are dotted paths: "stage1.0.conv1.weight".
public protocol Module: AnyObject {
    /// Direct children with their names; parameters of children are found recursively.
    var children: [(String, any Module)] { get }
    /// This module's own parameters (not its children's).
    var ownParameters: [(String, Variable)] { get }
    /// This module's own buffers.
    var ownBuffers: [(String, Tensor)] { get }
}

/// A module applied to one input.
public protocol Layer: Module {
    func callAsFunction(_ x: Variable, _ graph: Graph) throws -> Variable
}

extension Module {
    public var children: [(String, any Module)] { [] }
    public var ownParameters: [(String, Variable)] { [] }
    public var ownBuffers: [(String, Tensor)] { [] }

    public func namedParameters(prefix: String = "") -> [(String, Variable)] {
        var out = ownParameters.map { (prefix + $0.0, $0.1) }
        for (name, child) in children { out += child.namedParameters(prefix: prefix + name + ".") }
        return out
    }

    public func namedBuffers(prefix: String = "") -> [(String, Tensor)] {
        var out = ownBuffers.map { (prefix + $0.0, $0.1) }
        for (name, child) in children { out += child.namedBuffers(prefix: prefix + name + ".") }
        return out
    }

    public var parameters: [Variable] { namedParameters().map(\.1) }

    /// Every parameter and buffer by name (what a weights file holds).
    public func stateDict() -> [(String, Tensor)] {
        namedParameters().map { ($0.0, $0.1.value) } + namedBuffers()
    }

    /// Copies values from `state` into this module's parameters and buffers. Every name must
    /// be present with the same shape.
    public func load(stateDict state: [String: Tensor]) throws {
        for (name, target) in stateDict() {
            guard let source = state[name] else {
                throw TensorError.invalidArgument(op: "load(stateDict:)", message: "missing tensor '\(name)'")
            }
            guard source.shape == target.shape else {
                throw TensorError.shapeMismatch(op: "load(stateDict:) '\(name)'", expected: "\(target.shape)", got: source.shape)
            }
            target.copy(from: source)
        }
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }
}
