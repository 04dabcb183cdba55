import Foundation

/// Unpacks a tar stream fed in pieces of any size into a folder: regular files and folders
/// (ustar and PAX `path` records); links and devices are skipped, and no entry may leave
/// the folder. The lifecycle: header → file bytes → padding → header … → end blocks.
public final class TarExtractor {
    private enum State { case header, content(remaining: Int64, padding: Int), pax(remaining: Int64, padding: Int), skip(remaining: Int64), ended }

    public let folder: URL
    private var state = State.header
    private var pending = Data()
    private var handle: FileHandle?
    private var paxPath: String?
    private var paxBuffer = Data()
    private var zeroBlocks = 0
    public private(set) var files: [String] = []

    public init(folder: URL) { self.folder = folder }

    public var isFinished: Bool { if case .ended = state { true } else { false } }

    public func feed(_ data: Data) throws(ArchiveError) {
        pending.append(data)
        var cursor = pending.startIndex
        defer { pending.removeSubrange(pending.startIndex..<cursor) }
        while cursor < pending.endIndex {
            let available = pending.endIndex - cursor
            switch state {
            case .ended:
                return
            case .header:
                guard available >= TarHeader.blockSize else { return }
                let block = pending[cursor..<(cursor + TarHeader.blockSize)]
                cursor += TarHeader.blockSize
                try header(block)
            case .content(let remaining, let padding), .pax(let remaining, let padding):
                let isPax = if case .pax = state { true } else { false }
                if remaining == 0 {
                    guard available >= padding else { return }
                    cursor += padding
                    if isPax { try finishPax() } else { try? handle?.close(); handle = nil }
                    state = .header
                    continue
                }
                let take = Int(min(Int64(available), remaining))
                let piece = pending[cursor..<(cursor + take)]
                cursor += take
                if isPax {
                    paxBuffer.append(piece)
                    state = .pax(remaining: remaining - Int64(take), padding: padding)
                } else {
                    do { try handle?.write(contentsOf: piece) } catch { throw .io("writing \(files.last ?? ""): \(error.localizedDescription)") }
                    state = .content(remaining: remaining - Int64(take), padding: padding)
                }
            case .skip(let remaining):
                let take = Int(min(Int64(available), remaining))
                cursor += take
                state = remaining - Int64(take) == 0 ? .header : .skip(remaining: remaining - Int64(take))
            }
        }
    }

    /// Checks that the archive ended properly.
    public func finish() throws(ArchiveError) {
        try? handle?.close()
        handle = nil
        if case .ended = state { return }
        throw .corrupt("the stream ended before the archive's end blocks")
    }

    private func header(_ block: Data) throws(ArchiveError) {
        let bytes = [UInt8](block)
        if bytes.allSatisfy({ $0 == 0 }) {
            zeroBlocks += 1
            if zeroBlocks == 2 { state = .ended }
            return
        }
        zeroBlocks = 0
        var sum = 0
        for (i, b) in bytes.enumerated() { sum += (148..<156).contains(i) ? 32 : Int(b) }
        guard let stored = Self.octal(bytes[148..<156]), stored == Int64(sum) else { throw .corrupt("header checksum mismatch") }
        guard let size = Self.octal(bytes[124..<136]), size >= 0 else { throw .corrupt("bad size field") }
        let padding = Int((Int64(TarHeader.blockSize) - size % Int64(TarHeader.blockSize)) % Int64(TarHeader.blockSize))
        let type = bytes[156]
        var name = Self.string(bytes[0..<100])
        let prefix = Self.string(bytes[345..<500])
        if !prefix.isEmpty, bytes[257..<262].elementsEqual("ustar".utf8) { name = prefix + "/" + name }
        switch type {
        case UInt8(ascii: "x"):
            paxBuffer = Data()
            state = .pax(remaining: size, padding: padding)
        case UInt8(ascii: "0"), 0:
            let path = paxPath ?? name
            paxPath = nil
            let url = try destination(path)
            do {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                guard FileManager.default.createFile(atPath: url.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
                handle = try FileHandle(forWritingTo: url)
            } catch {
                throw .io("cannot create \(url.path): \(error.localizedDescription)")
            }
            files.append(path)
            state = .content(remaining: size, padding: padding)
        case UInt8(ascii: "5"):
            let path = paxPath ?? name
            paxPath = nil
            try? FileManager.default.createDirectory(at: try destination(path), withIntermediateDirectories: true)
            state = size == 0 ? .header : .skip(remaining: size + Int64(padding))
        default:
            paxPath = nil
            state = size + Int64(padding) == 0 ? .header : .skip(remaining: size + Int64(padding))
        }
    }

    private func finishPax() throws(ArchiveError) {
        // Records: "LEN key=value\n".
        var rest = [UInt8](paxBuffer)[...]
        while let space = rest.firstIndex(of: UInt8(ascii: " ")),
              let length = Int(String(decoding: rest[..<space], as: UTF8.self)), length > 0, rest.count >= length {
            let record = rest.prefix(length)
            rest = rest.dropFirst(length)
            let body = String(decoding: record[(space + 1)...].dropLast(), as: UTF8.self)
            if body.hasPrefix("path=") { paxPath = String(body.dropFirst(5)) }
        }
    }

    private func destination(_ path: String) throws(ArchiveError) -> URL {
        let parts = path.split(separator: "/").filter { $0 != "." }
        guard !path.hasPrefix("/"), !parts.isEmpty, !parts.contains("..") else { throw .invalidPath(path) }
        return folder.appendingPathComponent(parts.joined(separator: "/"))
    }

    static func octal(_ field: ArraySlice<UInt8>) -> Int64? {
        let text = String(decoding: field.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? 0 : Int64(text, radix: 8)
    }

    static func string(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }
}
