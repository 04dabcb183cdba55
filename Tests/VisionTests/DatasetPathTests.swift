import Foundation
import VisionData
import XCTest

/// `DatasetImage.hasDotOrEmptySegments` against splitting the path at every slash.
final class DatasetPathTests: XCTestCase {
    func testDotAndEmptySegmentsAgainstSplitting() {
        func reference(_ path: String) -> Bool {
            path.split(separator: "/", omittingEmptySubsequences: false).contains { $0.isEmpty || $0 == "." || $0 == ".." }
        }
        let cases = ["", ".", "..", "...", "a", "a/b", "a//b", "/a", "a/", "./a", "a/./b", "a/../b", "a/..", "a/.", ".a/b", "a/.b",
                     "a/..b/c", "a/b../c", "a/.../c", "train/Ankle boot/10023.png", "ünï/çødé/ø.png", "a/b/c/d/e/f.png", "//", "/", "../../x"]
        for path in cases { XCTAssertEqual(DatasetImage.hasDotOrEmptySegments(path), reference(path), "'\(path)'") }
        // Every string of up to five characters over {a, ., /}.
        var all = [""]
        for _ in 0..<5 { all += all.flatMap { p in ["a", ".", "/"].map { p + $0 } } }
        for path in Set(all) { XCTAssertEqual(DatasetImage.hasDotOrEmptySegments(path), reference(path), "'\(path)'") }
    }
}
