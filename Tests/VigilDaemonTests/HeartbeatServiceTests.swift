import Foundation
import Testing
import VigilCore
import VigilDaemon
import VigilStore

/// The heartbeat service over a real SQLite file and a manual clock: misses, recovery, dedup
/// and restarts, without HTTP.
@Suite struct HeartbeatServiceTests {
    let clock = ManualClock(monday)
    let backup = HeartbeatDefinition(name: "backup", interval: .seconds(60), grace: .seconds(10), incidentType: nil,
                                     severity: "P2", component: "backups", labels: ["team": "storage"])

    func service(_ store: Store, _ definitions: [HeartbeatDefinition]? = nil, log: SignalLog) async throws -> HeartbeatService {
        let s = HeartbeatService(store: store, heartbeats: definitions ?? [backup], ladder: try shippedPolicy().ladder,
                                 clock: clock, logger: quietLogger) { log.append($0) }
        try await s.restore()
        return s
    }

    @Test func missedOpensOnceAndTheNextBeatResolves() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let log = SignalLog()
        let heartbeats = try await service(store, log: log)
        #expect(try await heartbeats.beat("backup", message: "ok 12 GiB")?.state == .ok)
        clock.advance(by: .seconds(70))
        await heartbeats.evaluate()
        #expect(log.take().isEmpty)  // at the deadline, not past it
        clock.advance(by: .seconds(1))
        await heartbeats.evaluate()
        let firing = log.take()
        #expect(firing.map(\.transition) == [.firing])
        let s = try #require(firing.first)
        #expect(s.fingerprint == "heartbeat:backup" && s.ruleID == "heartbeat/backup")
        #expect(s.labels == ["heartbeat": "backup", "team": "storage", "component": "backups"])
        #expect(s.severity == "P2")
        #expect(s.firstHeldAt == monday + .seconds(70))
        #expect(s.description?.contains("last beat at") == true)
        #expect(await heartbeats.heartbeats().first?.state == .missed)
        // Looking again opens nothing more: one open incident per heartbeat.
        clock.advance(by: .seconds(600))
        await heartbeats.evaluate()
        #expect(log.take().isEmpty)
        let view = try #require(try await heartbeats.beat("backup", message: nil))
        #expect(view.state == .ok && view.lastBeatAt == clock.now() && view.deadline == clock.now() + .seconds(70))
        let resolved = log.take()
        #expect(resolved.map(\.transition) == [.resolved])
        #expect(resolved.first?.fingerprint == "heartbeat:backup")
    }

    @Test func unknownNamesAreNotRecorded() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let heartbeats = try await service(store, log: SignalLog())
        #expect(try await heartbeats.beat("nope", message: nil) == nil)
        #expect(try await store.heartbeats().map(\.name) == ["backup"])
    }

    @Test func aRestartKeepsTheLastBeatAndGrantsNoFreeInterval() async throws {
        let path = try temporaryDatabasePath()
        let log = SignalLog()
        do {
            let heartbeats = try await service(try Store(path: path), log: log)
            _ = try await heartbeats.beat("backup", message: "nightly ok")
        }
        // Down for longer than the interval: the restarted daemon notices at its first look.
        clock.advance(by: .seconds(3600))
        let restarted = try await service(try Store(path: path), log: log)
        let listed = try #require(await restarted.heartbeats().first)
        #expect(listed.lastBeatAt == monday && listed.lastMessage == "nightly ok")
        await restarted.evaluate()
        #expect(log.take().map(\.transition) == [.firing])
        // And a restart while missed neither repeats the incident nor forgets it is open.
        let again = try await service(try Store(path: path), log: log)
        await again.evaluate()
        #expect(log.take().isEmpty)
        _ = try await again.beat("backup", message: nil)
        #expect(log.take().map(\.transition) == [.resolved])
    }

    @Test func aHeartbeatThatNeverBeatIsMissedOneIntervalAfterItWasConfigured() async throws {
        let path = try temporaryDatabasePath()
        let log = SignalLog()
        _ = try await service(try Store(path: path), log: log)
        clock.advance(by: .seconds(50))
        // A restart keeps when watching began.
        let restarted = try await service(try Store(path: path), log: log)
        #expect(await restarted.heartbeats().first?.state == .waiting)
        clock.advance(by: .seconds(21))
        await restarted.evaluate()
        let firing = log.take()
        #expect(firing.map(\.transition) == [.firing])
        #expect(firing.first?.description?.contains("no beat since") == true)
    }

    @Test func removingAMissedHeartbeatClearsItsIncident() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let log = SignalLog()
        let heartbeats = try await service(store, log: log)
        clock.advance(by: .seconds(71))
        await heartbeats.evaluate()
        #expect(log.take().map(\.transition) == [.firing])
        await heartbeats.replace([], ladder: try shippedPolicy().ladder)
        #expect(log.take().map(\.transition) == [.resolved])
        #expect(try await store.heartbeats().isEmpty)
    }
}
