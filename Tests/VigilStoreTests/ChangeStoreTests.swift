import Foundation
import Testing
import VigilCore
@testable import VigilStore

/// The `changeRecord` table root-cause help reads: stored, filtered, bounded; and the
/// candidates a post-mortem draft gathers in its transaction.
@Suite struct ChangeStoreTests {
    static func deploy(_ component: String, at time: Timestamp, recordedAt: Timestamp? = nil) -> ChangeRecord {
        ChangeRecord(time: time, kind: .deploy, component: component, subject: "r1", summary: "release r1 of \(component)",
                     actor: "ci", recordedAt: recordedAt ?? time)
    }

    @Test func storedFilteredNewestFirst() async throws {
        let store = try Store(path: try temporaryDatabase())
        let a = try await store.recordChange(Self.deploy("api", at: t0))
        _ = try await store.recordChange(Self.deploy("database", at: t0 + .seconds(60)))
        _ = try await store.recordChange(ChangeRecord(time: t0 + .seconds(120), kind: .configReload, subject: "vigil.yaml",
                                                      summary: "configuration reloaded", actor: "SIGHUP", recordedAt: t0))
        #expect(a.id == 1 && a.component == "api" && a.kind == .deploy)
        #expect(try await store.changes().map(\.id) == [3, 2, 1])
        #expect(try await store.changes(component: "API").map(\.id) == [1])
        #expect(try await store.changes(since: t0 + .seconds(60)).map(\.id) == [3, 2])
        #expect(try await store.changes(until: t0 + .seconds(60)).map(\.id) == [1])
        #expect(try await store.changes(kinds: [.configReload]).map(\.subject) == ["vigil.yaml"])
        #expect(try await store.changes(limit: 1).map(\.id) == [3])
    }

    @Test func theTableIsBoundedByCountAndAge() async throws {
        let store = try Store(path: try temporaryDatabase())
        for i in 0..<5 { _ = try await store.recordChange(Self.deploy("api", at: t0 + .seconds(Int64(i))), keep: 3) }
        #expect(try await store.changes().map(\.id) == [5, 4, 3])
        // A row older than the retention goes when the next one arrives.
        let later = t0 + ChangeLimits.retention + .seconds(10)
        _ = try await store.recordChange(Self.deploy("api", at: later, recordedAt: later))
        #expect(try await store.changes().map(\.id) == [6])
    }

    @Test func candidatesAreWhatPrecededInTheWindow() async throws {
        let store = try Store(path: try temporaryDatabase())
        let (one, _) = try await store.openIncident(year: 2026, prefix: "INC") { change($0, at: t0 - .seconds(1800)) }
        _ = try await store.openIncident(year: 2026, prefix: "INC") { change($0, at: t0 - .seconds(90_000)) }
        _ = try await store.recordChange(Self.deploy("api", at: t0 - .seconds(600)))
        _ = try await store.recordChange(Self.deploy("api", at: t0 + .seconds(600)))
        let found = try await store.write { tx in
            var acted = ActionRecord(incidentID: one.id, name: "block_ip", mode: "auto", state: .succeeded, dryRun: false,
                                     requestedAt: t0 - .seconds(1200))
            try tx.save(&acted)
            var dry = ActionRecord(incidentID: one.id, name: "isolate", mode: "auto", state: .simulated, dryRun: true,
                                   requestedAt: t0 - .seconds(1100))
            try tx.save(&dry)
            let c = try tx.causeCandidates(from: t0 - .seconds(86_400), to: t0)
            return (c.changes.map(\.time), c.actions.map { "\($0.0.name) \($0.1?.id ?? "-")" }, c.incidents.map(\.id))
        }
        #expect(found.0 == [t0 - .seconds(600)])
        #expect(found.1 == ["block_ip \(one.id)"])
        #expect(found.2 == [one.id])
    }

    @Test func pluginFingerprintsAndTheirUpgradesCommitTogether() async throws {
        let store = try Store(path: try temporaryDatabase())
        try await store.savePluginFingerprints([PluginFingerprintRecord(name: "disk", version: "1.0", fingerprint: "aa:bb", seenAt: t0)],
                                               changes: [])
        #expect(try await store.pluginFingerprints()["disk"]?.fingerprint == "aa:bb")
        try await store.savePluginFingerprints([PluginFingerprintRecord(name: "disk", version: "1.1", fingerprint: "cc:bb", seenAt: t0)],
                                               changes: [ChangeRecord(time: t0, kind: .pluginUpgrade, subject: "disk",
                                                                      summary: "plugin disk upgraded (1.0 → 1.1)", actor: "vigild",
                                                                      recordedAt: t0)])
        #expect(try await store.pluginFingerprints()["disk"]?.version == "1.1")
        #expect(try await store.changes(kinds: [.pluginUpgrade]).map(\.subject) == ["disk"])
    }
}
