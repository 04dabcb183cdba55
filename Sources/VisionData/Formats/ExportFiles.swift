import Foundation

/// File plumbing shared by the writers.
enum ExportFiles {
    static func prepare(_ folder: URL) throws(DatasetError) {
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw .invalidValue(item: folder.path, field: "output", reason: "cannot create folder: \(error.localizedDescription)")
        }
    }

    /// A file name without folders, unique per image: "a/b.jpg" → "a__b.jpg"; embedded pixels
    /// become PNG.
    static func flatName(_ image: DatasetImage) -> String {
        var name = image.file.replacingOccurrences(of: "/", with: "__")
        name = String(name.map { $0.isLetter || $0.isNumber || "._-".contains($0) ? $0 : "_" })
        if image.embedded != nil, !name.lowercased().hasSuffix(".png") { name += ".png" }
        return name
    }

    /// Puts an image's bytes at `destination` (a copy of its file, or embedded pixels as PNG).
    static func place(_ image: DatasetImage, of dataset: LabeledDataset, at destination: URL) throws(DatasetError) {
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            if fm.fileExists(atPath: destination.path) { try fm.removeItem(at: destination) }
            if let pixels = image.embedded {
                try ImageCodec.encodePNG(pixels, name: image.file).write(to: destination)
            } else {
                try fm.copyItem(at: dataset.url(of: image), to: destination)
            }
        } catch let error as ImageError {
            throw .corrupt(item: image.file, reason: error.description)
        } catch {
            throw .invalidValue(item: image.file, field: "file", reason: "cannot write \(destination.path): \(error.localizedDescription)")
        }
    }

    static func write(_ data: Data, to url: URL) throws(DatasetError) {
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url, options: .atomic)
        } catch {
            throw .invalidValue(item: url.path, field: "output", reason: "cannot write: \(error.localizedDescription)")
        }
    }

    static func json(_ object: Any, to url: URL) throws(DatasetError) {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]) else {
            throw .invalidValue(item: url.lastPathComponent, field: "json", reason: "cannot serialise")
        }
        try write(data, to: url)
    }

    static func readJSON(_ url: URL) throws(DatasetError) -> Any {
        guard let data = try? Data(contentsOf: url) else { throw .missingFile(path: url.path) }
        do { return try JSONSerialization.jsonObject(with: data) } catch {
            throw .corrupt(item: url.lastPathComponent, reason: "not valid JSON: \(error.localizedDescription)")
        }
    }

    /// The file `url` or, when it is a folder, the first of `names` inside it.
    static func locate(_ url: URL, names: [String], files: any DatasetFileView = DiskFileView()) throws(DatasetError) -> URL {
        guard let kind = files.kind(atPath: url.path) else { throw .missingFile(path: url.path) }
        guard kind == .folder else { return url }
        for name in names where files.fileExists(atPath: url.appendingPathComponent(name).path) {
            return url.appendingPathComponent(name)
        }
        throw .missingFile(path: url.appendingPathComponent(names[0]).path)
    }

    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// A relative path with an image extension (any case) and no hidden segment, checked as
    /// bytes (`String.contains` goes through Foundation's search): this runs once per file.
    static func isVisibleImage(_ relative: String) -> Bool {
        let utf8 = relative.utf8
        guard let dot = utf8.lastIndex(of: UInt8(ascii: ".")) else { return false }
        var previous = UInt8(ascii: "/")
        for byte in utf8 {
            if byte == UInt8(ascii: "."), previous == UInt8(ascii: "/") { return false }
            previous = byte
        }
        return imageExtensions.contains(String(decoding: utf8[utf8.index(after: dot)...], as: UTF8.self).lowercased())
    }

    /// Image files under a folder (recursively), sorted, as paths relative to `folder`.
    static func imageFiles(in folder: URL, files: any DatasetFileView = DiskFileView()) -> [String] {
        // On disk FileManager's enumerator, as before; an upload's view lists itself.
        let paths: [String]
        if files is DiskFileView {
            guard let walker = FileManager.default.enumerator(atPath: folder.path) else { return [] }
            paths = walker.allObjects.compactMap { $0 as? String }
        } else {
            paths = files.files(under: folder.path)
        }
        var found: [String] = []
        found.reserveCapacity(paths.count)
        for relative in paths where isVisibleImage(relative) { found.append(relative) }
        return found.sorted()
    }

    /// A number for JSON/text: integers without a fraction.
    static func number(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int(v)) }
        return String(format: "%.10g", v)
    }
}
