import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An XML document as a tree of elements (name, attributes, text, children), parsed with
/// Foundation's `XMLParser` (libxml2). External entities are never resolved and a document
/// with a DTD is refused before parsing, so entity-expansion bombs cannot be declared.
struct XMLTree {
    var name: String
    var attributes: [String: String] = [:]
    var text: String = ""
    var children: [XMLTree] = []

    func child(_ name: String) -> XMLTree? { children.first { $0.name == name } }
    func all(_ name: String) -> [XMLTree] { children.filter { $0.name == name } }
    /// Trimmed text of the named child.
    func value(_ name: String) -> String? { child(name)?.text.trimmingCharacters(in: .whitespacesAndNewlines) }

    struct ParseError: Error { let reason: String }

    static func parse(_ data: Data) throws(ParseError) -> XMLTree {
        // Annotation files never need a DTD; refusing one refuses every entity declaration.
        if data.range(of: Data("<!DOCTYPE".utf8)) != nil || data.range(of: Data("<!ENTITY".utf8)) != nil {
            throw ParseError(reason: "has a DTD (<!DOCTYPE or <!ENTITY): entity declarations are not accepted")
        }
        let builder = Builder()
        let parser = XMLParser(data: data)
        parser.shouldResolveExternalEntities = false
        parser.shouldProcessNamespaces = false
        parser.delegate = builder
        let ok = parser.parse()
        if let refused = builder.refused { throw ParseError(reason: refused) }
        guard ok else {
            let error = parser.parserError.map { "\($0.localizedDescription)" } ?? "malformed XML"
            throw ParseError(reason: "line \(parser.lineNumber), column \(parser.columnNumber): \(error)")
        }
        guard let root = builder.root else { throw ParseError(reason: "no root element") }
        return root
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// The delegate that assembles the tree.
    private final class Builder: NSObject, XMLParserDelegate {
        var stack: [XMLTree] = []
        var root: XMLTree?
        var refused: String?

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            stack.append(XMLTree(name: name, attributes: attributes))
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            guard let done = stack.popLast() else { return }
            if stack.isEmpty { root = done } else { stack[stack.count - 1].children.append(done) }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if !stack.isEmpty { stack[stack.count - 1].text += string }
        }

        func parser(_ parser: XMLParser, foundCDATA block: Data) {
            if !stack.isEmpty { stack[stack.count - 1].text += String(decoding: block, as: UTF8.self) }
        }

        func parser(_ parser: XMLParser, foundInternalEntityDeclarationWithName name: String, value: String?) {
            refuse(parser, "declares the entity '\(name)': entity declarations are not accepted")
        }

        func parser(_ parser: XMLParser, foundExternalEntityDeclarationWithName name: String, publicID: String?, systemID: String?) {
            refuse(parser, "declares the external entity '\(name)': entity declarations are not accepted")
        }

        private func refuse(_ parser: XMLParser, _ reason: String) {
            if refused == nil { refused = reason }
            parser.abortParsing()
        }
    }
}
