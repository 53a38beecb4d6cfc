import Foundation
import Testing
import VigilCore
@testable import VigilDaemon
import VigilStore

/// The clock's tick looks only at the alerts whose lease ran out (found by lease time), yet
/// tells incidents exactly what a full pass would.
@Suite struct AlertLeaseTickTests {
    /// The alert service rig of ``AlertServiceTests`` (its manual clock, shipped ladder, muting).
    let rig = AlertServiceTests()
    var clock: ManualClock { rig.clock }

    func service(_ store: Store, routing: AlertRouting = AlertRouting(), log: SignalLog) async throws -> AlertService {
        try await rig.service(store, routing: routing, log: log)
    }

    func alert(_ labels: [String: String], for lease: Duration = .seconds(60)) -> Alert { rig.alert(labels, for: lease) }

    @Test func aTickResolvesOnlyWhatsLeaseRanOut() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let log = SignalLog()
        let alerts = try await service(store, log: log)
        await alerts.tick()  // the first tick is a full pass
        try await alerts.accept([alert(["alertname": "DiskFull", "instance": "a"]),
                                 alert(["alertname": "DiskFull", "instance": "b"], for: .seconds(120)),
                                 alert(["alertname": "Other"], for: .seconds(30))])
        await alerts.evaluated()
        #expect(log.take().count == 3)
        // a is renewed for 60 s more at +20 s: its first check finds it renewed.
        clock.advance(by: .seconds(20))
        try await alerts.accept([alert(["alertname": "DiskFull", "instance": "a"])])
        await alerts.evaluated()
        #expect(log.take().isEmpty)
        clock.advance(by: .seconds(11))  // +31: Other's lease ran out, its group resolves
        await alerts.tick()
        #expect(log.take().map { "\($0.transition) \($0.labels["alertname"] ?? "")" } == ["resolved Other"])
        clock.advance(by: .seconds(30))  // +61: a's first lease would have ended; renewed to +80
        await alerts.tick()
        #expect(log.take().isEmpty)
        clock.advance(by: .seconds(20))  // +81: a ended, b fires until +120
        await alerts.tick()
        #expect(log.take().isEmpty)
        clock.advance(by: .seconds(40))  // +121: the last of DiskFull ended
        await alerts.tick()
        let resolved = log.take()
        #expect(resolved.map(\.transition) == [.resolved])
        #expect(resolved.first?.labels["alertname"] == "DiskFull")
        #expect(try await store.alerts().allSatisfy { !$0.counted })
        // Nothing left to look at, and nothing more happens.
        #expect(await alerts.leaseChecks.isEmpty)
        clock.advance(by: .seconds(600))
        await alerts.tick()
        #expect(log.take().isEmpty)
    }

    /// An inhibiting alert whose lease runs out lets the alert it inhibited fire at that tick.
    @Test func aSourceRunningOutReleasesWhatItInhibited() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let log = SignalLog()
        let rule = InhibitRule(source: [try .parse(#"severity="critical""#)], target: [try .parse(#"severity="warning""#)],
                               equal: ["cluster"])
        let alerts = try await service(store, routing: AlertRouting(inhibitRules: [rule]), log: log)
        await alerts.tick()
        try await alerts.accept([alert(["alertname": "ClusterDown", "severity": "critical", "cluster": "c1"], for: .seconds(30)),
                                 alert(["alertname": "Slow", "severity": "warning", "cluster": "c1"], for: .seconds(300))])
        await alerts.evaluated()
        #expect(log.take().map { $0.labels["alertname"] } == ["ClusterDown"])
        clock.advance(by: .seconds(31))
        await alerts.tick()
        let after = log.take()
        #expect(after.contains { $0.transition == .firing && $0.labels["alertname"] == "Slow" })
        #expect(after.contains { $0.transition == .resolved && $0.labels["alertname"] == "ClusterDown" })
    }

    /// A sender renewing the same alert over and over leaves one live check, not one per post.
    /// Alerts stored by a previous run whose lease ran out while the daemon was down resolve
    /// at the first tick.
    @Test func theFirstTickLooksAtEverything() async throws {
        let path = try temporaryDatabasePath()
        let log = SignalLog()
        do {
            let alerts = try await service(try Store(path: path), log: log)
            try await alerts.accept([alert(["alertname": "Gone"], for: .seconds(30))])
            await alerts.evaluated()
            #expect(log.take().map(\.transition) == [.firing])
        }
        clock.advance(by: .seconds(3600))
        let restarted = try await service(try Store(path: path), log: log)
        await restarted.tick()
        #expect(log.take().map(\.transition) == [.resolved])
        #expect(await restarted.leaseChecks.isEmpty)
    }

    /// A tick returns once the pass that takes its expired alerts is done, even while a steady
    /// stream of posts keeps evaluation busy (it waited for idleness: the clock stalled).
    @Test(.timeLimit(.minutes(1))) func aTickKeepsItsPaceUnderAStreamOfPosts() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let log = SignalLog()
        let alerts = try await service(store, log: log)
        await alerts.tick()
        try await alerts.accept([alert(["alertname": "Short"], for: .seconds(10))])
        await alerts.evaluated()
        _ = log.take()
        let stream = Task {
            var n = 0
            while !Task.isCancelled {
                n += 1
                try? await alerts.accept([alert(["alertname": "Stream", "n": "\(n)"], for: .seconds(3600))])
            }
        }
        clock.advance(by: .seconds(11))
        await alerts.tick()
        stream.cancel()
        await stream.value
        #expect(log.all.contains { $0.transition == .resolved && $0.labels["alertname"] == "Short" })
    }

    /// Stale checks (a lease shortened again and again) are dropped before they outnumber the
    /// live ones: a sender cannot grow the heap.
    @Test func shortenedLeasesDoNotGrowTheHeap() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let alerts = try await service(store, log: SignalLog())
        for i in 0..<3000 {
            try await alerts.accept([alert(["alertname": "Shrinking"], for: .seconds(100_000 - i))])
        }
        #expect(await alerts.leaseCheckAt.count == 1)
        #expect(await alerts.leaseChecks.count <= 2 + 1024 + 1)
    }

    @Test func renewalsKeepOneCheckPerAlert() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let alerts = try await service(store, log: SignalLog())
        for i in 0..<300 {
            try await alerts.accept([alert(["alertname": "Flappy", "n": "\(i % 3)"], for: .seconds(60 + i))])
        }
        #expect(await alerts.leaseChecks.count == 3)
        #expect(await alerts.leaseCheckAt.count == 3)
    }
}
