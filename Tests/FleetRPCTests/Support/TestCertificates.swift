import TestSupport
import FleetRPC
import Foundation

/// A throwaway PKI made with the openssl CLI: a CA that signs a server certificate (for
/// localhost and 127.0.0.1) and a client certificate, plus an unrelated second CA.
struct TestCertificates {
    let caPEM: String
    let serverCertPEM: String
    let serverKeyPEM: String
    let clientCertPEM: String
    let clientKeyPEM: String
    let otherCaPEM: String

    static let shared: TestCertificates = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vf-pki-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let script = """
        set -e
        cd '\(dir.path)'
        key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
        key ca.key; openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj '/CN=VisionFleet Test CA'
        key other.key; openssl req -x509 -new -key other.key -out other.pem -days 2 -subj '/CN=Other CA'
        key server.key; openssl req -new -key server.key -out server.csr -subj '/CN=localhost'
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext 2>/dev/null
        key client.key; openssl req -new -key client.key -out client.csr -subj '/CN=vf-client'
        printf 'extendedKeyUsage=clientAuth\\n' > client.ext
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 -extfile client.ext 2>/dev/null
        """
        let result = try! runProcess("/bin/bash", ["-c", script])
        precondition(result.status == 0, "openssl failed: \(result.stderr)")
        func read(_ name: String) -> String { try! String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8) }
        return TestCertificates(
            caPEM: read("ca.pem"), serverCertPEM: read("server.pem"), serverKeyPEM: read("server.key"),
            clientCertPEM: read("client.pem"), clientKeyPEM: read("client.key"), otherCaPEM: read("other.pem"))
    }()
}
