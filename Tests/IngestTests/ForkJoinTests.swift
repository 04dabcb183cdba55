import FleetStore
import Foundation
import XCTest

/// ForkJoin runs its second piece on another thread, at the same time as the first, and always
/// joins it — also when the first piece throws.
final class ForkJoinTests: XCTestCase {
    struct Failure: Error {}

    func testBothPiecesRunAtOnceOnTwoThreads() {
        let caller = pthread_self()
        let met = DispatchSemaphore(value: 0), seen = DispatchSemaphore(value: 0)
        // Each piece waits for the other: run one after the other, this would time out.
        let (a, b) = ForkJoin.both({ () -> Bool in
            met.signal()
            return seen.wait(timeout: .now() + 10) == .success
        }, { () -> Bool in
            seen.signal()
            let other = pthread_equal(pthread_self(), caller) == 0
            return met.wait(timeout: .now() + 10) == .success && other
        })
        XCTAssertTrue(a, "the first piece never saw the second running")
        XCTAssertTrue(b, "the second piece ran on the caller's thread or never saw the first")
    }

    func testAThrowingFirstPieceStillJoinsTheSecond() {
        let finished = ManagedAtomicFlag()
        XCTAssertThrowsError(try ForkJoin.both({ () throws -> Int in throw Failure() }, { () -> Int in
            Thread.sleep(forTimeInterval: 0.05)
            finished.set()
            return 1
        }))
        XCTAssertTrue(finished.isSet, "both returned before its second piece finished")
    }
}

/// A flag set from another thread.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
