import FleetProtos
import Foundation
import ServiceRuntime
import XCTest

/// The import client's read-ahead: its messages are byte for byte what SwiftProtobuf encodes
/// for the same chunks, in list order, whatever the window, byte bound and thread count; large
/// files (sized from the open file, not the walk) are left to the sender at their place; a
/// read error surfaces at its message; an early stop ends the workers.
final class ImportMessageReaderTests: XCTestCase {
    /// Files of 0 ..< 5,000 bytes (a few empty), every 37th one 20,000 bytes (over the limit used here).
    private func writeFiles(_ count: Int, in root: URL) throws -> (files: [String], contents: [Data]) {
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sub/dir"), withIntermediateDirectories: true)
        var files: [String] = []
        var contents: [Data] = []
        for i in 0..<count {
            let size = i % 37 == 36 ? 20_000 : (i * 7919) % 5000
            let data = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) })
            let file = i % 3 == 0 ? "sub/dir/f\(i).bin" : "f\(i) é.bin"
            try data.write(to: root.appendingPathComponent(file))
            files.append(file)
            contents.append(data)
        }
        return (files, contents)
    }

    func testMessagesAreWhatSwiftProtobufEncodesInListOrder() throws {
        let root = Fixtures.temp("import-reader")
        defer { try? FileManager.default.removeItem(at: root) }
        let (files, contents) = try writeFiles(400, in: root)
        let sizes = contents.map { Int64($0.count) }
        for (threads, window, maxBytes, messageFiles) in [(16, 16, 64 << 20, 1024), (16, 1, 6_000, 7), (1, 1, 1, 1), (4, 3, 100, 50)] {
            let reader = ImportMessageReader(root: root.path, files: files, maxFileBytes: 10_000, messageBytes: 30_000,
                                             messageFiles: messageFiles, threads: threads, window: window, maxBytes: maxBytes)
            defer { reader.cancel() }
            var next = 0
            while let part = try reader.next() {
                switch part {
                case .large(let i):
                    XCTAssertEqual(i, next, "a large file comes at its place")
                    XCTAssertGreaterThan(contents[i].count, 10_000)
                    next += 1
                case .message(let bytes, let range, let size):
                    XCTAssertEqual(range.lowerBound, next, "messages come in list order")
                    XCTAssertLessThanOrEqual(range.count, messageFiles)
                    XCTAssertFalse(range.contains { contents[$0].count > 10_000 }, "a large file never travels in a message")
                    let expected = Visionfleet_V1_ImportDatasetRequest.with {
                        $0.chunks.chunks = range.map { i in .with { $0.path = files[i]; $0.data = contents[i]; $0.last = true } }
                    }
                    XCTAssertEqual(bytes, try expected.serializedBytes() as [UInt8], "files \(range), threads \(threads), window \(window)")
                    XCTAssertEqual(size, range.reduce(Int64(0)) { $0 + sizes[$1] })
                    next = range.upperBound
                }
            }
            XCTAssertEqual(next, files.count, "every file, threads \(threads), window \(window), max bytes \(maxBytes)")
        }
    }

    func testAReadErrorSurfacesAtItsMessage() throws {
        let root = Fixtures.temp("import-reader-missing")
        defer { try? FileManager.default.removeItem(at: root) }
        var (files, _) = try writeFiles(40, in: root)
        files[17] = "gone.bin"
        let reader = ImportMessageReader(root: root.path, files: files, maxFileBytes: 100_000, messageBytes: 1 << 20, messageFiles: 10)
        defer { reader.cancel() }
        guard case .message(_, let first, _)? = try reader.next() else { return XCTFail("a message first") }
        XCTAssertEqual(first, 0..<10)
        XCTAssertThrowsError(try reader.next()) { error in
            XCTAssertEqual((error as NSError).userInfo[NSFilePathErrorKey] as? String, root.path + "/gone.bin", "\(error)")
        }
        guard case .message(_, let after, _)? = try reader.next() else { return XCTFail("the messages after a failed one still come") }
        XCTAssertEqual(after.lowerBound, 18, "the next message starts after the file that failed")
    }

    func testAFileThatIsNoLongerARegularFileIsAnErrorNamingIt() throws {
        let root = Fixtures.temp("import-reader-folder")
        defer { try? FileManager.default.removeItem(at: root) }
        let (files, _) = try writeFiles(5, in: root)
        try FileManager.default.removeItem(at: root.appendingPathComponent(files[2]))
        try FileManager.default.createDirectory(at: root.appendingPathComponent(files[2]), withIntermediateDirectories: false)
        let reader = ImportMessageReader(root: root.path, files: files, maxFileBytes: 100_000, messageBytes: 1 << 20, messageFiles: 100)
        defer { reader.cancel() }
        XCTAssertThrowsError(try reader.next()) { error in
            XCTAssertTrue("\(error.localizedDescription)".contains("\(files[2]) is not a regular file"), "\(error)")
        }
    }

    func testAnEmptyListEndsAtOnce() throws {
        let reader = ImportMessageReader(root: "/nonexistent", files: [], maxFileBytes: 100, messageBytes: 100, messageFiles: 10)
        XCTAssertNil(try reader.next())
        reader.cancel()
    }

    func testCancelEndsWorkersWaitingForTheSender() throws {
        let root = Fixtures.temp("import-reader-cancel")
        defer { try? FileManager.default.removeItem(at: root) }
        let (files, _) = try writeFiles(300, in: root)
        let reader = ImportMessageReader(root: root.path, files: files, maxFileBytes: 100_000, messageBytes: 1 << 20, messageFiles: 4, window: 2)
        XCTAssertNotNil(try reader.next())
        Thread.sleep(forTimeInterval: 0.05)  // the workers fill the window and wait
        let started = Date()
        reader.cancel()
        XCTAssertLessThan(Date().timeIntervalSince(started), 1, "cancel returns once the workers have stopped")
    }
}
