import Testing
import VigilCore
@testable import VigilIncidents

/// Which contact a person is reached on first, which follow should it fail, and which channels
/// mirror every incident (`notifications:` and a roster entry's `contact_order`).
@Suite struct NotificationRoutingTests {
    /// The shipped policy with more contacts: dave (on call on ``monday``) has a pager, Slack
    /// and email; alice orders hers herself.
    static func policy(_ notifications: String = "") throws -> IncidentPolicy {
        try shippedPolicy { text in
            var t = text.replacingOccurrences(
                of: "      contacts: { email: dave@example.org }",
                with: "      contacts: { email: dave@example.org, slack: \"@dave\", pager: \"dave-pager\" }")
            t = t.replacingOccurrences(
                of: "      contacts: { email: alice@example.org }",
                with: "      contacts: { email: alice@example.org, slack: \"@alice\", sms: \"+1 555 0100\" }\n"
                    + "      contact_order: [sms, email]")
            // The shipped section, replaced whole.
            if !notifications.isEmpty, let start = t.range(of: "\nnotifications:\n"),
               let end = t.range(of: "\nincidents:\n", range: start.upperBound..<t.endIndex) {
                t.replaceSubrange(start.lowerBound..<end.lowerBound, with: "\n" + notifications + "\n")
            }
            return t
        }
    }

    static func person(_ id: String, _ policy: IncidentPolicy) throws -> Person {
        try #require(OnCallSchedule(roster: policy.roster).person(id))
    }

