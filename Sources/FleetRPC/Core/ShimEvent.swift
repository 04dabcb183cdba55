import CGRPCShim
import Foundation

/// A shim event decoded into Swift values (copied out of the callback's transient storage).
enum ShimEvent: Sendable {
    case message(Data)
    case endOfStream
    case writable
    case initialMetadata(Metadata)
    case cancelled
    case done(CallStatus)
    case release

    /// Decodes `event`; takes ownership of a message buffer.
    init?(_ event: UnsafePointer<vfg_event>) {
        let e = event.pointee
        switch e.kind {
        case VFG_EVENT_MESSAGE:
            if let data = e.message.data {
                self = .message(Data(bytesNoCopy: data, count: e.message.length, deallocator: .free))
            } else {
                self = .message(Data())
            }
        case VFG_EVENT_END_OF_STREAM: self = .endOfStream
        case VFG_EVENT_WRITABLE: self = .writable
        case VFG_EVENT_INITIAL_METADATA: self = .initialMetadata(Metadata(e.metadata))
        case VFG_EVENT_CANCELLED: self = .cancelled
        case VFG_EVENT_DONE: self = .done(CallStatus(e.status, trailers: Metadata(e.metadata)))
        case VFG_EVENT_RELEASE: self = .release
        default: return nil
        }
    }
}

/// The final status of a call as the shim reports it.
struct CallStatus: Sendable {
    var code: RPCError.Code
    var message: String
    var details: [UInt8]?
    var trailers: Metadata

    init(code: RPCError.Code, message: String, details: [UInt8]? = nil, trailers: Metadata = [:]) {
        self.code = code
        self.message = message
        self.details = details
        self.trailers = trailers
    }

    init(_ status: vfg_status, trailers: Metadata) {
        code = RPCError.Code(status: Int32(status.code))
        message = status.message.map {
            String(decoding: UnsafeRawBufferPointer(start: $0, count: status.message_length), as: UTF8.self)
        } ?? ""
        details = status.details.flatMap {
            status.details_length > 0 ? Array(UnsafeBufferPointer(start: $0, count: status.details_length)) : nil
        }
        self.trailers = trailers
    }

    var error: RPCError? {
        code == .ok ? nil : RPCError(code: code, message: message, metadata: trailers, details: details)
    }
}

extension Metadata {
    init(_ list: vfg_metadata) {
        self.init()
        guard let entries = list.entries else { return }
        for i in 0..<list.count {
            let e = entries[i]
            let key = String(decoding: UnsafeRawBufferPointer(start: e.key, count: e.key_length), as: UTF8.self)
            let value = e.value_length > 0 ? Array(UnsafeBufferPointer(start: e.value, count: e.value_length)) : []
            appendRaw(key: key, value: value)
        }
    }

    /// Calls `body` with the entries laid out as C structs, valid only inside `body`.
    func withCEntries<R>(_ body: (UnsafePointer<vfg_metadata_entry>?, Int) -> R) -> R {
        if entries.isEmpty { return body(nil, 0) }
        var storage: [UInt8] = []
        var offsets: [(Int, Int, Int, Int)] = []
        for entry in entries {
            let keyStart = storage.count
            storage.append(contentsOf: entry.key.utf8)
            let valueStart = storage.count
            storage.append(contentsOf: entry.value)
            offsets.append((keyStart, entry.key.utf8.count, valueStart, entry.value.count))
        }
        return storage.withUnsafeBufferPointer { bytes in
            let base = bytes.baseAddress!
            let cEntries = offsets.map { k, kl, v, vl in
                vfg_metadata_entry(
                    key: UnsafeRawPointer(base + k).assumingMemoryBound(to: CChar.self), key_length: kl,
                    value: base + v, value_length: vl)
            }
            return cEntries.withUnsafeBufferPointer { body($0.baseAddress, $0.count) }
        }
    }
}
