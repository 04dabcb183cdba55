import Foundation

enum Repo {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
}

/// Runs a script with the test venv's Python (made by scripts/python-venv.sh).
func runPython(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let venv = try run("/bin/bash", [Repo.path("scripts/python-venv.sh")])
    guard venv.status == 0 else { return venv }
    return try run(venv.stdout.trimmingCharacters(in: .whitespacesAndNewlines), arguments)
}

func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
