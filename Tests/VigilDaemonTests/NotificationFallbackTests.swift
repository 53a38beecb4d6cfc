import Foundation
import Testing
import VigilConfig
import VigilTestSupport
import VigilCore
@testable import VigilDaemon
import VigilIncidents
@testable import VigilStore

/// Channel → whether its deliveries fail; records every attempt.
final class ScriptedDelivery: NotificationDelivery, @unchecked Sendable {
    struct Refused: Error, CustomStringConvertible { let description: String }
    let lock = NSLock()
    let channels: Set<String>
    let name: String
    var failing: Bool
    var attempts: [(id: Int64, channel: String)] = []

    init(_ channels: Set<String>, failing: Bool, name: String? = nil) {
        self.channels = channels
        self.failing = failing
        self.name = name ?? channels.sorted().joined(separator: "+")
    }

    func deliver(_ notification: NotificationRecord, incident: Incident?) async throws {
        let fail = lock.withLock { () -> Bool in
            attempts.append((notification.id ?? -1, notification.channel))
            return failing
        }
        if fail { throw Refused(description: "\(notification.channel): connection refused") }
    }

    func count(_ channel: String) -> Int { lock.withLock { attempts.count { $0.channel == channel } } }
}

/// A person's contact methods in their order, the next one queued when one is failing, and the
/// daemon's notification-failure incident when every method failed for good.
@Suite struct NotificationFallbackTests {
    struct Rig {
        let store: Store
        let path: String
        let incidents: IncidentService
        let clock: ManualClock
        let policy: IncidentPolicy
    }

    /// The shipped configuration where dave (on call at ``monday``) has Slack, SMS and email, in that order.
    static func rig(mirror: Bool = false) throws -> Rig {
        let path = repositoryRoot + "/Config/vigil.yaml"
        var text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(
            of: "      contacts: { email: dave@example.org }",
            with: "      contacts: { email: dave@example.org, slack: \"@dave\", sms: \"+1 555 0101\" }\n"
                + "      contact_order: [slack, sms, email]")
        if mirror {
            text = text.replacingOccurrences(of: "  fallback_after: 1\n",
                                             with: "  fallback_after: 1\n  mirrors: [{ channel: pagerduty, recipient: default }]\n")
        }
        let policy = try ConfigLoader.load(text: text, file: path).policy
        let db = try temporaryDatabasePath()
        let store = try Store(path: db)
        let clock = ManualClock(monday)
        return Rig(store: store, path: db, incidents: IncidentService(store: store, policy: policy, clock: clock, logger: quietLogger),
                   clock: clock, policy: policy)
    }

    static func outbox(_ rig: Rig, _ deliveries: [any NotificationDelivery], attempts: Int = 4,
                       fallbackAfter: Int = 2) async -> NotificationOutbox {
        let outbox = NotificationOutbox(store: rig.store, clock: rig.clock, logger: quietLogger,
                                        policy: DeliveryPolicy(retry: RetryPolicy(initial: .seconds(1), maximum: .seconds(4),
                                                                                  maxAttempts: attempts),
                                                               fallbackAfter: fallbackAfter),
                                        random: SplitMix64(seed: 7))
        for d in deliveries { await outbox.register(d) }
        await outbox.reportFailures(to: rig.incidents)
        return outbox
    }

    static func declare(_ rig: Rig) async throws -> String {
        try await rig.incidents.declare(ClassificationInput(title: "cpu", incidentType: "High CPU utilization"), actor: "erin").id
    }

    /// Dave's notifications of `incident`, oldest first.
    static func daves(_ rig: Rig, _ incident: String) async throws -> [NotificationRecord] {
        try await rig.store.notifications(incidentID: incident).filter { $0.person == "dave" }
    }

