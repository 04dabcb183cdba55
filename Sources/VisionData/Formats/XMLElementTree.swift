import Foundation

/// A small XML reader for annotation files (Pascal VOC): elements, attributes skipped, text
/// with the five predefined entities and numeric references decoded, comments / declarations
/// / CDATA handled. Not a validating parser; malformed nesting is an error.
struct XMLNode {
    var name: String
    var text: String = ""
    var children: [XMLNode] = []

    func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }
    func all(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }
    /// Trimmed text of the named child.
    func value(_ name: String) -> String? { child(name)?.text.trimmingCharacters(in: .whitespacesAndNewlines) }

    struct ParseError: Error { let reason: String }

    static func parse(_ source: String) throws(ParseError) -> XMLNode {
        let s = Array(source.utf8)
        var i = 0
        var stack: [XMLNode] = [XMLNode(name: "#document")]
        func starts(_ prefix: String) -> Bool {
            let p = Array(prefix.utf8)
            return i + p.count <= s.count && Array(s[i..<(i + p.count)]) == p
        }
        func skip(past terminator: String) throws(ParseError) {
            let t = Array(terminator.utf8)
            while i + t.count <= s.count {
                if Array(s[i..<(i + t.count)]) == t { i += t.count; return }
                i += 1
            }
            throw ParseError(reason: "unterminated construct, expected \(terminator)")
        }
        while i < s.count {
            if s[i] != UInt8(ascii: "<") {
                let start = i
                while i < s.count, s[i] != UInt8(ascii: "<") { i += 1 }
                stack[stack.count - 1].text += decode(String(decoding: s[start..<i], as: UTF8.self))
                continue
            }
            if starts("<!--") { try skip(past: "-->"); continue }
            if starts("<![CDATA[") {
                i += 9
                let start = i
                try skip(past: "]]>")
                stack[stack.count - 1].text += String(decoding: s[start..<(i - 3)], as: UTF8.self)
                continue
            }
            if starts("<?") || starts("<!") { try skip(past: ">"); continue }
            let start = i
            try skip(past: ">")
            var tag = String(decoding: s[(start + 1)..<(i - 1)], as: UTF8.self)
            if tag.hasPrefix("/") {
                let name = String(tag.dropFirst()).trimmingCharacters(in: .whitespacesAndNewlines)
                guard stack.count > 1, stack[stack.count - 1].name == name else {
                    throw ParseError(reason: "closing </\(name)> does not match <\(stack.last!.name)>")
                }
                let done = stack.removeLast()
                stack[stack.count - 1].children.append(done)
                continue
            }
            let selfClosing = tag.hasSuffix("/")
            if selfClosing { tag.removeLast() }
            let name = String(tag.prefix { !$0.isWhitespace })
            guard !name.isEmpty else { throw ParseError(reason: "empty tag name") }
            if selfClosing {
                stack[stack.count - 1].children.append(XMLNode(name: name))
            } else {
                stack.append(XMLNode(name: name))
            }
        }
        guard stack.count == 1 else { throw ParseError(reason: "<\(stack.last!.name)> is never closed") }
        guard let root = stack[0].children.first else { throw ParseError(reason: "no root element") }
        return root
    }

    static func decode(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";") else { out += rest[amp...]; return out }
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                if entity.hasPrefix("#x"), let v = UInt32(entity.dropFirst(2), radix: 16), let u = Unicode.Scalar(v) {
                    out.unicodeScalars.append(u)
                } else if entity.hasPrefix("#"), let v = UInt32(entity.dropFirst()), let u = Unicode.Scalar(v) {
                    out.unicodeScalars.append(u)
                } else {
                    out += rest[amp...semi]
                }
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
