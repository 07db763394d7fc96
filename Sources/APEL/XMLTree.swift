import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// A small element tree read with Foundation's XMLParser (namespaces resolved), enough for StAR.
struct XMLElement: Sendable {
    var namespace: String
    var name: String
    /// Attributes by local name (any prefix dropped).
    var attributes: [String: String]
    var text: String = ""
    var children: [XMLElement] = []
    /// 1-based line of the start tag.
    var line: Int

    /// This element and every descendant named `name` in `namespace`, in document order.
    func all(_ name: String, in namespace: String) -> [XMLElement] {
        var out: [XMLElement] = []
        if self.name == name && self.namespace == namespace { out.append(self) }
        for child in children { out += child.all(name, in: namespace) }
        return out
    }

    /// The first descendant named `name` in `namespace` (APEL's `getElementsByTagNameNS(...)[0]`).
    func first(_ name: String, in namespace: String) -> XMLElement? {
        for child in children {
            if child.name == name && child.namespace == namespace { return child }
            if let found = child.first(name, in: namespace) { return found }
        }
        return nil
    }

    /// Parses a document; the error carries the line where the parser stopped.
    static func parse(_ data: Data) -> Result<XMLElement, LexError> {
        // DTDs are refused outright: StAR needs none, and entity expansion is an attack surface.
        if data.range(of: Data("<!DOCTYPE".utf8)) != nil || data.range(of: Data("<!ENTITY".utf8)) != nil {
            return .failure(LexError(line: 1, record: nil, field: "", reason: "XML with a DTD is not accepted"))
        }
        // Foundation's XMLParser on Linux force-unwraps names it decodes as UTF-8 and reads the
        // line number of a parser context that does not exist yet for tiny inputs: both would trap,
        // so only well-formed UTF-8 of a sensible length, declared as UTF-8 if at all, goes in.
        guard data.count >= 8 else { return .failure(LexError(line: 1, record: nil, field: "", reason: "malformed XML")) }
        guard String(validating: data, as: UTF8.self) != nil else {
            return .failure(LexError(line: 1, record: nil, field: "", reason: "not UTF-8 text"))
        }
        if let declared = declaredEncoding(data), declared != "utf-8" && declared != "utf8" {
            return .failure(LexError(line: 1, record: nil, field: "", reason: "XML encoding \(declared) is not accepted (UTF-8 only)"))
        }
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        let builder = Builder()
        parser.delegate = builder
        let ok = parser.parse()
        if let problem = builder.problem {
            return .failure(LexError(line: builder.problemLine, record: nil, field: "", reason: problem))
        }
        guard ok, let root = builder.root else {
            return .failure(LexError(line: max(parser.lineNumber, 1), record: nil, field: "", reason: "malformed XML"))
        }
        return .success(root)
    }

    /// The encoding named in the XML declaration, lowercased, if there is one.
    private static func declaredEncoding(_ data: Data) -> String? {
        let head = String(decoding: data.prefix(200), as: UTF8.self)
        guard head.hasPrefix("<?xml"), let end = head.range(of: "?>") else { return nil }
        let declaration = head[..<end.lowerBound]
        guard let at = declaration.range(of: "encoding") else { return nil }
        let rest = declaration[at.upperBound...].drop { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "'" }
        return String(rest.prefix { $0 != "\"" && $0 != "'" && $0 != " " }).lowercased()
    }

    /// Builds the tree from XMLParser's callbacks; lives only for one parse.
    private final class Builder: NSObject, XMLParserDelegate {
        static let maxDepth = 64
        var stack: [XMLElement] = []
        var root: XMLElement?
        var problem: String?
        var problemLine = 1

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
            attributes attributeDict: [String: String] = [:]
        ) {
            guard stack.count < Self.maxDepth, root == nil else {
                problem = root == nil ? "XML nested too deeply" : "content after the root element"
                problemLine = max(parser.lineNumber, 1)
                parser.abortParsing()
                return
            }
            var attributes: [String: String] = [:]
            for (key, value) in attributeDict {
                let local = key.split(separator: ":").last.map(String.init) ?? key
                attributes[local] = value
            }
            let local = elementName.split(separator: ":").last.map(String.init) ?? elementName
            stack.append(XMLElement(namespace: namespaceURI ?? "", name: local, attributes: attributes, line: max(parser.lineNumber, 1)))
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            guard let done = stack.popLast() else { return }
            if stack.isEmpty {
                root = done
            } else {
                stack[stack.count - 1].children.append(done)
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += string
        }
    }
}
