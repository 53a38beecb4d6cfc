import Foundation
import GRDB
import Synchronization
import Testing
import VigilCore
@testable import VigilStore

/// What the store hands to whoever delivers pages, the status page's one read of public
/// updates, and WAL checkpoints kept out of commits.
@Suite struct StoreHandOverTests {
    func paged(_ id: String, channels: [String]) -> StoreChange {
        var c = change(id)
        c.notifications = channels.map {
            NotificationRecord(incidentID: id, createdAt: t0, channel: $0, recipients: ["\($0)-someone"], subject: "s", body: "b")
        }
        return c
    }

    /// The observer gets each inserted notification with the id it was stored under and its
    /// incident as the transaction left it: a page can leave without being read back.
    @Test func aCommitHandsOverWhatItQueuedWithIdsAndIncidents() async throws {
        let store = try Store(path: try temporaryDatabase())
        let seen = Mutex<[QueuedNotifications]>([])
        store.onNotificationsQueued { q in seen.withLock { $0.append(q) } }
        let opening = paged("INC-2026-0001", channels: ["email", "chat"])
        let (incident, _) = try await store.openIncident(year: 2026, prefix: "INC") { _ in opening }
        // A write that queues nothing tells nobody.
        _ = try await store.write { tx in try tx.incident(id: incident.id) }
        let handed = seen.withLock { $0 }
        try #require(handed.count == 1)
        #expect(!handed[0].unlisted)
        let stored = try await store.notifications(incidentID: incident.id)
        #expect(handed[0].inserted.map(\.notification) == stored)
        #expect(handed[0].inserted.allSatisfy { $0.incident == incident })
        #expect(Set(stored.compactMap(\.id)).count == 2)
    }

    /// Pages queued by one change of an incident carry the incident as the transaction left it,
    /// after a later change to it in the same transaction.
    @Test func theHandedIncidentIsTheTransactionsLastCopy() async throws {
        let store = try Store(path: try temporaryDatabase())
        let seen = Mutex<[QueuedNotifications]>([])
        store.onNotificationsQueued { q in seen.withLock { $0.append(q) } }
        let opening = paged("INC-2026-0001", channels: ["email"])
        let final = try await store.write { tx -> Incident in
            var (incident, _) = try tx.open(year: 2026, prefix: "INC") { _ in opening }
            incident.occurrences += 1
            incident.title = "disk full, twice"
            try tx.commit(StoreChange(incident: incident))
            return incident
        }
        let handed = seen.withLock { $0 }
        #expect(handed.count == 1 && handed[0].inserted.count == 1)
        #expect(handed[0].inserted.first?.incident == final)
    }

    /// Notifications a silence held and put back are not listed: the observer is told to read.
    @Test func putBackNotificationsAreUnlisted() async throws {
        let store = try Store(path: try temporaryDatabase())
        let opening = paged("INC-2026-0001", channels: ["email"])
        let (incident, _) = try await store.openIncident(year: 2026, prefix: "INC") { _ in opening }
        var held = try #require(try await store.notifications(incidentID: incident.id).first)
        held.state = "silenced"
        let silenced = held
        try await store.write { tx in try tx.update(silenced) }
        let seen = Mutex<[QueuedNotifications]>([])
        store.onNotificationsQueued { q in seen.withLock { $0.append(q) } }
        let count = try await store.write { tx in try tx.requeueSilencedNotifications(incidentID: incident.id, at: t0) }
        #expect(count == 1)
        let handed = seen.withLock { $0 }
        #expect(handed.count == 1 && handed[0].unlisted && handed[0].inserted.isEmpty)
    }

    /// One read for many incidents: only the kind asked for, each incident's in sequence, more
    /// incidents than one statement may name.
    @Test func timelinesOfOneKindForManyIncidentsInOneRead() async throws {
        let store = try Store(path: try temporaryDatabase())
        var ids: [String] = []
        for n in 1...620 {
            var c = change(String(format: "INC-2026-%04d", n))
            c.timeline.append(TimelineEntry(incidentID: c.incident.id, time: t0, actor: "vigild", kind: .statusPage, message: "first \(n)"))
            c.timeline.append(TimelineEntry(incidentID: c.incident.id, time: t0, actor: "vigild", kind: .comment, message: "note"))
            if n % 2 == 0 {
                c.timeline.append(TimelineEntry(incidentID: c.incident.id, time: t0, actor: "vigild", kind: .statusPage, message: "second \(n)"))
            }
            let opening = c
            ids.append(try await store.openIncident(year: 2026, prefix: "INC") { _ in opening }.0.id)
        }
        let updates = try await store.timelines(incidentIDs: ids + ["INC-1999-0001"], kind: .statusPage)
        #expect(updates.count == 620)
        for (n, id) in ids.enumerated() {
            let expected = (n + 1) % 2 == 0 ? ["first \(n + 1)", "second \(n + 1)"] : ["first \(n + 1)"]
            #expect(updates[id]?.map(\.message) == expected)
            #expect(updates[id]?.allSatisfy { $0.kind == .statusPage && $0.incidentID == id } == true)
        }
        #expect(try await store.timelines(incidentIDs: [], kind: .statusPage).isEmpty)
    }

    /// The status page's read: the newest incidents in any state, as a plain read gives them,
    /// and a changed row read changed.
    @Test func recentIncidentsReadLikeAPlainReadAndSeeChanges() async throws {
        let store = try Store(path: try temporaryDatabase())
        for n in 1...12 {
            let opening = change(String(format: "INC-2026-%04d", n), at: t0 + .seconds(n))
            _ = try await store.openIncident(year: 2026, prefix: "INC") { _ in opening }
        }
        #expect(try await store.recentIncidents(limit: 5) == (try await store.incidents(limit: 5)))
        let id = try #require(try await store.incidents(limit: 1).first?.id)
        try await store.write { tx in
            var incident = try #require(try tx.incident(id: id))
            incident.title = "renamed"
            try tx.commit(StoreChange(incident: incident))
        }
        let again = try await store.recentIncidents(limit: 5)
        #expect(again.first?.title == "renamed")
        #expect(again == (try await store.incidents(limit: 5)))
        #expect(try await store.recentIncidents(limit: 50).count == 12)
    }

    /// The writer checkpoints only at its safety net; ``Store/checkpoint()`` copies the WAL from
    /// a connection of its own while the writer goes on.
    @Test(.timeLimit(.minutes(1))) func checkpointsRunBesideTheWriter() async throws {
        let store = try Store(path: try temporaryDatabase())
        let threshold = try await store.write { tx in try Int.fetchOne(tx.db, sql: "PRAGMA wal_autocheckpoint") }
        #expect(threshold == Store.safetyNetPages)
        for n in 1...40 {
            let opening = change(String(format: "INC-2026-%04d", n))
            _ = try await store.openIncident(year: 2026, prefix: "INC") { _ in opening }
        }
        let (frames, copied) = try await store.checkpoint()
        #expect(frames > 0 && copied == frames)
        // Writes go on during and after it, and are read back.
        async let more: Void = {
            for n in 41...80 {
                let opening = change(String(format: "INC-2026-%04d", n))
                _ = try await store.openIncident(year: 2026, prefix: "INC") { _ in opening }
            }
        }()
        _ = try await store.checkpoint()
        try await more
        _ = try await store.checkpoint()
        #expect(try await store.incidents(limit: 1000).count == 80)
    }
}
