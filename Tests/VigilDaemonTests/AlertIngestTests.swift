import Foundation
import Synchronization
import Testing
import VigilCore
import VigilDaemon
import VigilStore

/// The ingest path: a sender is answered once its alerts are stored, not once they are
/// evaluated; evaluation follows in the background, only over what changed, and still tells
/// each group's incident exactly what a full pass would.
@Suite struct AlertIngestTests {
    let clock = ManualClock(monday)

    func alert(_ labels: [String: String], for lease: Duration = .seconds(60)) -> Alert {
        Alert(labels: labels, startsAt: clock.now(), endsAt: clock.now() + lease, updatedAt: clock.now())
    }

    func service(_ store: Store, routing: AlertRouting = AlertRouting(),
                 deliver: @escaping @Sendable ([RuleSignal]) async -> Void) async throws -> AlertService {
        let s = AlertService(store: store, routing: routing, ladder: try shippedPolicy().ladder, clock: clock,
                             logger: quietLogger, deliver: deliver)
        try await s.restore()
        return s
    }

    @Test(.timeLimit(.minutes(1))) func acceptAnswersOnceStoredWithoutWaitingForTheIncidentService() async throws {
        let path = try temporaryDatabasePath()
        let store = try Store(path: path)
        let log = SignalLog()
        // The incident service is stuck: the sender must still be answered.
        let (release, releaseFeed) = AsyncStream.makeStream(of: Void.self)
        let alerts = try await service(store) { signals in
            for await _ in release { break }
            log.append(signals)
        }
        try await alerts.accept([alert(["alertname": "Stored", "instance": "a"])])
        // On disk already, as a restarted daemon would read it.
        #expect(try await Store(path: path).alerts().map(\.fingerprint) == [AlertFingerprint.hex(["alertname": "Stored", "instance": "a"])])
        #expect(log.all.isEmpty)
        // A second post is answered too while the first's evaluation is still under way.
        try await alerts.accept([alert(["alertname": "Stored", "instance": "b"])])
        releaseFeed.yield()
        releaseFeed.yield()
        await alerts.evaluated()
        #expect(log.all.map(\.transition) == [.firing, .firing])
        #expect(try await store.alerts().allSatisfy(\.counted))
    }

    @Test(.timeLimit(.minutes(1))) func concurrentPostsShareTransactions() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let log = SignalLog()
        let alerts = try await service(store) { log.append($0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<64 {
                group.addTask { try await alerts.accept([self.alert(["alertname": "Many", "instance": "\(i)"])]) }
            }
            try await group.waitForAll()
        }
        await alerts.evaluated()
        #expect(try await store.alerts().count == 64)
        #expect(log.all.filter { $0.transition == .firing }.count == 64)
        #expect(try await store.alerts().allSatisfy(\.counted))
    }

    /// Incremental passes keep per-group counts: a group resolves when its last alert does,
    /// whichever posts brought them.
    @Test(.timeLimit(.minutes(1))) func aGroupResolvesWithItsLastAlertAcrossPosts() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let log = SignalLog()
        let alerts = try await service(store, routing: AlertRouting(root: AlertRoute(groupBy: ["alertname"]))) { log.append($0) }
        try await alerts.accept([alert(["alertname": "G", "instance": "a"])])
        try await alerts.accept([alert(["alertname": "G", "instance": "b"])])
        await alerts.evaluated()
        #expect(log.take().map(\.transition) == [.firing, .firing])
        var ended = alert(["alertname": "G", "instance": "a"])
        ended.endsAt = clock.now()
        try await alerts.accept([ended])
        await alerts.evaluated()
        #expect(log.take().isEmpty, "b still fires")
        ended.labels["instance"] = "b"
        try await alerts.accept([ended])
        await alerts.evaluated()
        let resolved = log.take()
        #expect(resolved.map(\.transition) == [.resolved])
        #expect(resolved.first?.fingerprint == "alertmanager:{}:{alertname=\"G\"}")
    }

    /// A newly firing inhibition source changes alerts nobody re-posted: its arrival asks for a
    /// full pass, and the target already told as firing now counts as resolved.
    @Test(.timeLimit(.minutes(1))) func aSourceArrivingLaterInhibitsTargetsAlreadyFiring() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let log = SignalLog()
        let rule = InhibitRule(source: [try .parse(#"severity="critical""#)], target: [try .parse(#"severity="warning""#)],
                               equal: ["cluster"])
        let alerts = try await service(store, routing: AlertRouting(inhibitRules: [rule])) { log.append($0) }
        try await alerts.accept([alert(["alertname": "Slow", "severity": "warning", "cluster": "c1"])])
        await alerts.evaluated()
        #expect(log.take().map(\.transition) == [.firing])
        try await alerts.accept([alert(["alertname": "ClusterDown", "severity": "critical", "cluster": "c1"])])
        await alerts.evaluated()
        let after = log.take()
        #expect(after.contains { $0.transition == .firing && $0.labels["alertname"] == "ClusterDown" })
        #expect(after.contains { $0.transition == .resolved && $0.labels["alertname"] == "Slow" })
        // A target arriving while the source fires is inhibited from the start.
        try await alerts.accept([alert(["alertname": "Slower", "severity": "warning", "cluster": "c1"])])
        await alerts.evaluated()
        #expect(log.take().isEmpty)
        #expect(await alerts.snapshot().first { $0.alert.labels["alertname"] == "Slower" }?.state == "suppressed")
    }
}
