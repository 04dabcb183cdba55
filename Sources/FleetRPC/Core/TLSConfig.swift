/// PEM-encoded TLS material for a server or a client.
public struct TLSConfig: Sendable {
    /// This side's certificate chain and private key (required on a server; set on a
    /// client for mutual TLS).
    public var certificateChain: String?
    public var privateKey: String?
    /// CA bundle that verifies the peer: on a client, the server's CA (nil = system roots);
    /// on a server, the CA of client certificates (requests them).
    public var trustRoots: String?
    /// Server only: reject clients without a valid certificate (mutual TLS).
    public var requireClientCertificate: Bool
    /// Client only: the name to check in the server certificate instead of the dialed host.
    public var serverNameOverride: String?

    public init(
        certificateChain: String? = nil, privateKey: String? = nil, trustRoots: String? = nil,
        requireClientCertificate: Bool = false, serverNameOverride: String? = nil
    ) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.trustRoots = trustRoots
        self.requireClientCertificate = requireClientCertificate
        self.serverNameOverride = serverNameOverride
    }
}
