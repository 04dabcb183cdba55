import ArgumentParser
import Foundation
import ServiceRuntime

/// Flags every `vf registry` command takes.
struct RegistryConnection: ParsableArguments {
    @Option(help: "vf-registry address HOST:PORT (env VF_REGISTRY_ADDR; default 127.0.0.1:50053).")
    var registry: String?

    @Option(help: "Bearer token (env VISIONFLEET_TOKEN).")
    var token: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func client() throws -> RegistryClient { try RegistryClient(address: registry, token: token) }
}

/// Column-aligned tables for listings.
enum TextTable {
    static func print(_ header: [String], _ rows: [[String]]) {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        Swift.print(line(header))
        for row in rows { Swift.print(line(row)) }
    }
}

/// A one-line progress bar on stderr for uploads and downloads.
final class TransferBar: @unchecked Sendable {
    private let label: String
    private let start = Date()
    private let lock = NSLock()
    private var lastDraw = Date.distantPast

    init(_ label: String) { self.label = label }

    var callback: TransferProgress { { [self] done, total in update(done, total) } }

    func update(_ done: Int64, _ total: Int64) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        guard done == total || now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let filled = Int(fraction * 30)
        let rate = Double(done) / 1_048_576 / max(now.timeIntervalSince(start), 1e-3)
        let text = String(format: "\r%@ [%@%@] %.1f/%.1f MiB  %.1f MiB/s", label, String(repeating: "#", count: filled),
                          String(repeating: ".", count: 30 - filled), Double(done) / 1_048_576, Double(total) / 1_048_576, rate)
        FileHandle.standardError.write(Data(text.utf8))
        if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
