import FleetRPC
import Foundation
import XCTest

final class TLSTests: XCTestCase {
    let pki = TestCertificates.shared

    private func serverConfig(mutual: Bool) -> ServerConfig {
        ServerConfig(host: "127.0.0.1", port: 0, tls: TLSConfig(
            certificateChain: pki.serverCertPEM, privateKey: pki.serverKeyPEM,
            trustRoots: mutual ? pki.caPEM : nil, requireClientCertificate: mutual))
    }

    private func call(_ t: TestServer, tls: TLSConfig) async throws -> String {
        let client = RPCClient(channel: try RPCChannel(target: "127.0.0.1:\(t.port)", tls: tls))
        return try await client.unary(Echo.unary.path, EchoRequest.with { $0.text = "secure" }, as: EchoResponse.self,
                                      options: CallOptions(timeout: .seconds(5))).text
    }

    func testTLSWithTheRightCA() async throws {
        let t = try await TestServer.start(config: serverConfig(mutual: false))
        let text = try await call(t, tls: TLSConfig(trustRoots: pki.caPEM))
        XCTAssertEqual(text, "secure")
        // The name override path: the certificate names localhost, not the dialed IP's alias.
        let viaOverride = try await call(t, tls: TLSConfig(trustRoots: pki.caPEM, serverNameOverride: "localhost"))
        XCTAssertEqual(viaOverride, "secure")
        await t.stop()
    }

    func testTLSWithTheWrongCAFails() async throws {
        let t = try await TestServer.start(config: serverConfig(mutual: false))
        do {
            _ = try await call(t, tls: TLSConfig(trustRoots: pki.otherCaPEM))
            XCTFail("expected a handshake failure")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .unavailable)
        }
        await t.stop()
    }

    func testPlaintextClientCannotTalkToTLSServer() async throws {
        let t = try await TestServer.start(config: serverConfig(mutual: false))
        let client = RPCClient(channel: try RPCChannel(target: "127.0.0.1:\(t.port)"))
        do {
            _ = try await client.unary(Echo.unary.path, EchoRequest(), as: EchoResponse.self,
                                       options: CallOptions(timeout: .seconds(5)))
            XCTFail("expected a failure")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .unavailable)
        }
        await t.stop()
    }

    func testMutualTLSWithClientCertificate() async throws {
        let t = try await TestServer.start(config: serverConfig(mutual: true))
        let text = try await call(t, tls: TLSConfig(
            certificateChain: pki.clientCertPEM, privateKey: pki.clientKeyPEM, trustRoots: pki.caPEM))
        XCTAssertEqual(text, "secure")
        await t.stop()
    }

    func testMutualTLSWithoutClientCertificateFails() async throws {
        let t = try await TestServer.start(config: serverConfig(mutual: true))
        do {
            _ = try await call(t, tls: TLSConfig(trustRoots: pki.caPEM))
            XCTFail("expected a handshake failure")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .unavailable)
        }
        await t.stop()
    }
}