    /// Passes until nothing is pending, moving the clock past every retry (at most `rounds`).
    static func drain(_ rig: Rig, _ outbox: NotificationOutbox, rounds: Int = 40) async throws {
        for _ in 0..<rounds {
            try await outbox.deliverDue()
            if try await rig.store.pendingNotifications().isEmpty { return }
            rig.clock.advance(by: .seconds(5))
        }
    }

    @Test(.timeLimit(.minutes(1))) func theNextMethodIsQueuedOnceAfterFallbackAfterAttempts() async throws {
        let rig = try Self.rig()
        let slack = ScriptedDelivery(["slack"], failing: true)
        let sms = ScriptedDelivery(["sms"], failing: true)
        let others = ScriptedDelivery(["*"], failing: false)
        let outbox = await Self.outbox(rig, [slack, sms, others])
        let id = try await Self.declare(rig)
        var mine = try await Self.daves(rig, id)
        #expect(mine.map(\.channel) == ["slack"] && mine[0].purpose == "page")
        #expect(mine[0].fallbacks.map(\.channel) == ["sms", "email"])

        try await outbox.deliverDue()
        #expect(try await Self.daves(rig, id).map(\.channel) == ["slack"], "one failed attempt is not enough")
        rig.clock.advance(by: .seconds(5))
        try await outbox.deliverDue()
        mine = try await Self.daves(rig, id)
        #expect(mine.map(\.channel) == ["slack", "sms"])
        #expect(mine[0].attempts == 2 && mine[0].state == "pending" && mine[0].fallbacks.isEmpty)
        #expect(mine[1].chain == mine[0].id && mine[1].fallbacks.map(\.channel) == ["email"] && mine[1].purpose == "page")
        let timeline = try await rig.store.timeline(incidentID: id)
        #expect(timeline.contains { $0.message == "slack notification to dave failed 2 attempt(s) (slack: connection refused): "
            + "falling back to sms +1 555 0101; slack keeps retrying (up to 4 attempts)" })

        try await Self.drain(rig, outbox)
        mine = try await Self.daves(rig, id)
        #expect(mine.map(\.channel) == ["slack", "sms", "email"], "each method queued once")
        #expect(mine.map(\.state) == ["failed", "failed", "sent"])
        #expect(mine.map(\.attempts) == [4, 4, 1])
        #expect(slack.count("slack") == 4 && sms.count("sms") == 4)
        // Dave was told by email: no notification-failure incident.
        #expect(try await rig.store.incidents().allSatisfy { $0.type != "Notification failure" })
    }

    /// A restart between two methods carries the chain on from what is stored.
    @Test(.timeLimit(.minutes(1))) func aRestartMidChainContinuesIt() async throws {
        let rig = try Self.rig()
        let id = try await Self.declare(rig)
        let first = await Self.outbox(rig, [ScriptedDelivery(["slack", "sms"], failing: true), ScriptedDelivery(["*"], failing: false)])
        for _ in 0..<2 {
            try await first.deliverDue()
            rig.clock.advance(by: .seconds(5))
        }
        #expect(try await Self.daves(rig, id).map(\.channel) == ["slack", "sms"])

        // A new daemon: a new store and outbox over the same file.
        let store = try Store(path: rig.path)
        let restarted = Rig(store: store, path: rig.path,
                            incidents: IncidentService(store: store, policy: rig.policy, clock: rig.clock, logger: quietLogger),
                            clock: rig.clock, policy: rig.policy)
        let email = ScriptedDelivery(["email"], failing: false)
        let second = await Self.outbox(restarted, [ScriptedDelivery(["slack", "sms"], failing: true), email,
                                                   ScriptedDelivery(["*"], failing: false)])
        try await Self.drain(restarted, second)
        let mine = try await Self.daves(restarted, id)
        #expect(mine.map(\.channel) == ["slack", "sms", "email"])
        #expect(mine.last?.state == "sent" && mine.last?.chain == mine.first?.id)
        #expect(email.lock.withLock { email.attempts.filter { a in a.id == mine.last?.id }.count } == 1)
    }

    /// Every method failed for good: one notification-failure incident per incident, naming who
    /// was not told, on which channels and why; the original says so and escalates regardless.
    @Test(.timeLimit(.minutes(1))) func everyMethodFailingOpensOneFailureIncidentAndEscalationGoesOn() async throws {
        let rig = try Self.rig()
        let everything = ScriptedDelivery(["*"], failing: true, name: "dead")
        let outbox = await Self.outbox(rig, [everything], attempts: 2)
        let id = try await Self.declare(rig)
        let original = try #require(try await rig.store.incident(id: id))
        #expect(original.severity.code == "P2" && original.acknowledgedAt == nil)
        try await Self.drain(rig, outbox)

        let mine = try await Self.daves(rig, id)
        #expect(mine.map(\.channel) == ["slack", "sms", "email"] && mine.allSatisfy { $0.state == "failed" && $0.attempts == 2 })
        let failures = try await rig.store.incidents().filter { $0.type == "Notification failure" }
        try #require(failures.count == 1, "one failure incident per incident: \(failures.map(\.title))")
        let failure = failures[0]
        #expect(failure.fingerprint == "notification_failure:\(id)")
        // Named after the first found untold: one with a single method (email), well before dave's three.
        #expect(failure.title.hasPrefix("Notification failure: ") && failure.title.hasSuffix(" about \(id)")
            && !failure.title.contains("dave"), "\(failure.title)")
        #expect(failure.severity.code == "P2" && failure.labels["incident"] == id)
        #expect(failure.classification?.userImpacting == false, "kept off the public status page")
        // Everyone else paged, and the incident channel's message, joined it as occurrences.
        let untold = try await rig.store.notifications(incidentID: id).filter { $0.chain == nil }
        #expect(failure.occurrences == untold.count)
        let lines = try await rig.store.timeline(incidentID: failure.id).filter { $0.kind == .notification }.map(\.message)
        #expect(lines.contains { $0.hasPrefix("dave (Dave Okafor) was not told about \(id) (") && $0.hasSuffix(
            "slack @dave (2 attempts: slack: connection refused); sms +1 555 0101 (2 attempts: sms: connection refused); "
                + "email dave@example.org (2 attempts: email: connection refused)") })
        #expect(lines.contains { $0.hasPrefix("The chat message about \(id) was not delivered (") })
        let evidence = try await rig.store.evidence(incidentID: failure.id).filter { $0.kind == "notification-failure" }
        #expect(evidence.count == untold.count)
        // Its own pages failed too: noted, not reported again.
        #expect(lines.contains { $0.hasSuffix("Not reported again: this is a notification-failure incident.") })

        let said = try await rig.store.timeline(incidentID: id).filter { $0.data["failure_incident"] == failure.id }
        #expect(said.contains { $0.message == "Could not tell dave (Dave Okafor): every contact method failed for good — "
            + "slack @dave (2 attempts: slack: connection refused); sms +1 555 0101 (2 attempts: sms: connection refused); "
            + "email dave@example.org (2 attempts: email: connection refused). Reported as \(failure.id) (Notification failure); "
            + "escalation goes on." })

        // Escalation of the original goes on: unacknowledged past its response SLA, it escalates.
        rig.clock.set(monday + minutes(61))
        #expect(await rig.incidents.tick() >= 1)
        let escalated = try #require(try await rig.store.incident(id: id))
        #expect(escalated.escalationLevel == 1)
        #expect(try await rig.store.timeline(incidentID: id).contains { $0.kind == .escalated })
        #expect(try await rig.store.pendingNotifications().contains { $0.incidentID == id && $0.purpose == "escalation" })
    }

    /// The original keeps retrying until its own limit while the next method is tried: a person
    /// reached on the second method before the first gives up is never reported.
    @Test(.timeLimit(.minutes(1))) func aLaterMethodThatWorksMeansNobodyIsReported() async throws {
        let rig = try Self.rig()
        let outbox = await Self.outbox(rig, [ScriptedDelivery(["slack"], failing: true), ScriptedDelivery(["*"], failing: false)],
                                       attempts: 3, fallbackAfter: 1)
        let id = try await Self.declare(rig)
        try await Self.drain(rig, outbox)
        let mine = try await Self.daves(rig, id)
        #expect(mine.map(\.channel) == ["slack", "sms"] && mine.map(\.state) == ["failed", "sent"])
        #expect(try await rig.store.incidents().count == 1)
    }

    /// A method no notifier handles fails for good at its first attempt (it used to wait for
    /// ever; it can never succeed): the person's next method is tried at once, and nothing is
    /// left pending.
    @Test(.timeLimit(.minutes(1))) func aMethodNoNotifierHandlesFallsBack() async throws {
        let rig = try Self.rig()
        let email = ScriptedDelivery(["email", "chat"], failing: false)
        let outbox = await Self.outbox(rig, [email], attempts: 3)
        let id = try await Self.declare(rig)
        try await Self.drain(rig, outbox)
        let mine = try await Self.daves(rig, id)
        #expect(mine.map(\.channel) == ["slack", "sms", "email"])
        #expect(mine.map(\.state) == ["failed", "failed", "sent"])
        #expect(mine[0].lastError == "no notifier handles channel \"slack\"" && mine[0].attempts == 1)
        #expect(try await rig.store.pendingNotifications().isEmpty)
    }

    /// A mirror's update is muted by a silence like a page (and put back when the silence ends).
    @Test(.timeLimit(.minutes(1))) func aMirrorUpdateIsMutedLikeAPage() async throws {
        let rig = try Self.rig(mirror: true)
        let pagerduty = ScriptedDelivery(["pagerduty"], failing: false)
        let outbox = await Self.outbox(rig, [pagerduty, ScriptedDelivery(["*"], failing: false)])
        await outbox.setMuter { _ in Mute(by: "silence 5d1e", isMaintenanceWindow: false) }
        let id = try await Self.declare(rig)
        try await outbox.deliverDue()
        let update = try #require(try await rig.store.notifications(incidentID: id).first { $0.channel == "pagerduty" })
        #expect(update.purpose == "update" && update.state == "silenced" && update.lastError == "silenced by silence 5d1e")
        #expect(pagerduty.count("pagerduty") == 0)

        await outbox.setMuter { _ in nil }
        _ = try await rig.store.write { tx in try tx.requeueSilencedNotifications(incidentID: id, at: rig.clock.now()) }
        try await outbox.deliverDue()
        #expect(pagerduty.count("pagerduty") == 1)
        #expect(try await rig.store.notifications(incidentID: id).first { $0.channel == "pagerduty" }?.state == "sent")
    }

    /// Notifier plugins are told why a notification is sent, beside its recipients and channel.
    @Test func theNotifyPayloadCarriesThePurpose() throws {
        let page = NotificationRecord(id: 7, incidentID: "INC-2026-0001", createdAt: monday, channel: "pagerduty",
                                      recipients: ["default"], subject: "s", body: "b", purpose: "update")
        let (payload, body) = NotifierPluginDelivery.request(for: page, incidentView: .object(["id": .string("INC-2026-0001")]),
                                                             ackLinks: [])
        #expect(payload == .object(["id": .string("INC-2026-0001"), "recipients": .array([.string("default")]),
                                    "channel": .string("pagerduty"), "notification_id": .number(7), "purpose": .string("update")]))
        #expect(body == "b")
        var old = page
        old.purpose = nil
        guard case .object(let members) = NotifierPluginDelivery.request(for: old, incidentView: .object([:]), ackLinks: []).incident
        else { Issue.record("not an object"); return }
        #expect(members["purpose"] == nil, "stored before purposes were: left out")
    }
}

/// A seeded generator (SplitMix64): the same seed draws the same jitter.
struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
