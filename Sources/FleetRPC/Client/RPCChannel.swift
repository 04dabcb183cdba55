import CGRPCShim

/// A connection to one server (`host:port`), shared by any number of concurrent calls.
/// Connects lazily and reconnects on its own; frees its C channel on deinit.
public final class RPCChannel: Sendable {
    public let target: String
    nonisolated(unsafe) let handle: OpaquePointer

    public init(
        target: String, tls: TLSConfig? = nil, maxReceiveBytes: Int = 64 << 20, maxSendBytes: Int = 64 << 20,
        writeQueueBytes: Int = 4 << 20, writeQueueMessages: Int = 64
    ) throws {
        self.target = target
        var error = [CChar](repeating: 0, count: 512)
        let created: OpaquePointer? = target.withCString { t in
            withOptionalCString(tls?.trustRoots) { ca in
                withOptionalCString(tls?.certificateChain) { cert in
                    withOptionalCString(tls?.privateKey) { key in
                        withOptionalCString(tls?.serverNameOverride) { name in
                            var c = vfg_channel_config()
                            c.target = t
                            c.max_receive_bytes = Int64(maxReceiveBytes)
                            c.max_send_bytes = Int64(maxSendBytes)
                            c.write_queue_bytes = writeQueueBytes
                            c.write_queue_messages = writeQueueMessages
                            c.use_tls = tls == nil ? 0 : 1
                            c.tls_root_ca_pem = ca
                            c.tls_cert_chain_pem = cert
                            c.tls_private_key_pem = key
                            c.tls_server_name_override = name
                            return vfg_channel_create(&c, &error, error.count)
                        }
                    }
                }
            }
        }
        guard let created else {
            throw RPCError(code: .invalidArgument, message: "cannot open a channel to \(target): \(cErrorString(error))")
        }
        handle = created
    }

    /// `host:port` helper.
    public convenience init(host: String, port: Int, tls: TLSConfig? = nil) throws {
        let h = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        try self.init(target: "\(h):\(port)", tls: tls)
    }

    deinit { vfg_channel_destroy(handle) }

    /// Starts a call of the shim; `body` receives the prepared options.
    func withOptions<R>(_ method: String, _ options: CallOptions, _ body: (inout vfg_call_options) -> R) -> R {
        method.withCString { m in
            options.metadata.withCEntries { entries, count in
                var o = vfg_call_options()
                o.method = m
                o.timeout_nanos = options.timeout?.nanoseconds ?? 0
                o.metadata = entries
                o.metadata_count = count
                o.wait_for_ready = options.waitForReady ? 1 : 0
                return body(&o)
            }
        }
    }
}
