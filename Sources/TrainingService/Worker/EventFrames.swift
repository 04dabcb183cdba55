import FleetProtos
import Foundation

/// The worker → service pipe: each JobEvent as a 4-byte big-endian length, then its bytes.
public enum EventFrames {
    public static func encode(_ event: Visionfleet_V1_JobEvent) -> Data {
        let body = (try? event.serializedData()) ?? Data()
        var length = UInt32(body.count).bigEndian
        var out = Data(bytes: &length, count: 4)
        out.append(body)
        return out
    }

    /// Reads frames from `handle` until end of file, calling `body` for each event.
    public static func read(_ handle: FileHandle, body: (Visionfleet_V1_JobEvent) -> Void) {
        var buffer = Data()
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { return }
            buffer.append(chunk)
            while buffer.count >= 4 {
                let length = buffer.prefix(4).reduce(0) { $0 << 8 | Int($1) }
                guard buffer.count >= 4 + length else { break }
                let body4 = buffer.subdata(in: buffer.startIndex + 4..<buffer.startIndex + 4 + length)
                buffer.removeSubrange(buffer.startIndex..<buffer.startIndex + 4 + length)
                if let event = try? Visionfleet_V1_JobEvent(serializedBytes: body4) { body(event) }
            }
        }
    }
}
