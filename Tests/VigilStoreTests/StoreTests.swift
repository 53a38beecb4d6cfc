import Foundation
import Testing
import VigilCore
@testable import VigilStore
import GRDB

func temporaryDatabase() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-store-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir + "/vigil.db"
}

let t0 = Timestamp(nanoseconds: 1_790_000_000_000_000_000)

func change(_ id: String, title: String = "disk full", at time: Timestamp = t0) -> StoreChange {
    let incident = Incident(id: id, title: title, severity: Severity(code: "P2", rank: 1), source: "user-report",
                            detectedAt: time, responseDeadline: time + .seconds(3600))
    return StoreChange(incident: incident, timeline: [
        TimelineEntry(incidentID: id, time: time, actor: "alice", kind: .declared, message: "declared"),
    ])
}

@Suite struct StoreTests {
    @Test func migrationsAreNamedAndWALIsOn() throws {
        let path = try temporaryDatabase()
        let store = try Store(path: path)
        #expect(try store.appliedMigrations() == ["v1-incidents", "v2-incident-response", "v3-incident-plugin-index", "v3-alerts", "v3-access-tokens", "v-silences", "v-heartbeats", "v4-notification-people",
                                                   "v5-notification-routing", "v6-incident-browsing", "v6-oncall-overrides",
                                                   "v6-response-metrics", "v7-action-items", "v8-action-item-reminders", "v9-post-mortems", "v10-recovery-watch",
                                                   "v11-disaster-recovery", "v12-change-records", "v13-rule-samples", "v14-agents"])
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
    }

    /// GRDB's DatabasePool sets its writer to `synchronous = NORMAL` after `prepareDatabase`:
    /// a commit must still be synced (FULL, 2) on the connection that writes.
    @Test func theWriterCommitsWithSynchronousFull() async throws {
        let store = try Store(path: try temporaryDatabase())
        let level = try await store.write { tx in try Int.fetchOne(tx.db, sql: "PRAGMA synchronous") }
        #expect(level == 2)
    }

    @Test func theOpenIncidentAboutAPluginIsFoundThroughAnIndex() async throws {
        let store = try Store(path: try temporaryDatabase())
        var labelled = change("INC-2026-0001")
        labelled.incident.labels = ["plugin": "webhook"]
        let opening = labelled
        _ = try await store.openIncident(year: 2026, prefix: "INC") { _ in opening }
        let (found, plan) = try await store.write { tx in
            (try tx.openIncident(plugin: "webhook")?.id,
             try Row.fetchAll(tx.db, sql: "EXPLAIN QUERY PLAN SELECT * FROM incident WHERE json_extract(labels, '$.plugin') = ?",
                              arguments: ["webhook"]).map { ($0["detail"] as String?) ?? "" }.joined())
        }
        #expect(found == "INC-2026-0001")
        #expect(try await store.write { try $0.openIncident(plugin: "other") } == nil)
        #expect(plan.contains("incident_plugin"))
    }

    @Test func incidentIDsAreSequentialPerYear() async throws {
        let store = try Store(path: try temporaryDatabase())
        let (a, _) = try await store.openIncident(year: 2026, prefix: "INC") { change($0) }
        let (b, _) = try await store.openIncident(year: 2026, prefix: "INC") { change($0) }
        let (c, _) = try await store.openIncident(year: 2027, prefix: "INC") { change($0) }
        #expect([a.id, b.id, c.id] == ["INC-2026-0001", "INC-2026-0002", "INC-2027-0001"])
    }

    @Test func timelineSequencesContinueAcrossCommitsAndReopen() async throws {
        let path = try temporaryDatabase()
        do {
            let store = try Store(path: path)
            var (incident, first) = try await store.openIncident(year: 2026, prefix: "INC") { change($0) }
            #expect(first.map(\.sequence) == [1])
            incident.state = .mobilised
            incident.acknowledgedAt = t0 + .seconds(60)
            let more = try await store.commit(StoreChange(incident: incident, timeline: [
                TimelineEntry(incidentID: incident.id, time: t0 + .seconds(60), actor: "bob", kind: .acknowledged, message: "ack"),
                TimelineEntry(incidentID: incident.id, time: t0 + .seconds(61), actor: "bob", kind: .comment, message: "looking"),
            ], notifications: [NotificationRecord(incidentID: incident.id, createdAt: t0, channel: "webhook",
                                                  recipients: ["alice"], subject: "s", body: "b")]))
            #expect(more.map(\.sequence) == [2, 3])
        }
        let reopened = try Store(path: path)
        let stored = try #require(try await reopened.incident(id: "INC-2026-0001"))
        #expect(stored.state == .mobilised)
        #expect(stored.acknowledgedAt == t0 + .seconds(60))
        #expect(stored.responseDeadline == t0 + .seconds(3600))
        #expect(try await reopened.timeline(incidentID: stored.id).map(\.kind) == [.declared, .acknowledged, .comment])
        #expect(try await reopened.pendingNotifications().count == 1)
        #expect(try await reopened.openIncidents().map(\.id) == ["INC-2026-0001"])
    }

    /// Timeline data and notification recipients are written as JSON text by hand (the fast path
    /// of signal intake): awkward strings must read back exactly as they went in.
    @Test func timelineDataAndRecipientsReadBackExactly() async throws {
        let store = try Store(path: try temporaryDatabase())
        let (incident, _) = try await store.openIncident(year: 2026, prefix: "INC") { change($0) }
        let awkward = ["quote\"d", "back\\slash", "line\nbreak\ttab\r", "nul\u{0}bell\u{7}esc\u{1B}", "é 😀 \u{2028}", "", "{}[]:,"]
        var data: [String: String] = [:]
        for (i, s) in awkward.enumerated() { data["k\(i) \(s)"] = s }
        _ = try await store.commit(StoreChange(incident: incident, timeline: [
            TimelineEntry(incidentID: incident.id, time: t0, actor: "bob", kind: .comment, message: "m", data: data),
        ], notifications: [NotificationRecord(incidentID: incident.id, createdAt: t0, channel: "email",
                                              recipients: awkward, subject: "s", body: "b")]))
        let entries = try await store.timeline(incidentID: incident.id)
        #expect(entries.last?.data == data)
        #expect(try await store.pendingNotifications().first?.recipients == awkward)
    }

    @Test func commitOfUnknownIncidentChangesNothing() async throws {
        let store = try Store(path: try temporaryDatabase())
        await #expect(throws: StoreError.self) { try await store.commit(change("INC-2026-0099")) }
        #expect(try store.rowCounts()["timeline"] == 0)
    }

    @Test func pluginIdentityIsStableAndUnique() throws {
        let path = try temporaryDatabase()
        let store = try Store(path: path)
        let a = try store.pluginIdentity(name: "system-metrics", range: 61000...61001, now: t0)
        let b = try store.pluginIdentity(name: "webhook", range: 61000...61001, now: t0)
        #expect(a.uid == 61000 && b.uid == 61001)
        #expect(try Store(path: path).pluginIdentity(name: "system-metrics", range: 61000...61001, now: t0).uid == 61000)
        #expect(throws: StoreError.self) { try store.pluginIdentity(name: "third", range: 61000...61001, now: t0) }
    }

    @Test func onlineBackupRestoresIdentically() async throws {
        let store = try Store(path: try temporaryDatabase())
        for _ in 0..<5 { _ = try await store.openIncident(year: 2026, prefix: "INC") { change($0) } }
        let backupPath = try temporaryDatabase()
        try store.backup(to: backupPath)
        let restored = try Store(path: backupPath)
        #expect(try restored.integrityCheck() == "ok")
        #expect(try restored.rowCounts() == store.rowCounts())
        #expect(try await restored.incidents().map(\.id) == store.incidents().map(\.id))
    }
}
