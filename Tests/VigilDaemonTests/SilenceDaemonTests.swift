import Foundation
import Testing
import VigilConfig
import VigilCore
@testable import VigilDaemon
import VigilMatchers
import VigilIncidents
import VigilSilences
import VigilStore
import VigilTestSupport

/// Issue 17: a silence mutes paging and automated containment for what it matches, and its
/// creation and expiry are in the affected incidents' timelines (real SQLite, manual clock).
@Suite(.serialized) struct SilenceDaemonTests {
    /// Records what it was asked to deliver.
    final class RecordingDelivery: NotificationDelivery, @unchecked Sendable {
        let lock = NSLock()
        var delivered: [NotificationRecord] = []
        var channels: Set<String> { ["*"] }
        var name: String { "recorder" }
        func deliver(_ notification: NotificationRecord, incident: Incident?) async throws {
            lock.withLock { delivered.append(notification) }
        }
        var count: Int { lock.withLock { delivered.count } }
    }

    func draft(_ matchers: String, clock: ManualClock, hours: Int = 1) throws -> SilenceDraft {
        let parsed = try LabelMatchersText.parse(matchers)
        return SilenceDraft(matchers: parsed, startsAt: clock.now(), endsAt: clock.now() + .seconds(hours * 3600),
                            createdBy: "ana", comment: "planned disk swap")
    }

    /// A rig whose outbox delivers to a recorder and asks the silences service what is muted.
    static func mutedOutbox() async throws -> (ContainmentTests.Rig, SilenceService, RecordingDelivery, NotificationOutbox) {
        let rig = try ContainmentTests.rig()
        let silences = try await SilenceService(store: rig.store, clock: rig.clock, logger: quietLogger)
        let delivery = RecordingDelivery()
        let outbox = NotificationOutbox(store: rig.store, clock: rig.clock, logger: quietLogger)
        await outbox.register(delivery)
        await outbox.setMuter { silences.muting($0) }
        return (rig, silences, delivery, outbox)
    }

