import Foundation
import Synchronization
import Testing
import VigilCore
import VigilDaemon
import VigilStore

/// Collects the signals the alert service hands to the incident service.
final class SignalLog: Sendable {
    private let signals = Mutex<[RuleSignal]>([])
    func append(_ s: [RuleSignal]) { signals.withLock { $0 += s } }
    var all: [RuleSignal] { signals.withLock { $0 } }
    func take() -> [RuleSignal] { signals.withLock { s in defer { s = [] }; return s } }
}

/// Mutes every alert carrying `silenced="yes"` with silence id `s1`.
struct LabelMuting: AlertMuting {
    func silences(matching labels: [String: String], at now: Timestamp) async -> [String] {
        labels["silenced"] == "yes" ? ["s1"] : []
    }
}

/// The alert service over a real SQLite file and a manual clock: leases, groups, inhibition,
/// silences and restarts, without HTTP.
@Suite struct AlertServiceTests {
    let clock = ManualClock(monday)

    func service(_ store: Store, routing: AlertRouting = AlertRouting(), log: SignalLog) async throws -> AlertService {
        let s = AlertService(store: store, routing: routing, ladder: try shippedPolicy().ladder, clock: clock,
                             logger: quietLogger, muting: LabelMuting()) { log.append($0) }
        try await s.restore()
        return s
    }

    func alert(_ labels: [String: String], for lease: Duration = .seconds(60)) -> Alert {
        Alert(labels: labels, startsAt: clock.now(), endsAt: clock.now() + lease, updatedAt: clock.now())
    }

    @Test func leaseRunningOutResolvesTheGroup() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let log = SignalLog()
        let alerts = try await service(store, log: log)
        try await alerts.accept([alert(["alertname": "DiskFull", "instance": "a", "severity": "critical"]),
                                 alert(["alertname": "DiskFull", "instance": "b"], for: .seconds(120))])
        await alerts.evaluated()
        let firing = log.take()
        #expect(firing.map(\.transition) == [.firing, .firing])
        #expect(Set(firing.map(\.fingerprint)) == ["alertmanager:{}:{alertname=\"DiskFull\"}"])
        #expect(firing.contains { $0.severity == "P1" })  // critical → Critical on p1-p4
        #expect(firing.contains { $0.severity == "P3" })  // no severity label → Medium
        // Re-sending a firing alert is no new occurrence.
        try await alerts.accept([alert(["alertname": "DiskFull", "instance": "a", "severity": "critical"])])
        await alerts.evaluated()
        #expect(log.take().isEmpty)
        // a's lease (renewed to +60 s) runs out; b still fires: nothing resolves yet.
        clock.advance(by: .seconds(61))
        await alerts.evaluate()
        #expect(log.take().isEmpty)
        clock.advance(by: .seconds(60))
        await alerts.evaluate()
        let resolved = log.take()
        #expect(resolved.map(\.transition) == [.resolved])
        #expect(resolved.first?.fingerprint == "alertmanager:{}:{alertname=\"DiskFull\"}")
        // The stored alerts say so too: nothing counted any more.
        #expect(try await store.alerts().allSatisfy { !$0.counted })
    }

    @Test func restartNeitherRepeatsNorLosesAnything() async throws {
        let path = try temporaryDatabasePath()
        let log = SignalLog()
        do {
            let alerts = try await service(try Store(path: path), log: log)
            try await alerts.accept([alert(["alertname": "A"], for: .seconds(300))])
            await alerts.evaluated()
        }
        #expect(log.take().count == 1)
        let restarted = try await service(try Store(path: path), log: log)
        await restarted.evaluate()
        #expect(log.take().isEmpty)  // already counted before the restart
        #expect(await restarted.snapshot().map(\.fingerprint) == [AlertFingerprint.hex(["alertname": "A"])])
        clock.advance(by: .seconds(301))
        await restarted.evaluate()
        #expect(log.take().map(\.transition) == [.resolved])
    }

    @Test func inhibitedAlertsDoNotFireAndSilencedOnesFireMuted() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let log = SignalLog()
        let rule = InhibitRule(source: [try .parse(#"severity="critical""#)], target: [try .parse(#"severity="warning""#)],
                               equal: ["cluster"])
        let alerts = try await service(store, routing: AlertRouting(inhibitRules: [rule]), log: log)
        try await alerts.accept([
            alert(["alertname": "ClusterDown", "severity": "critical", "cluster": "c1"]),
            alert(["alertname": "Slow", "severity": "warning", "cluster": "c1"]),
            alert(["alertname": "Quiet", "silenced": "yes"]),
        ])
        await alerts.evaluated()
        // A silence mutes the incident's paging; the incident itself opens (its timeline says so).
        #expect(Set(log.take().map { $0.labels["alertname"] }) == ["ClusterDown", "Quiet"])
        let snapshot = await alerts.snapshot()
        let slow = try #require(snapshot.first { $0.alert.labels["alertname"] == "Slow" })
        #expect(slow.inhibitedBy == [AlertFingerprint.hex(["alertname": "ClusterDown", "severity": "critical", "cluster": "c1"])])
        #expect(slow.state == "suppressed")
        #expect(snapshot.first { $0.alert.labels["alertname"] == "Quiet" }?.silencedBy == ["s1"])
        // The source resolves: the inhibited alert now fires.
        try await alerts.accept([Alert(labels: ["alertname": "ClusterDown", "severity": "critical", "cluster": "c1"],
                                       startsAt: clock.now() - .seconds(10), endsAt: clock.now(), updatedAt: clock.now())])
        await alerts.evaluated()
        let after = log.take()
        #expect(after.contains { $0.transition == .firing && $0.labels["alertname"] == "Slow" })
        #expect(after.contains { $0.transition == .resolved && $0.labels["alertname"] == "ClusterDown" })
    }

    /// The actor is reentrant across its awaits: concurrent posts and ticks of the same alert
    /// must still tell its incident once.
    @Test func concurrentPostsAndTicksTellOnce() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let log = SignalLog()
        let alerts = try await service(store, log: log)
        let a = alert(["alertname": "Busy", "instance": "x"], for: .seconds(600))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                group.addTask { if i % 2 == 0 { try await alerts.accept([a]) } else { await alerts.evaluate() } }
            }
            try await group.waitForAll()
        }
        await alerts.evaluated()
        #expect(log.take().map(\.transition) == [.firing])
        #expect(try await store.alerts().map(\.counted) == [true])
    }

    @Test func regroupingOnReloadResolvesTheOldGroup() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let log = SignalLog()
        let alerts = try await service(store, log: log)
        try await alerts.accept([alert(["alertname": "X", "team": "db"])])
        await alerts.evaluated()
        #expect(log.take().map(\.fingerprint) == ["alertmanager:{}:{alertname=\"X\"}"])
        let db = AlertRoute(name: "db", matchers: [try .parse(#"team="db""#)])
        await alerts.replace(routing: AlertRouting(root: AlertRoute(groupBy: ["alertname"], routes: [db])),
                             ladder: try shippedPolicy().ladder)
        let moved = log.take()
        #expect(moved.contains { $0.transition == .resolved && $0.fingerprint == "alertmanager:{}:{alertname=\"X\"}" })
        #expect(moved.contains { $0.transition == .firing && $0.fingerprint == "alertmanager:{}/{team=\"db\"}:{alertname=\"X\"}" })
    }
}
