import CZlib
import Foundation

/// Inflates an HTTP request body sent with `Content-Encoding: gzip` or `deflate` (what
/// tritonclient's `request_compression_algorithm` sends), refusing to grow past `limit` bytes so a
/// small compressed body cannot expand into a memory bomb.
enum BodyInflater {
    static func inflate(_ data: Data, encoding: String, limit: Int, item: String) throws(ServeError) -> Data {
        // zlib's window bits: 15 + 16 reads gzip, 15 a zlib stream (HTTP's "deflate").
        let windowBits: Int32 = encoding == "gzip" ? 15 + 16 : 15
        var stream = z_stream()
        guard inflateInit2_(&stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .failed("zlib initialisation failed")
        }
        defer { inflateEnd(&stream) }
        guard !data.isEmpty else { return Data() }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var status: Int32 = Z_OK
        let result: ServeError? = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> ServeError? in
            stream.next_in = UnsafeMutablePointer(mutating: raw.bindMemory(to: UInt8.self).baseAddress!)
            stream.avail_in = uInt(raw.count)
            repeat {
                let produced = chunk.withUnsafeMutableBufferPointer { buffer -> Int in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(buffer.count)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return buffer.count - Int(stream.avail_out)
                }
                guard status == Z_OK || status == Z_STREAM_END else {
                    return .invalidArgument(item: item, field: "Content-Encoding", message: "the \(encoding) body is damaged (zlib status \(status))")
                }
                guard output.count + produced <= limit else {
                    return .resourceExhausted("the \(encoding) body inflates past vf-serve's limit of \(limit >> 20) MiB")
                }
                output.append(contentsOf: chunk[0..<produced])
            } while status != Z_STREAM_END && (stream.avail_in > 0 || stream.avail_out == 0)
            return nil
        }
        if let result { throw result }
        guard status == Z_STREAM_END else {
            throw .invalidArgument(item: item, field: "Content-Encoding", message: "the \(encoding) body ends early (truncated)")
        }
        return output
    }
}
