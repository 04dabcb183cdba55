import Foundation
import ServiceRuntime

/// `vf dataset import`'s one-line progress bar on stderr: files sent of the upload's, MiB and
/// MiB/s, and the time left at the rate so far (by files: the walk does not read sizes).
final class ImportBar: @unchecked Sendable {
    private let start = Date()
    private let lock = NSLock()
    private var lastDraw = Date.distantPast

    var callback: @Sendable (DatasetClient.ImportProgress) -> Void { { [self] progress in update(progress) } }

    func update(_ progress: DatasetClient.ImportProgress) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        let finished = progress.filesSent >= progress.files
        guard finished || now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        let elapsed = max(now.timeIntervalSince(start), 1e-3)
        let fraction = progress.files > 0 ? Double(progress.filesSent) / Double(progress.files) : 1
        let filled = min(30, Int(fraction * 30))
        let mib = Double(progress.bytesSent) / 1_048_576
        let left = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0
        let text = String(format: "\rimport [%@%@] %d/%d files  %.1f MiB  %.1f MiB/s  ETA %.0f s", String(repeating: "#", count: filled),
                          String(repeating: ".", count: 30 - filled), progress.filesSent, progress.files, mib, mib / elapsed, left)
        FileHandle.standardError.write(Data(text.utf8))
        if finished { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
