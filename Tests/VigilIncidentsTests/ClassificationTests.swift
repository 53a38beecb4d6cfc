import Testing
import VigilCore
import VigilIncidents

@Suite struct ClassificationTests {
    @Test func mostSevereFactorDecidesAndTheRationaleSaysWhy() throws {
        let outcome = try SeverityClassifier(policy: try shippedPolicy()).classify(ClassificationInput(
            title: "Checkout slow", impact: .minor, userScope: .group, serviceImpact: .degraded))
        #expect(outcome.severity.code == "P2")
        let r = outcome.classification.rationale
        #expect(r.contains("Impact on users \"minor\" → P3 (Medium)."))
        #expect(r.contains("User scope \"group\" → P2 (High)."))
        #expect(r.contains("Service impact \"degraded\" → P3 (Medium)."))
        #expect(r.contains { $0.hasPrefix("Severity P2 (High): the most severe factor decides") })
        #expect(r.contains("Response SLA 1 hour (p1-p4 ladder): acknowledge within 1 hour of opening."))
        #expect(outcome.classification.userImpacting == true)
    }

    @Test func aPersonsSeverityIsKeptAndDisagreementNoted() throws {
        let outcome = try SeverityClassifier(policy: try shippedPolicy()).classify(ClassificationInput(
            title: "x", severity: "P3", severitySource: "alice's declaration", userScope: .all))
        #expect(outcome.severity.code == "P3")
        #expect(outcome.classification.rationale.contains { $0.contains("fixed by alice's declaration") })
        #expect(outcome.classification.rationale.contains { $0.hasPrefix("Note: the factors above suggest P1 (Critical)") })
    }

    @Test func securityImplicationsAreCriticalAndBringTheSecurityEngineer() throws {
        let (w, _) = workflow(try shippedPolicy(ladder: "p0-p3"))
        let change = try declare(w, ClassificationInput(title: "Plugin escaped its sandbox", components: ["plugin system"],
                                                        security: true))
        #expect(change.incident.severity.code == "P0")
        #expect(change.incident.roles["security_engineer"] == "carol")
        #expect(change.incident.classification?.security == true)
        // A security investigation is not published on the public status page by itself.
        #expect(change.incident.classification?.userImpacting == false)
        #expect(!change.statusPageChanged)
        #expect(change.notifications.contains { $0.people == ["carol"] && $0.purpose == .page })
    }

    @Test func unknownSeverityAndTypeAreRefusedForPeopleAndNotedForRules() throws {
        let classifier = SeverityClassifier(policy: try shippedPolicy())
        #expect(throws: WorkflowError.unknownSeverity(found: "P9", ladder: "p1-p4",
                                                      known: ["P1 (Critical)", "P2 (High)", "P3 (Medium)", "P4 (Low)"])) {
            try classifier.classify(ClassificationInput(title: "x", severity: "P9", strict: true))
        }
        #expect(throws: WorkflowError.self) {
            try classifier.classify(ClassificationInput(title: "x", incidentType: "Gremlins", strict: true))
        }
        let lenient = try classifier.classify(ClassificationInput(title: "x", severity: "P9", incidentType: "Gremlins"))
        #expect(lenient.severity.code == "P3")
        #expect(lenient.classification.rationale.contains("Incident type \"Gremlins\" is not in the incident-type table; ignored."))
        #expect(lenient.classification.rationale.contains { $0.contains("No impact, scope, type or flag is known") })
    }

    @Test func ruleSignalsCarryTheirFacts() throws {
        var s = signal(at: monday, labels: ["host": "web-1", "component": "eventbus, plugin system", "user_scope": "group"])
        s.section = "security_events"
        let input = ClassificationInput(signal: s)
        #expect(input.components == ["eventbus", "plugin system"])
        #expect(input.userScope == .group)
        #expect(input.security)
        #expect(input.summary == "Rule cpu_high fired: cpu_usage > 90% for 5 minutes; value 95%.")
    }

    @Test(arguments: ["Complete Outage", "complete-outage", "complete_outage", "COMPLETE OUTAGE"])
    func serviceImpactSpellings(text: String) { #expect(ServiceImpact(text: text) == .completeOutage) }

    @Test func reclassifyMovesTheDeadlineFromTheOpeningTime() throws {
        let (w, clock) = workflow(try shippedPolicy())
        let opened = try declare(w, ClassificationInput(title: "x", severity: "P3"))
        clock.advance(by: minutes(10))
        let change = try w.reclassify(opened.incident, severity: "Critical", reason: "it is spreading", actor: "bob")
        #expect(change.incident.severity.code == "P1")
        #expect(change.incident.responseDeadline == monday + minutes(15))
        #expect(change.incident.classification?.rationale.last == "Reclassified P3 (Medium) → P1 (Critical) by bob: it is spreading.")
        #expect(throws: WorkflowError.self) {
            try w.reclassify(change.incident, severity: "P1", reason: "again", actor: "bob")
        }
    }
}
