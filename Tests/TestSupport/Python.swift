import Foundation

/// Paths inside the repository, found from this file.
public enum Repo {
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
}

/// Runs a program to completion and returns its exit status and output.
@discardableResult
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws
    -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Drain both pipes while the process runs, so a chatty child cannot block.
    let group = DispatchGroup()
    nonisolated(unsafe) var outData = Data()
    nonisolated(unsafe) var errData = Data()
    DispatchQueue.global().async(group: group) { outData = out.fileHandleForReading.readDataToEndOfFile() }
    DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
    process.waitUntilExit()
    group.wait()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// The Python of the test venv (Tests/requirements.txt), made on demand by scripts/python-venv.sh.
public enum PythonVenv {
    public static let python: String = {
        guard let result = try? runProcess("/bin/bash", [Repo.path("scripts/python-venv.sh")]), result.status == 0 else {
            return "python-venv-failed"
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }()
}

/// Runs a script with the test venv's Python.
public func runPython(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    try runProcess(PythonVenv.python, arguments)
}

/// Runs a Python check script of the test venv that prints a JSON object of named booleans on
/// its last line; returns the checks, or a description of what went wrong.
public func runPythonChecks(_ script: String, _ arguments: [String]) async -> Result<[String: Bool], PythonCheckFailure> {
    let python = PythonVenv.python
    let result = await Task.detached { try? runProcess(python, [Repo.path(script)] + arguments) }.value
    guard let output = result else { return .failure(PythonCheckFailure(description: "could not run \(python)")) }
    guard output.status == 0 else { return .failure(PythonCheckFailure(description: "exit \(output.status): \(output.stderr)")) }
    let line = output.stdout.split(separator: "\n").last.map(String.init) ?? ""
    guard let checks = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Bool] else {
        return .failure(PythonCheckFailure(description: "no JSON checks in: \(output.stdout) \(output.stderr)"))
    }
    return .success(checks)
}

public struct PythonCheckFailure: Error, CustomStringConvertible {
    public let description: String
}
