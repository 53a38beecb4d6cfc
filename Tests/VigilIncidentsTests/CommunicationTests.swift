import Foundation
import Testing
import VigilCore
import VigilIncidents

@Suite struct CommunicationTemplateTests {
    @Test func shippedFilesParseAndAreTheBuiltInCopies() throws {
        var texts: [String: String] = [:]
        for name in CommunicationTemplates.names {
            texts[name] = try String(contentsOfFile: repositoryRoot + "/Config/templates/\(name).mustache", encoding: .utf8)
        }
        let fromFiles = try CommunicationTemplates(texts: texts)
        #expect(fromFiles.supplied == CommunicationTemplates.names)
        let context: [String: Any] = ["id": "INC-1", "summary": "s", "status": "Investigating", "impact": "i",
                                      "discovered": "d", "contained": "c", "eta": "e", "next_update": "n",
                                      "actions": ["a", "b"], "customer_impact": "ci"]
        for name in CommunicationTemplates.names {
            #expect(fromFiles.render(name, context) == CommunicationTemplates.builtIn.render(name, context))
        }
    }

    @Test func incidentCommunicationRendersTheSeedTemplate() throws {
        let (w, clock) = workflow(try shippedPolicy())
        var timeline: [TimelineEntry] = []
        var incident = apply(try declare(w, ClassificationInput(
            title: "Checkout returns 502", summary: "Payments fail for everyone", severity: "P1", userScope: .all,
            serviceImpact: .completeOutage)), to: &timeline)
        clock.advance(by: minutes(10))
        incident = apply(try w.transition(incident, timeline: timeline, to: .containing, reason: "isolating", actor: "dave"),
                         to: &timeline)
        clock.advance(by: minutes(5))
        incident = apply(try w.transition(incident, timeline: timeline, to: .contained, reason: "traffic drained", actor: "dave"),
                         to: &timeline)
        let text = w.renderIncidentCommunication(incident, timeline: timeline, message: "Failover done", eta: "1 hour")
        #expect(text == """
            # Incident Communication — INC-2026-0001

            **Incident Summary**: Failover done
            **Status**: Contained
            **Impact**: All users affected; complete outage
            **Timeline**: discovered 2026-03-02T10:00:00.000Z; contained 2026-03-02T10:15:00.000Z; ETA for resolution: 1 hour
            **Next Update**: 2026-03-02T10:30:00.000Z

            **Actions Taken**:
            - Containment: isolating
            - Contained: traffic drained
            - Team mobilised: Communications Lead Bob Chen, Incident Commander Dave Okafor, Operations Engineer Dave Okafor, Technical Lead Dave Okafor.

            **Customer Impact**: All users affected; complete outage

            """)
    }

    @Test func serviceRestorationRendersTheSeedAnnouncement() throws {
        let (w, clock) = workflow(try shippedPolicy())
        var incident = try declare(w, ClassificationInput(title: "API down", severity: "P1")).incident
        incident.state = .validating
        clock.advance(by: .seconds(4500))
        let change = try w.resolve(incident, timeline: [], request: ResolutionRequest(
            verification: "error rate 0 for 30 minutes", summary: "Rolled back release 4.2", rootCause: "A bad config push",
            actions: ["Added a config canary"], followUps: ["Alert on config drift"]), actor: "dave")
        let text = w.renderServiceRestoration(change.incident, timeline: change.timeline)
        #expect(text == """
            # Service Restoration Announcement — INC-2026-0001

            **Incident Resolution Update**

            **Status**: RESOLVED
            **Resolution Time**: 1h15m
            **Root Cause**: A bad config push
            **Resolution**: Rolled back release 4.2

            **What We Did**:
            - Rolled back release 4.2
            - Added a config canary
            - Planned: Alert on config drift

            **Service Status**: All services fully restored and operating normally
            **Next Steps**: Detailed post-incident review and improvement implementation (post-mortem due 2026-03-04T11:15:00.000Z)

            """)
        // Every role holder gets it (dave holds two roles: notified once).
        let sent = change.notifications.filter { $0.purpose == .resolution }
        #expect(Set(sent.flatMap(\.people)) == ["dave", "bob"] && sent.count == 2)
        #expect(sent.allSatisfy { $0.body == text && $0.channel == "email" })
    }

    @Test func aBrokenTemplateIsReportedWithItsPosition() {
        #expect(throws: TemplateError.self) {
            try CommunicationTemplates(texts: [CommunicationTemplates.incidentCommunication: "line one\n{{#actions}}\n- x\n"],
                                       origin: [CommunicationTemplates.incidentCommunication: "templates/incident-communication.mustache"])
        }
        do {
            _ = try CommunicationTemplates(texts: [CommunicationTemplates.serviceRestoration: "ok\n{{#a}}{{/b}}"])
        } catch {
            #expect(error.template == "service-restoration")
            #expect(error.line == 2)
            #expect(error.reason == "a section is closed with a different name than it was opened with")
        }
    }

    @Test func statusUpdateReminderFollowsTheCadence() throws {
        let (w, clock) = workflow(try shippedPolicy())
        var timeline: [TimelineEntry] = []
        var incident = apply(try declare(w, ClassificationInput(title: "x", severity: "P1")), to: &timeline)
        #expect(incident.nextStatusUpdateAt == monday + minutes(30))
        incident = apply(try w.acknowledge(incident, actor: "dave"), to: &timeline)
        clock.set(monday + minutes(29))
        #expect(w.tick(incident, timeline: timeline) == nil)
        clock.set(monday + minutes(30))
        let reminder = try #require(w.tick(incident, timeline: timeline))
        #expect(reminder.notifications.map(\.people) == [["bob"]])
        #expect(reminder.notifications.first?.body.contains("# Incident Communication — INC-2026-0001") == true)
        incident = apply(reminder, to: &timeline)
        #expect(incident.nextStatusUpdateAt == monday + minutes(60))
        // Publishing an update restarts the cadence from now.
        clock.set(monday + minutes(50))
        let update = try w.comment(incident, timeline: timeline, text: "Rolling back", actor: "bob", statusUpdate: true)
        #expect(update.incident.nextStatusUpdateAt == monday + minutes(80))
        #expect(update.notifications.allSatisfy { $0.purpose == .stakeholderUpdate })
        // Two hours of downtime collapse into one reminder.
        clock.set(monday + minutes(205))
        let late = try #require(w.tick(update.incident, timeline: timeline))
        #expect(late.timeline.filter { $0.data["reminder"] == "true" }.count == 1)
        #expect(late.incident.nextStatusUpdateAt == monday + minutes(230))
    }

    @Test func statusPageShowsUserImpactingIncidents() throws {
        let (w, clock) = workflow(try shippedPolicy())
        let a = try declare(w, ClassificationInput(title: "Checkout down", serviceImpact: .completeOutage))
        let b = try declare(w, ClassificationInput(title: "Search slow", serviceImpact: .degraded), id: "INC-2026-0002")
        let c = try declare(w, ClassificationInput(title: "Internal cron late", impact: UserImpact.none, userScope: UserScope.none),
                            id: "INC-2026-0003")
        #expect(a.statusPageChanged && b.statusPageChanged && !c.statusPageChanged)
        clock.advance(by: minutes(1))
        let page = StatusPageDocument.build([(a.incident, a.timeline), (b.incident, b.timeline), (c.incident, c.timeline)],
                                            now: clock.now())
        #expect(page.overall == "major_outage")
        #expect(page.incidents.map(\.id).sorted() == ["INC-2026-0001", "INC-2026-0002"])
        #expect(page.incidents.first { $0.id == "INC-2026-0002" }?.impact == "degraded_performance")
        #expect(page.incidents.allSatisfy { $0.updates.first?.status == "Investigating" })
    }
}
