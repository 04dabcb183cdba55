import Foundation

/// The safetensors format: an 8-byte little-endian header length, a JSON header mapping names
/// to {dtype, shape, data_offsets}, then raw little-endian data. Readable and writable by
/// Python's `safetensors`. Only F32 tensors are written; F32 is required on read.
public enum SafeTensors {
    /// Largest header accepted (the reference implementation's limit is 100 MB).
    static let maxHeaderBytes = 100_000_000

    public static func encode(_ tensors: [(String, Tensor)], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let sorted = tensors.sorted { $0.0 < $1.0 }
        var seen = Set<String>()
        for (name, t) in sorted {
            guard seen.insert(name).inserted, name != "__metadata__" else {
                throw TensorError.safetensors("duplicate or reserved tensor name '\(name)'")
            }
            let bytes = t.count * 4
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }  // pad with spaces, as the reference does
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for (_, t) in sorted {
            t.pointer.withMemoryRebound(to: UInt8.self, capacity: t.count * 4) { out.append($0, count: t.count * 4) }
        }
        return out
    }

    public static func write(_ tensors: [(String, Tensor)], to url: URL, metadata: [String: String] = [:]) throws {
        let data = try encode(tensors, metadata: metadata)
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw TensorError.io(path: url.path, message: "cannot write: \(error.localizedDescription)")
        }
    }

    /// Decoded file: tensors by name and the `__metadata__` strings.
    public struct Contents {
        public var tensors: [String: Tensor]
        public var metadata: [String: String]
    }

    public static func decode(_ data: Data) throws -> Contents {
        guard data.count >= 8 else { throw TensorError.safetensors("file is \(data.count) bytes; shorter than the 8-byte header length") }
        let headerLength = data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(maxHeaderBytes), headerLength <= UInt64(data.count - 8) else {
            throw TensorError.safetensors("header length \(headerLength) exceeds the file (\(data.count) bytes) or the 100 MB limit")
        }
        let headerData = data.subdata(in: 8..<(8 + Int(headerLength)))
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw TensorError.safetensors("header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataLength = data.count - dataStart
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        var ranges: [(Int, Int, String)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw TensorError.safetensors("__metadata__ must map strings to strings") }
                metadata = m
                continue
            }
            guard let entry = value as? [String: Any] else { throw TensorError.safetensors("'\(name)': entry is not an object") }
            guard let dtype = entry["dtype"] as? String else { throw TensorError.safetensors("'\(name)': missing dtype") }
            guard dtype == "F32" else { throw TensorError.safetensors("'\(name)': dtype \(dtype) is not supported (F32 only)") }
            guard let shape = entry["shape"] as? [Int], shape.allSatisfy({ $0 >= 0 }) else {
                throw TensorError.safetensors("'\(name)': shape must be a list of non-negative integers")
            }
            guard let offsets = entry["data_offsets"] as? [Int], offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw TensorError.safetensors("'\(name)': data_offsets must be [begin, end] with begin <= end")
            }
            let count = shape.reduce(1, *)
            guard offsets[1] - offsets[0] == count * 4 else {
                throw TensorError.safetensors("'\(name)': \(offsets[1] - offsets[0]) bytes do not hold shape \(shape) of F32")
            }
            guard offsets[1] <= dataLength else {
                throw TensorError.safetensors("'\(name)': data ends at \(offsets[1]) but the file holds \(dataLength) bytes (truncated?)")
            }
            let t = Tensor(uninitialized: shape)
            data.withUnsafeBytes { raw in
                let src = raw.baseAddress! + dataStart + offsets[0]
                memcpy(t.pointer, src, count * 4)
            }
            tensors[name] = t
            ranges.append((offsets[0], offsets[1], name))
        }
        ranges.sort { $0.0 < $1.0 }
        for (a, b) in zip(ranges, ranges.dropFirst()) where b.0 < a.1 {
            throw TensorError.safetensors("'\(a.2)' and '\(b.2)' overlap")
        }
        return Contents(tensors: tensors, metadata: metadata)
    }

    public static func read(_ url: URL) throws -> Contents {
        guard let data = try? Data(contentsOf: url, options: .mappedIfSafe) else {
            throw TensorError.io(path: url.path, message: "cannot read the file")
        }
        do {
            return try decode(data)
        } catch let TensorError.safetensors(message) {
            throw TensorError.safetensors("\(url.lastPathComponent): \(message)")
        }
    }
}
