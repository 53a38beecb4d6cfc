import Testing
import VigilCore
import VigilIncidents

/// Every row of both seeds' severity tables, reproduced by classification on both ladders.
@Suite struct SeedSeverityTableTests {
    /// Seed 000 "Incident Classification": impact, user scope and service impact → severity and SLA,
    /// with the SLA both ladders give that severity name.
    struct Row000: Sendable, CustomTestStringConvertible {
        var severity: String
        var impact: UserImpact
        var userScope: String
        var serviceImpact: String
        var p1p4: (code: String, sla: String)
        var p0p3: (code: String, sla: String)
        var testDescription: String { severity }
    }

    static let seed000: [Row000] = [
        Row000(severity: "P1 - Critical", impact: .critical, userScope: "All users", serviceImpact: "Complete Outage",
               p1p4: ("P1", "15 minutes"), p0p3: ("P0", "15 minutes")),
        Row000(severity: "P2 - High", impact: .major, userScope: "Group of users", serviceImpact: "Partial Outage",
               p1p4: ("P2", "1 hour"), p0p3: ("P1", "30 minutes")),
        Row000(severity: "P3 - Medium", impact: .minor, userScope: "Individual users", serviceImpact: "Degraded",
               p1p4: ("P3", "4 hours"), p0p3: ("P2", "2 hours")),
        Row000(severity: "P4 - Low", impact: .none, userScope: "None", serviceImpact: "None",
               p1p4: ("P4", "Scheduled"), p0p3: ("P3", "24 hours")),
    ]

    @Test(arguments: seed000)
    func seed000RowClassifiesOnBothLadders(row: Row000) throws {
        for (ladder, expected) in [("p1-p4", row.p1p4), ("p0-p3", row.p0p3)] {
            let classifier = SeverityClassifier(policy: try shippedPolicy(ladder: ladder))
            let scope = try #require(UserScope(text: row.userScope))
            let service = try #require(ServiceImpact(text: row.serviceImpact))
            // The whole row, then each column on its own, decide the same severity.
            let inputs = [
                ClassificationInput(title: "t", impact: row.impact, userScope: scope, serviceImpact: service),
                ClassificationInput(title: "t", impact: row.impact),
                ClassificationInput(title: "t", userScope: scope),
                ClassificationInput(title: "t", serviceImpact: service),
            ]
            for input in inputs {
                let outcome = try classifier.classify(input)
                #expect(outcome.severity.code == expected.code, "\(ladder) \(input)")
                #expect(outcome.level.responseTime == DurationText.parse(expected.sla), "\(ladder) SLA")
                #expect((outcome.level.responseTime == nil) == (expected.sla == "Scheduled"))
            }
        }
    }

    @Test func seed000LadderColumnsMatchTheTable() throws {
        let ladder = try shippedPolicy().ladder
        #expect(ladder.levels.map(\.code) == ["P1", "P2", "P3", "P4"])
        for (row, level) in zip(Self.seed000, ladder.levels) {
            #expect("\(level.code) - \(level.name)" == row.severity)
            #expect(level.userScope == row.userScope)
            #expect(level.serviceImpact == row.serviceImpact)
            #expect(UserScope(text: level.userScope ?? "")?.severityName == level.name)
            #expect(ServiceImpact(text: level.serviceImpact ?? "")?.severityName == level.name)
        }
    }

    /// Seed 004 "Incident Severity Classification": severity, description, response time, team mobilisation.
    struct Row004: Sendable, CustomTestStringConvertible {
        var code: String
        var responseTime: String
        var mobilisation: TeamMobilisation
        /// Inputs the row's description stands for; each alone must land on the row.
        var describedBy: [ClassificationInput]
        /// Roles the initial team holds.
        var roles: Set<String>
        var testDescription: String { code }
    }

    static let seed004: [Row004] = [
        Row004(code: "P0", responseTime: "15 minutes", mobilisation: .full, describedBy: [
            ClassificationInput(title: "Complete system outage", serviceImpact: .completeOutage),
            ClassificationInput(title: "Data breach", dataIntegrity: true),
            ClassificationInput(title: "Security compromise", security: true),
        ], roles: ["incident_commander", "technical_lead", "communications_lead", "operations_engineer"]),
        Row004(code: "P1", responseTime: "30 minutes", mobilisation: .coreWithSpecialists, describedBy: [
            ClassificationInput(title: "Significant functionality impaired", impact: .major),
            ClassificationInput(title: "Partial outage", serviceImpact: .partialOutage),
        ], roles: ["incident_commander", "technical_lead", "communications_lead"]),
        Row004(code: "P2", responseTime: "2 hours", mobilisation: .primaryOnCall, describedBy: [
            ClassificationInput(title: "Minor functionality affected", impact: .minor),
        ], roles: ["incident_commander", "technical_lead"]),
        Row004(code: "P3", responseTime: "24 hours", mobilisation: .scheduled, describedBy: [
            ClassificationInput(title: "Cosmetic issues, no user impact", impact: UserImpact.none, userScope: UserScope.none),
        ], roles: ["incident_commander"]),
    ]

    @Test(arguments: seed004)
    func seed004RowClassifiesAndMobilises(row: Row004) throws {
        let policy = try shippedPolicy(ladder: "p0-p3")
        let level = try #require(policy.ladder.level(named: row.code))
        #expect(level.responseTime == DurationText.parse(row.responseTime))
        #expect(TeamMobilisation(level: level, rank: policy.ladder.levels.firstIndex(of: level) ?? -1) == row.mobilisation)
        let (w, _) = workflow(policy)
        for input in row.describedBy {
            let change = try declare(w, input)
            #expect(change.incident.severity.code == row.code, "\(input.title)")
            #expect(change.incident.responseDeadline == monday + (DurationText.parse(row.responseTime) ?? .zero))
            #expect(change.incident.classification?.mobilisation == row.mobilisation.description)
            let roles = Set(change.incident.roles.keys).subtracting(["security_engineer"])
            #expect(roles == row.roles, "\(input.title)")
            if row.mobilisation == .scheduled {
                #expect(change.notifications.allSatisfy { $0.purpose == .backlog })
                #expect(change.incident.state == .classified)
                #expect(change.incident.backlog)
            } else {
                #expect(change.notifications.contains { $0.purpose == .page })
                #expect(change.incident.state == .mobilised)
            }
        }
    }

    /// Seed 000's incident-type table: every row, on both ladders (names decide across ladders).
    @Test(arguments: [
        ("WebSocket server outage", "P1", "P0"), ("Authentication failure", "P1", "P0"),
        ("API quota exhaustion", "P1", "P0"), ("Data corruption", "P1", "P0"),
        ("High CPU utilization", "P2", "P1"), ("Elevated error rates", "P2", "P1"),
        ("Performance degradation", "P3", "P2"), ("Minor UI issues", "P4", "P3"),
    ])
    func incidentTypeRow(type: String, p1p4: String, p0p3: String) throws {
        for (ladder, code) in [("p1-p4", p1p4), ("p0-p3", p0p3)] {
            let outcome = try SeverityClassifier(policy: try shippedPolicy(ladder: ladder))
                .classify(ClassificationInput(title: type, incidentType: type, strict: true))
            #expect(outcome.severity.code == code, "\(ladder)")
            #expect(outcome.classification.rationale.contains { $0.contains("Incident type \"\(type)\" is \(code)") })
        }
    }
}
