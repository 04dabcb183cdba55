import Foundation

/// A read cursor over parsed YAML that knows its key path and remembers which keys were read,
/// so that unknown keys can be reported (`finish()`).
public final class ConfigNode {
    public let path: String
    let value: Any?
    private var read: Set<String> = []
    private var children: [ConfigNode] = []

    init(path: String, value: Any?) {
        self.path = path
        self.value = value
    }

    private func key(_ k: String) -> String { path.isEmpty ? k : "\(path).\(k)" }

    private var dictionary: [String: Any] {
        get throws {
            guard let d = value as? [String: Any] else { throw ConfigError(path, "expected a mapping") }
            // `key: null` (or `--set key=null`) means the key is not set.
            return d.filter { !($0.value is NSNull) }
        }
    }

    public func has(_ k: String) throws -> Bool { try dictionary[k] != nil }

    /// Whether the value at `k` is a list.
    public func isList(_ k: String) throws -> Bool { try dictionary[k] is [Any] }

    /// The sub-mapping at `k` (an empty one when absent and `required` is false).
    public func node(_ k: String, required: Bool = true) throws -> ConfigNode {
        read.insert(k)
        let v = try dictionary[k]
        if v == nil && required { throw ConfigError(key(k), "missing (required)") }
        let child = ConfigNode(path: key(k), value: v ?? [String: Any]())
        children.append(child)
        return child
    }

    /// The list of mappings at `k` (empty when absent), each a node with its index in the path.
    public func nodes(_ k: String) throws -> [ConfigNode] {
        read.insert(k)
        guard let v = try dictionary[k] else { return [] }
        guard let list = v as? [Any] else { throw ConfigError(key(k), "expected a list") }
        return list.enumerated().map { i, item in
            let child = ConfigNode(path: "\(key(k))[\(i)]", value: item)
            children.append(child)
            return child
        }
    }

    public func string(_ k: String, default fallback: String? = nil) throws -> String {
        read.insert(k)
        guard let v = try dictionary[k] else {
            if let fallback { return fallback }
            throw ConfigError(key(k), "missing (required)")
        }
        guard let s = v as? String else { throw ConfigError(key(k), "expected a string, got \(v)") }
        return s
    }

    public func int(_ k: String, default fallback: Int? = nil, range: ClosedRange<Int>? = nil) throws -> Int {
        read.insert(k)
        guard let v = try dictionary[k] else {
            if let fallback { return fallback }
            throw ConfigError(key(k), "missing (required)")
        }
        guard let i = v as? Int else { throw ConfigError(key(k), "expected an integer, got \(v)") }
        if let range, !range.contains(i) { throw ConfigError(key(k), "expected \(range.lowerBound)...\(range.upperBound), got \(i)") }
        return i
    }

    public func oneOf(_ k: String, _ allowed: [Int], default fallback: Int? = nil) throws -> Int {
        let i = try int(k, default: fallback)
        guard allowed.contains(i) else {
            throw ConfigError(key(k), "expected one of \(allowed.map(String.init).joined(separator: ", ")), got \(i)")
        }
        return i
    }

    public func oneOf(_ k: String, _ allowed: [String], default fallback: String? = nil) throws -> String {
        let s = try string(k, default: fallback)
        guard allowed.contains(s) else { throw ConfigError(key(k), "expected one of \(allowed.joined(separator: ", ")), got \(s)") }
        return s
    }

    public func double(_ k: String, default fallback: Double? = nil, range: ClosedRange<Double>? = nil) throws -> Double {
        read.insert(k)
        guard let v = try dictionary[k] else {
            if let fallback { return fallback }
            throw ConfigError(key(k), "missing (required)")
        }
        let d: Double
        if let x = v as? Double { d = x } else if let i = v as? Int { d = Double(i) } else {
            throw ConfigError(key(k), "expected a number, got \(v)")
        }
        guard d.isFinite else { throw ConfigError(key(k), "expected a finite number, got \(d)") }
        if let range, !range.contains(d) { throw ConfigError(key(k), "expected \(range.lowerBound)...\(range.upperBound), got \(d)") }
        return d
    }

    public func bool(_ k: String, default fallback: Bool? = nil) throws -> Bool {
        read.insert(k)
        guard let v = try dictionary[k] else {
            if let fallback { return fallback }
            throw ConfigError(key(k), "missing (required)")
        }
        guard let b = v as? Bool else { throw ConfigError(key(k), "expected true or false, got \(v)") }
        return b
    }

    public func doubles(_ k: String, count: Int? = nil, default fallback: [Double]? = nil) throws -> [Double] {
        read.insert(k)
        guard let v = try dictionary[k] else {
            if let fallback { return fallback }
            throw ConfigError(key(k), "missing (required)")
        }
        guard let list = v as? [Any] else { throw ConfigError(key(k), "expected a list of numbers") }
        let values = try list.enumerated().map { i, x -> Double in
            if let d = x as? Double { return d }
            if let n = x as? Int { return Double(n) }
            throw ConfigError("\(key(k))[\(i)]", "expected a number, got \(x)")
        }
        if let count, values.count != count { throw ConfigError(key(k), "expected \(count) values, got \(values.count)") }
        return values
    }

    /// Fails on the first key that nothing read (recursively), naming its path.
    public func finish() throws {
        if let d = value as? [String: Any] {
            for k in d.keys.sorted() where !read.contains(k) && !(d[k] is NSNull) {
                throw ConfigError(key(k), "unknown key")
            }
        }
        for child in children { try child.finish() }
    }
}
