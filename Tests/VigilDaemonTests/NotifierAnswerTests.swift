import Foundation
import Testing
import VigilCore
@testable import VigilDaemon
import VigilIncidents
@testable import VigilStore

/// A delivery that throws what it is given, once per attempt, then succeeds.
final class AnsweringDelivery: NotificationDelivery, @unchecked Sendable {
    let lock = NSLock()
    let channels: Set<String>
    let name: String
    var answers: [any Error]
    var calls = 0

    init(_ channels: Set<String>, answers: [any Error], name: String = "answering") {
        self.channels = channels
        self.answers = answers
        self.name = name
    }

    func deliver(_ notification: NotificationRecord, incident: Incident?) async throws {
        let next = lock.withLock { () -> (any Error)? in
            calls += 1
            return answers.isEmpty ? nil : answers.removeFirst()
        }
        if let next { throw next }
    }
}

/// How the outbox reads a notifier's answers: still starting (wait, not an attempt, for a
/// while), refused for good (no retry), and a half-open breaker (look again soon).
@Suite struct NotifierAnswerTests {
    func page(_ rig: ContainmentTests.Rig) async throws -> (incident: String, outbox: NotificationOutbox) {
        let id = try await rig.incidents.declare(ClassificationInput(title: "cpu", incidentType: "High CPU utilization"),
                                                 actor: "dave").id
        return (id, NotificationOutbox(store: rig.store, clock: rig.clock, logger: quietLogger))
    }

    @Test(.timeLimit(.minutes(1))) func aStartingNotifierIsWaitedForWithoutCountingUntilTheGraceRunsOut() async throws {
        let rig = try ContainmentTests.rig()
        let (id, outbox) = try await page(rig)
        let delivery = AnsweringDelivery(["*"], answers: Array(repeating: NotifierStarting("plugin email is starting"), count: 200))
        await outbox.register(delivery)
        try await outbox.deliverDue()
        var pages = try await rig.store.notifications(incidentID: id)
        #expect(!pages.isEmpty && pages.allSatisfy { $0.state == "pending" && $0.attempts == 0 }, "\(pages.map(\.attempts))")
        #expect(pages.allSatisfy { $0.nextAttemptAt == (monday + NotificationOutbox.startingRecheck).nanoseconds })
        // Past the grace, a notifier that never came up counts like any failure.
        rig.clock.set(monday + NotificationOutbox.startingGrace + .seconds(1))
        try await outbox.deliverDue()
        pages = try await rig.store.notifications(incidentID: id)
        #expect(pages.contains { $0.attempts == 1 }, "\(pages.map(\.attempts))")
    }

    @Test(.timeLimit(.minutes(1))) func aPermanentRefusalIsNotRetried() async throws {
        let rig = try ContainmentTests.rig()
        let (id, outbox) = try await page(rig)
        let delivery = AnsweringDelivery(["*"], answers: Array(repeating: PermanentDeliveryFailure("email: permanent failure: 550 no such user"),
                                                                 count: 200))
        await outbox.register(delivery)
        try await outbox.deliverDue()
        let pages = try await rig.store.notifications(incidentID: id)
        let first = try #require(pages.first { $0.attempts == 1 })
        #expect(first.state == "failed" && first.nextAttemptAt == nil, "\(first)")
        let timeline = try await rig.store.timeline(incidentID: id).map(\.message)
        #expect(timeline.contains { $0.contains("(refused for good)") && $0.contains("550 no such user") }, "\(timeline)")
    }

    @Test(.timeLimit(.minutes(1))) func aHalfOpenBreakerLooksAgainSoonNotAfterAWholeOpenPeriod() async throws {
        let rig = try ContainmentTests.rig()
        let id = try await rig.incidents.declare(ClassificationInput(title: "cpu", incidentType: "High CPU utilization"),
                                                 actor: "dave").id
        let breakers = CircuitBreakers()
        breakers.configure(threshold: 1, openFor: .seconds(60))
        let outbox = NotificationOutbox(store: rig.store, clock: rig.clock, logger: quietLogger, breakers: breakers)
        await outbox.register(AnsweringDelivery(["*"], answers: []))
        // Half-open with its trial in flight (another page's): this pass's pages wait one recheck.
        breakers.failed("answering", now: monday - .seconds(61), reason: "down")
        #expect(breakers.allow("answering", now: monday))
        try await outbox.deliverDue()
        let pages = try await rig.store.notifications(incidentID: id)
        #expect(!pages.isEmpty && pages.allSatisfy { $0.nextAttemptAt == (monday + NotificationOutbox.halfOpenRecheck).nanoseconds },
                "\(pages.map { ($0.nextAttemptAt ?? 0) - monday.nanoseconds })")
    }
}