    @Test func aSilencedIncidentsPagesAreRecordedNotSent() async throws {
        let (rig, silences, delivery, outbox) = try await Self.mutedOutbox()
        let change = try await silences.set(try draft(#"{type="Data corruption"}"#, clock: rig.clock), actor: "ana")

        let muted = try await rig.incidents.declare(ClassificationInput(title: "checksum mismatch", incidentType: "Data corruption"),
                                                    actor: "dave")
        let other = try await rig.incidents.declare(ClassificationInput(title: "cpu", incidentType: "High CPU utilization"),
                                                    actor: "dave")
        try await outbox.deliverDue()
        let mutedPages = try await rig.store.notifications(incidentID: muted.id)
        #expect(!mutedPages.isEmpty)
        #expect(mutedPages.allSatisfy { $0.state == "silenced" && $0.lastError == "silenced by \(change.silence.idText)" })
        #expect(try await rig.store.notifications(incidentID: other.id).allSatisfy { $0.state == "sent" })
        #expect(delivery.delivered.allSatisfy { $0.incidentID == other.id } && delivery.count > 0)
        let timeline = try await rig.store.timeline(incidentID: muted.id)
        #expect(timeline.contains { $0.kind == .notification && $0.message.contains("silenced by \(change.silence.idText)") })
    }

    /// An alert evaluation pass asks once for all its alerts: the answers are the per-alert ones, in order.
    @Test func theBatchedSilenceLookupAnswersAsOneAlertAtATime() async throws {
        let rig = try ContainmentTests.rig()
        let silences = try await SilenceService(store: rig.store, clock: rig.clock, logger: quietLogger)
        let disk = try await silences.set(try draft(#"{alertname="DiskFull"}"#, clock: rig.clock), actor: "ana").silence.idText
        let host = try await silences.set(try draft(#"{instance="db1"}"#, clock: rig.clock), actor: "ana").silence.idText
        let alerts: [[String: String]] = [["alertname": "DiskFull", "instance": "db1"], ["alertname": "CPU"],
                                          ["alertname": "CPU", "instance": "db1"], ["alertname": "DiskFull"]]
        let batched = await silences.silences(matchingEach: alerts, at: rig.clock.now())
        var single: [[String]] = []
        for labels in alerts { single.append(await silences.silences(matching: labels, at: rig.clock.now())) }
        #expect(batched.map { Set($0) } == single.map { Set($0) })
        #expect(batched.map { Set($0) } == [[disk, host], [], [host], [disk]])
    }

    @Test func pagesASilenceHeldGoOutWhenItEndsUnlessTheIncidentWasAcknowledged() async throws {
        let (rig, silences, delivery, outbox) = try await Self.mutedOutbox()
        let id = try await silences.set(try draft(#"{type="Data corruption"}"#, clock: rig.clock), actor: "ana").silence.idText
        let waiting = try await rig.incidents.declare(ClassificationInput(title: "checksum mismatch", incidentType: "Data corruption"),
                                                      actor: "dave")
        let handled = try await rig.incidents.declare(ClassificationInput(title: "bad block", incidentType: "Data corruption"),
                                                      actor: "dave")
        try await outbox.deliverDue()
        #expect(delivery.count == 0)
        _ = try await rig.incidents.acknowledge(handled.id, actor: "erin", note: nil)

        rig.clock.advance(by: .seconds(3601))
        #expect(await silences.tick() == 1)
        try await outbox.deliverDue()
        let resent = try await rig.store.notifications(incidentID: waiting.id)
        #expect(!resent.isEmpty && resent.allSatisfy { $0.state == "sent" }, "\(resent.map(\.state))")
        #expect(delivery.count == resent.count && delivery.delivered.allSatisfy { $0.incidentID == waiting.id })
        #expect(try await rig.store.notifications(incidentID: handled.id).allSatisfy { $0.state == "silenced" })
        let timeline = try await rig.store.timeline(incidentID: waiting.id)
        #expect(timeline.contains { $0.message.hasPrefix("Paging resumed (silence \(id) ended): \(resent.count) muted notification") })
        #expect(try await !rig.store.timeline(incidentID: handled.id).contains { $0.message.hasPrefix("Paging resumed") })
    }

    @Test func creationAndExpiryAreInTheAffectedTimelines() async throws {
        let rig = try ContainmentTests.rig()
        let silences = try await SilenceService(store: rig.store, clock: rig.clock, logger: quietLogger)
        let incident = try await rig.incidents.declare(ClassificationInput(title: "checksum mismatch",
                                                                           incidentType: "Data corruption"), actor: "dave")
        let bystander = try await rig.incidents.declare(ClassificationInput(title: "cpu", incidentType: "High CPU utilization"),
                                                        actor: "dave")
        let id = try await silences.set(try draft("incident=\(incident.id)", clock: rig.clock), actor: "ana").silence.idText
        var timeline = try await rig.store.timeline(incidentID: incident.id)
        #expect(timeline.contains { $0.message.hasPrefix("Silenced by \(id) until ") && $0.actor == "ana" })
        #expect(try await !rig.store.timeline(incidentID: bystander.id).contains { $0.message.contains(id) })

        // Time passes on the injected clock: the clock service notices the end.
        rig.clock.advance(by: .seconds(3601))
        #expect(await silences.tick() == 1)
        timeline = try await rig.store.timeline(incidentID: incident.id)
        #expect(timeline.contains { $0.message.hasPrefix("Silence \(id) expired at ") })
        #expect(await silences.tick() == 0)
        #expect(silences.muting(incident) == nil)
    }

    @Test func expiringByHandResumesAndIsRecorded() async throws {
        let rig = try ContainmentTests.rig()
        let silences = try await SilenceService(store: rig.store, clock: rig.clock, logger: quietLogger)
        let incident = try await rig.incidents.declare(ClassificationInput(title: "checksum mismatch",
                                                                           incidentType: "Data corruption"), actor: "dave")
        let silence = try await silences.set(try draft(#"severity=~".+""#, clock: rig.clock), actor: "ana").silence
        #expect(silences.muting(incident)?.by == silence.idText)
        rig.clock.advance(by: .seconds(60))
        let expired = try #require(try await silences.expire(silence.id, actor: "erin"))
        #expect(expired.endsAt == rig.clock.now())
        rig.clock.advance(by: .seconds(1))
        #expect(silences.muting(incident) == nil)
        let timeline = try await rig.store.timeline(incidentID: incident.id)
        #expect(timeline.contains { $0.message == "Silence \(silence.idText) expired by erin; paging and automated containment resume" })
        // Expired already: nothing more to do (Alertmanager answers 200).
        #expect(try await silences.expire(silence.id, actor: "erin") == nil)
        await #expect(throws: SilenceError.notFound) { try await silences.expire(UUID(), actor: "erin") }
    }

    @Test func concurrentChangesAreMadeOneAtATime() async throws {
        let rig = try ContainmentTests.rig()
        let silences = try await SilenceService(store: rig.store, clock: rig.clock, logger: quietLogger)
        let first = try await silences.set(try draft("team=db", clock: rig.clock), actor: "ana").silence
        rig.clock.advance(by: .seconds(1))
        // Fifty clients replace the same silence at once: exactly one replaces it, the others
        // replace an already expired one (a new silence each, nothing expired twice).
        let d = try draft("team=ops", clock: rig.clock)
        let changes = try await withThrowingTaskGroup(of: SilenceBook.Change.self) { group in
            for _ in 0..<50 {
                var mine = d
                mine.id = first.id
                group.addTask { try await silences.set(mine, actor: "ana") }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(changes.filter { $0.expired != nil }.count == 1)
        #expect(Set(changes.map(\.silence.id)).count == 50)
        #expect(try await rig.store.silences().count == 51)
    }

    @Test func silencesSurviveARestart() async throws {
        let rig = try ContainmentTests.rig()
        let first = try await SilenceService(store: rig.store, clock: rig.clock, logger: quietLogger)
        let silence = try await first.set(try draft(#"plugin="disk-watch""#, clock: rig.clock), actor: "ana").silence
        let second = try await SilenceService(store: try Store(path: rig.store.path), clock: rig.clock, logger: quietLogger)
        #expect(second.silence(silence.id) == silence)
        #expect(second.muting(["plugin": "disk-watch"])?.by == silence.idText)
    }

    @Test func anExpiryWhileTheDaemonWasDownIsAnnouncedAfterTheRestart() async throws {
        let rig = try ContainmentTests.rig()
        let incident = try await rig.incidents.declare(ClassificationInput(title: "checksum mismatch",
                                                                           incidentType: "Data corruption"), actor: "dave")
        let id = try await SilenceService(store: rig.store, clock: rig.clock, logger: quietLogger)
            .set(try draft("incident=\(incident.id)", clock: rig.clock), actor: "ana").silence.idText
        rig.clock.advance(by: .seconds(7200))
        let restarted = try await SilenceService(store: try Store(path: rig.store.path), clock: rig.clock, logger: quietLogger)
        #expect(await restarted.tick() == 1)
        #expect(try await rig.store.timeline(incidentID: incident.id).contains { $0.message.hasPrefix("Silence \(id) expired at ") })
        let again = try await SilenceService(store: try Store(path: rig.store.path), clock: rig.clock, logger: quietLogger)
        #expect(await again.tick() == 0)
    }

    @Test func automatedContainmentIsSkippedWhileSilenced() async throws {
        let rig = try ContainmentTests.rig { s in
            s.automaticStart = true
            for name in ContainmentCatalog.actions.map(\.name) { s.actions[name] = ActionSettings(mode: .auto) }
        }
        let silences = try await SilenceService(store: rig.store, clock: rig.clock, logger: quietLogger)
        await rig.engine.setMuter { silences.muting($0) }
        let id = try await silences.set(try draft(#"containment="data_corruption""#, clock: rig.clock), actor: "ana")
            .silence.idText
        let incident = try await rig.incidents.declare(ClassificationInput(title: "checksum mismatch",
                                                                           incidentType: "Data corruption"), actor: "dave")
        await rig.engine.observe([incident])
        await rig.engine.observe([incident])
        #expect(try await rig.store.actions(incidentID: incident.id).isEmpty)
        #expect(try await rig.store.incident(id: incident.id)?.state == incident.state)
        let skipped = try await rig.store.timeline(incidentID: incident.id).filter {
            $0.message == "Automated containment (data_corruption) skipped: silenced by \(id)"
        }
        #expect(skipped.count == 1)
        // A person moving it to containing: the category's actions are requested, all skipped.
        _ = try await rig.incidents.transition(incident.id, to: .containing, reason: "by hand", actor: "dave")
        await rig.engine.respond(to: incident.id)
        let actions = try await rig.store.actions(incidentID: incident.id)
        #expect(!actions.isEmpty && actions.allSatisfy { $0.actionState == .skipped })
        #expect(actions.allSatisfy { $0.result?["detail"]?.stringValue == "silenced by \(id)" })
    }

    @Test func maintenanceWindowsMuteWhileOpen() async throws {
        let rig = try ContainmentTests.rig()
        // monday is 2026-03-02 10:00 UTC.
        let window = MaintenanceWindow(name: "backup", matchers: try LabelMatchersText.matchers(#"severity=~".+""#),
                                       schedule: .weekly(WeeklySchedule(days: [1], start: 9 * 60, end: 11 * 60)),
                                       timeZone: TimeZone(identifier: "UTC")!)
        let silences = try await SilenceService(store: rig.store, clock: rig.clock, logger: quietLogger, windows: [window])
        let incident = try await rig.incidents.declare(ClassificationInput(title: "x", severity: "P2"), actor: "dave")
        #expect(silences.muting(incident)?.by == "maintenance window backup")
        rig.clock.advance(by: .seconds(3600))
        #expect(silences.muting(incident) == nil)
        #expect(await silences.tick() == 1)
        #expect(try await rig.store.timeline(incidentID: incident.id).contains {
            $0.message == "Maintenance window backup closed: paging and automated containment resume"
        })
    }
}

/// Matcher text to the forms the services take.
enum LabelMatchersText {
    static func matchers(_ text: String) throws -> VigilMatchers.LabelMatchers { try VigilMatchers.LabelMatchers.parse(text) }
    static func parse(_ text: String) throws -> [MatcherInput] {
        try matchers(text).matchers.map { MatcherInput(name: $0.name, value: $0.value, type: $0.type) }
    }
}
