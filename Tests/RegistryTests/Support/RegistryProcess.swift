import Foundation
import TestSupport

/// The real vf-registry executable over a home folder (see `ServerProcess`).
final class RegistryProcess {
    static let executable = ServerProcess.path("vf-registry")
    let server: ServerProcess

    init(home: URL, grace: Int = 1) throws { server = try ServerProcess("vf-registry", home: home, grace: grace) }

    func start() async throws { try await server.start() }
    func kill(_ signal: Int32 = SIGKILL) { server.kill(signal) }
    var port: Int { server.port }
    var process: Process { server.process }
    var log: String { server.log }
}
