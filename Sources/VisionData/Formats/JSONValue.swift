import Foundation

/// Lenient number access into `JSONSerialization` output.
enum JSONValue {
    /// An integral JSON number (1 or 1.0), else nil.
    static func int(_ v: Any?) -> Int? {
        guard let n = v as? NSNumber else { return nil }
        let d = n.doubleValue
        return d == d.rounded() && abs(d) < 1e15 ? Int(d) : nil
    }

    /// A finite JSON number, else nil.
    static func double(_ v: Any?) -> Double? {
        guard let n = v as? NSNumber else { return nil }
        return n.doubleValue.isFinite ? n.doubleValue : nil
    }
}
