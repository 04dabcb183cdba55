import FleetProtos
import FleetRPC
import Foundation
import RegistryService
import ServiceRuntime
import TestSupport
import XCTest

/// Aliases with compare-and-set and history, actors from the auth token, and the event stream.
final class RegistryAliasAndEventTests: XCTestCase {
    func testAliasCompareAndSetAndHistory() async throws {
        let h = try await RegistryHarness.start(authTokens: ["alice:tok-a", "ci:tok-c"], token: "tok-a")
        let ci = try RegistryClient(address: "127.0.0.1:\(h.port)", token: "tok-c", environment: [:])
        for seed in 1...3 { _ = try await h.client.upload(directory: try TestPackage.make(seed: UInt64(seed)).directory, model: "m") }
        let created = try await h.client.setAlias("m", "production", version: 1, expected: -1, reason: "first release")
        XCTAssertEqual(created.fromVersion, 0)
        XCTAssertEqual(created.changedBy, "alice")
        await assertRPCError(.aborted) { try await h.client.setAlias("m", "production", version: 2, expected: -1) }
        await assertRPCError(.aborted) { try await h.client.setAlias("m", "production", version: 2, expected: 3) }
        let moved = try await ci.setAlias("m", "production", version: 2, expected: 1, reason: "better AP")
        XCTAssertEqual(moved.fromVersion, 1)
        XCTAssertEqual(moved.toVersion, 2)
        XCTAssertEqual(moved.changedBy, "ci")
        _ = try await h.client.setAlias("m", "staging", version: 3)
        _ = try await h.client.setAlias("m", "production", version: 1, reason: "rollback")  // rolling back = moving back
        await assertRPCError(.notFound) { try await h.client.setAlias("m", "production", version: 7) }
        await assertRPCError(.invalidArgument) { try await h.client.setAlias("m", "latest", version: 1) }
        await assertRPCError(.invalidArgument) { try await h.client.setAlias("m", "9lives", version: 1) }

        // Racing compare-and-sets from the same state: exactly one wins.
        let results = await withTaskGroup(of: Bool.self) { group in
            for v in [2, 3, 2, 3] as [Int32] {
                group.addTask { (try? await h.client.setAlias("m", "production", version: v, expected: 1)) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        XCTAssertEqual(results.filter { $0 }.count, 1)

        let history = try await h.client.aliasHistory("m", alias: "production")
        XCTAssertEqual(history.map(\.toVersion).prefix(3), [1, 2, 1])
        XCTAssertEqual(history.map(\.reason).prefix(3), ["first release", "better AP", "rollback"])
        XCTAssertEqual(history.count, 4)
        XCTAssertTrue(zip(history, history.dropFirst()).allSatisfy { $0.changedAt.date <= $1.changedAt.date })
        XCTAssertTrue(zip(history, history.dropFirst()).allSatisfy { $0.toVersion == $1.fromVersion }, "each move starts where the last ended")
        let all = try await h.client.aliasHistory("m")
        XCTAssertEqual(all.count, 5)
        let deleted = try await h.client.deleteAlias("m", "staging")
        XCTAssertEqual(deleted.toVersion, 0)
        await assertRPCError(.notFound) { try await h.client.deleteAlias("m", "staging") }
        let after = try await h.client.aliasHistory("m", alias: "staging")
        XCTAssertEqual(after.map(\.toVersion), [3, 0])
        await h.stop()
    }

    func testWatchEventsReplaysThenFollowsAndResumes() async throws {
        let h = try await RegistryHarness.start()
        _ = try await h.client.createModel("w", task: .detection)
        _ = try await h.client.upload(directory: try TestPackage.make(task: "detection").directory, model: "w", aliases: ["production"])
        // Replay: model created, version created, alias moved.
        let replay = AsyncCollector()
        let watcher = Task {
            try await h.client.watch(from: 0) { event in
                await replay.add(event)
                return await replay.count < 6
            }
        }
        try await waitUntilAsync { await replay.count == 3 }
        // Live: three more events while the watcher follows.
        _ = try await h.client.upload(directory: try TestPackage.make(task: "detection", seed: 2).directory, model: "w")
        _ = try await h.client.setAlias("w", "production", version: 2)
        _ = try await h.client.createModel("other", task: .classification)
        try await watcher.value
        let events = await replay.events
        XCTAssertEqual(events.map(\.sequence), Array(1...6))
        XCTAssertNotNil(events[0].modelCreated.name == "w" ? events[0] : nil)
        XCTAssertEqual(events[1].versionCreated.version, 1)
        XCTAssertEqual(events[2].aliasChanged.toVersion, 1)
        XCTAssertEqual(events[3].versionCreated.version, 2)
        XCTAssertEqual(events[4].aliasChanged.fromVersion, 1)
        XCTAssertEqual(events[5].modelCreated.name, "other")

        // Events that happened while nobody watched; a reconnect from sequence 4 gets 5… exactly once.
        _ = try await h.client.setAlias("w", "staging", version: 1)
        let resumed = AsyncCollector()
        try await h.client.watch(from: 4) { event in
            await resumed.add(event)
            return await resumed.count < 3
        }
        let resumedEvents = await resumed.events
        XCTAssertEqual(resumedEvents.map(\.sequence), [5, 6, 7])
        XCTAssertEqual(resumedEvents[2].aliasChanged.alias, "staging")

        // Filtered by model, with deletes.
        _ = try await h.client.deleteAlias("w", "staging")
        try await h.client.deleteModel("other")
        let only = AsyncCollector()
        try await h.client.watch(from: 0, model: "other") { event in
            await only.add(event)
            return await only.count < 2
        }
        let otherEvents = await only.events
        XCTAssertEqual(otherEvents.map(\.sequence), [6, 9])
        XCTAssertEqual(otherEvents[1].modelDeleted, "other")
        await h.stop()
    }

    /// Several watchers at once each see every event of a burst of concurrent writers, in order.
    func testConcurrentWatchersSeeEveryEventInOrder() async throws {
        let h = try await RegistryHarness.start()
        for seed in 1...2 { _ = try await h.client.upload(directory: try TestPackage.make(seed: UInt64(seed)).directory, model: "b") }
        let base = try h.registry.metadata.latestSequence()
        let moves = 40
        let watchers = (0..<3).map { _ in
            Task { () -> [Int64] in
                var seen: [Int64] = []
                try await h.client.watch(from: base) { event in
                    seen.append(event.sequence)
                    return seen.count < moves
                }
                return seen
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<moves {
                group.addTask { _ = try await h.client.setAlias("b", "a\(i % 5)", version: Int32(1 + i % 2)) }
            }
            try await group.waitForAll()
        }
        for watcher in watchers {
            let seen = try await watcher.value
            XCTAssertEqual(seen, Array((base + 1)...(base + Int64(moves))))
        }
        await h.stop()
    }
}

actor AsyncCollector {
    var events: [Visionfleet_V1_RegistryEvent] = []
    var count: Int { events.count }
    func add(_ e: Visionfleet_V1_RegistryEvent) { events.append(e) }
}

func waitUntilAsync(timeout: Duration = .seconds(10), _ condition: () async -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while await !condition() {
        guard ContinuousClock.now < deadline else { XCTFail("condition not met in \(timeout)"); return }
        try await Task.sleep(for: .milliseconds(20))
    }
}
