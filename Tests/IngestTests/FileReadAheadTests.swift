import FleetStore
import Foundation
import XCTest

/// The import client's read-ahead: files come back in list order with their bytes whatever
/// the window, the byte bound and the thread count; skipped files answer nil; a read error
/// surfaces at its file; an early stop ends the workers.
final class FileReadAheadTests: XCTestCase {
    private func writeFiles(_ count: Int, in root: URL) throws -> (paths: [String], contents: [Data]) {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var paths: [String] = []
        var contents: [Data] = []
        for i in 0..<count {
            let size = (i * 7919) % 5000  // 0 ..< 5,000 bytes, a few empty
            let data = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) })
            let url = root.appendingPathComponent("f\(i).bin")
            try data.write(to: url)
            paths.append(url.path)
            contents.append(data)
        }
        return (paths, contents)
    }

    func testFilesComeBackInOrderWithTheirBytes() throws {
        let root = Fixtures.temp("readahead")
        defer { try? FileManager.default.removeItem(at: root) }
        let (paths, contents) = try writeFiles(400, in: root)
        // Small windows and byte bounds make the workers wait for the consumer; a bound below
        // one file's size still lets that file through when the consumer is at it.
        for (threads, window, maxBytes) in [(16, 512, 64 << 20), (16, 3, 6_000), (1, 1, 1), (4, 50, 100)] {
            let ahead = FileReadAhead(paths: paths, sizes: contents.map(\.count), include: { $0 % 7 != 3 },
                                      threads: threads, window: window, maxBytes: maxBytes)
            for i in paths.indices {
                let data = try ahead.next()
                if i % 7 == 3 {
                    XCTAssertNil(data, "file \(i) is not included")
                } else {
                    XCTAssertEqual(data, contents[i], "file \(i), threads \(threads), window \(window), max bytes \(maxBytes)")
                }
            }
            ahead.cancel()
        }
    }

    func testAReadErrorSurfacesAtItsFile() throws {
        let root = Fixtures.temp("readahead-missing")
        defer { try? FileManager.default.removeItem(at: root) }
        var (paths, contents) = try writeFiles(40, in: root)
        paths[17] = root.appendingPathComponent("gone.bin").path
        let ahead = FileReadAhead(paths: paths, sizes: contents.map(\.count), window: 8)
        defer { ahead.cancel() }
        for i in 0..<17 { XCTAssertEqual(try ahead.next(), contents[i]) }
        XCTAssertThrowsError(try ahead.next()) { error in
            XCTAssertTrue("\(error)".contains("gone.bin") || (error as NSError).userInfo[NSFilePathErrorKey] as? String == paths[17], "\(error)")
        }
        XCTAssertEqual(try ahead.next(), contents[18], "the files after a failed one still come")
    }

    func testCancelEndsWorkersWaitingForTheConsumer() throws {
        let root = Fixtures.temp("readahead-cancel")
        defer { try? FileManager.default.removeItem(at: root) }
        let (paths, contents) = try writeFiles(300, in: root)
        let ahead = FileReadAhead(paths: paths, sizes: contents.map(\.count), window: 4)
        XCTAssertEqual(try ahead.next(), contents[0])
        XCTAssertEqual(try ahead.next(), contents[1])
        Thread.sleep(forTimeInterval: 0.05)  // the workers fill the window and wait
        let started = Date()
        ahead.cancel()
        XCTAssertLessThan(Date().timeIntervalSince(started), 1, "cancel returns once the workers have stopped")
    }
}