    @Test func theBuiltInOrderPagesTheMostImmediateContactAndKeepsTheRestInOrder() throws {
        let policy = try shippedPolicy()
        let composer = NotificationComposer(policy: policy)
        var dave = try Self.person("dave", policy)
        dave.contacts = ["email": "dave@example.org", "slack": "@dave", "pager": "dave-pager", "teams": "dave@teams"]
        #expect(composer.methods(for: dave, purpose: .page).map(\.channel) == ["pager", "slack", "email", "teams"])
        #expect(composer.methods(for: dave, purpose: .resolution).map(\.channel) == ["email", "slack", "pager", "teams"])
        // Only an email: a page with nothing to fall back to, recorded as before.
        let (w, _) = workflow(policy)
        let opened = try declare(w, ClassificationInput(title: "cpu", incidentType: "High CPU utilization"))
        let page = try #require(opened.notifications.first { $0.person == "dave" })
        #expect(page.channel == "email" && page.fallbacks.isEmpty && page.purpose == .page)
        #expect(opened.timeline.contains { $0.message.hasPrefix("Page dave (Dave Okafor) by email dave@example.org:")
            && $0.message.hasSuffix("— delivery pending") })
    }

    @Test func aPersonsOwnOrderComesFirstAndContactsItOmitsComeLast() throws {
        let policy = try Self.policy()
        let composer = NotificationComposer(policy: policy)
        let alice = try Self.person("alice", policy)
        #expect(composer.methods(for: alice, purpose: .page).map(\.channel) == ["sms", "email", "slack"])
        #expect(composer.methods(for: alice, purpose: .stakeholderUpdate).map(\.channel) == ["sms", "email", "slack"])
        #expect(composer.methods(for: try Self.person("dave", policy), purpose: .page).map(\.channel) == ["pager", "slack", "email"])
    }

    @Test func theConfiguredDefaultOrderIsPerPurposeOrGroup() throws {
        let policy = try Self.policy("""
            notifications:
              contact_order:
                paging: [slack, email]
                escalation: [email]
                default: [email, slack, pager]
            """)
        let composer = NotificationComposer(policy: policy)
        let dave = try Self.person("dave", policy)
        #expect(composer.methods(for: dave, purpose: .page).map(\.channel) == ["slack", "email", "pager"])
        #expect(composer.methods(for: dave, purpose: .escalation).map(\.channel) == ["email", "pager", "slack"])
        #expect(composer.methods(for: dave, purpose: .resolution).map(\.channel) == ["email", "slack", "pager"])
        // A person's own order still wins.
        #expect(composer.methods(for: try Self.person("alice", policy), purpose: .page).map(\.channel) == ["sms", "email", "slack"])

        let (w, _) = workflow(policy)
        let opened = try declare(w, ClassificationInput(title: "cpu", incidentType: "High CPU utilization"))
        let page = try #require(opened.notifications.first { $0.person == "dave" })
        #expect(page.channel == "slack" && page.recipients == ["@dave"] && page.people == ["dave"])
        #expect(page.fallbacks == [ContactMethod(channel: "email", address: "dave@example.org"),
                                   ContactMethod(channel: "pager", address: "dave-pager")])
        let line = try #require(opened.timeline.first { $0.data["person"] == "dave" && $0.kind == .notification })
        #expect(line.message.hasSuffix("— delivery pending; if it fails, email then pager"))
        #expect(line.data["fallbacks"] == "email,pager")
    }

    /// Every purpose a person can be sent is configurable by name; the channel message and
    /// mirror updates address nobody.
    @Test func theConfigurablePurposesAreThePersonPurposes() {
        let personal = OutgoingNotification.Purpose.allCases.filter { $0 != .channel && $0 != .update }
        #expect(ContactOrder.purposes == personal.map(\.rawValue))
        for p in personal { #expect(ContactOrder.groups.contains(NotificationComposer.group(p))) }
    }

    static let mirrors = """
        notifications:
          mirrors:
            - { channel: pagerduty, recipient: default, min_severity: P2 }
            - { channel: webhook, recipient: audit }
        """

    static func updates(_ change: IncidentChange) -> [String] {
        change.notifications.filter { $0.purpose == .update }.map { "\($0.channel) \($0.recipients.joined()) \($0.subject.split(separator: "—").last.map { $0.trimmingWhitespace() } ?? "")" }
    }

    @Test func mirrorsFollowOpenAcknowledgeResolveAndReopen() throws {
        let (w, clock) = workflow(try Self.policy(Self.mirrors))
        var timeline: [TimelineEntry] = []
        let opened = try declare(w, ClassificationInput(title: "cpu", incidentType: "High CPU utilization"))
        #expect(opened.incident.severity.code == "P2")
        #expect(Self.updates(opened) == ["pagerduty default opened", "webhook audit opened"])
        let pd = try #require(opened.notifications.first { $0.channel == "pagerduty" })
        #expect(pd.people.isEmpty && pd.person == nil && pd.fallbacks.isEmpty)
        #expect(opened.timeline.contains { $0.data["mirror"] == "pagerduty" && $0.data["event"] == "opened"
            && $0.message == "Update to pagerduty default: opened — delivery pending" })
        var incident = apply(opened, to: &timeline)

        clock.advance(by: minutes(3))
        let acked = try w.acknowledge(incident, actor: "dave", timeline: timeline)
        #expect(Self.updates(acked) == ["pagerduty default acknowledged", "webhook audit acknowledged"])
        incident = apply(acked, to: &timeline)
        incident.state = .validating
        let resolved = try w.resolve(incident, timeline: timeline,
                                     request: ResolutionRequest(verification: "cpu at 20%", summary: "killed the job"), actor: "dave")
        #expect(Self.updates(resolved) == ["pagerduty default resolved", "webhook audit resolved"])
        incident = apply(resolved, to: &timeline)
        let reopened = try w.reopen(incident, timeline: timeline, reason: "back again", actor: "dave")
        #expect(Self.updates(reopened) == ["pagerduty default reopened", "webhook audit reopened"])
    }

    @Test func aDismissedIncidentIsResolvedOnItsMirrors() throws {
        let (w, _) = workflow(try Self.policy(Self.mirrors))
        var timeline: [TimelineEntry] = []
        let incident = apply(try declare(w, ClassificationInput(title: "cpu", incidentType: "High CPU utilization")), to: &timeline)
        let dismissed = try w.dismiss(incident, timeline: timeline, reason: "load test", actor: "dave")
        #expect(Self.updates(dismissed) == ["pagerduty default resolved", "webhook audit resolved"])
    }

    /// `min_severity` keeps a mirror to serious incidents; one that was told about an incident
    /// hears the rest of it even after a downgrade, so nothing is left open there.
    @Test func aMirrorTakesItsSeveritiesAndFinishesWhatItStarted() throws {
        let (w, _) = workflow(try Self.policy(Self.mirrors))
        let minor = try declare(w, ClassificationInput(title: "slow", incidentType: "Performance degradation"))
        #expect(minor.incident.severity.code == "P3")
        #expect(Self.updates(minor) == ["webhook audit opened"])

        var timeline: [TimelineEntry] = []
        var incident = apply(try declare(w, ClassificationInput(title: "cpu", incidentType: "High CPU utilization")), to: &timeline)
        incident = apply(try w.reclassify(incident, severity: "P3", reason: "only one host", actor: "dave"), to: &timeline)
        #expect(incident.severity.code == "P3")
        let acked = try w.acknowledge(incident, actor: "dave", timeline: timeline)
        #expect(Self.updates(acked) == ["pagerduty default acknowledged", "webhook audit acknowledged"])
        // Without the history (nothing says it was told), P3 is below the mirror's severity.
        #expect(Self.updates(try w.acknowledge(incident, actor: "dave")) == ["webhook audit acknowledged"])
    }

    /// Rule signals that reopen a resolved incident (flapping) are mirrored too.
    @Test func aFlappingReopenIsMirrored() throws {
        let (w, clock) = workflow(try Self.policy(Self.mirrors))
        let s = signal(at: monday, incidentType: "High CPU utilization")
        guard case .open(let opening, _) = w.plan([s], open: nil, latest: nil) else { Issue.record("not opened"); return }
        var timeline: [TimelineEntry] = []
        var incident = apply(opening.change(id: "INC-2026-0001"), to: &timeline)
        incident.state = .validating
        incident = apply(try w.resolve(incident, timeline: timeline,
                                       request: ResolutionRequest(verification: "v", summary: "s"), actor: "dave"), to: &timeline)
        clock.advance(by: minutes(10))
        guard case .update(let change) = w.plan([signal(at: clock.now(), incidentType: "High CPU utilization")],
                                                open: nil, latest: incident, history: timeline) else {
            Issue.record("not reopened"); return
        }
        #expect(change.incident.state == .investigating)
        #expect(Self.updates(change) == ["pagerduty default reopened", "webhook audit reopened"])
    }
}
