import VigilCore

/// The result of classifying: severity, SLA, team size and the written reasons.
public struct ClassificationOutcome: Sendable, Equatable {
    public var severity: Severity
    public var level: SeverityLevel
    public var incidentType: IncidentTypeDefinition?
    public var components: [String]
    public var security: Bool
    public var dataIntegrity: Bool
    public var containmentCategory: String?
    public var runbook: String?
    public var mobilisation: TeamMobilisation
    /// What is stored on the incident (rationale, factors, flags); the team is added at initiation.
    public var classification: Classification
}

/// Decides severity from impact, user scope, service impact, the incident-type table and the
/// security / data-integrity flags (seed 000 `classify_incident`, seed 004 "Severity
/// Classification"), on whichever ladder is active.
///
/// Each factor proposes a severity *name* from seed 000's table (critical impact, all users and
/// complete outage are Critical, …); security implications and data-integrity concerns are
/// Critical (seed 004: "data breach, security compromise"). The most severe proposal wins,
/// unless a person or the rule fixed the severity, which is then kept and the factors are noted.
public struct SeverityClassifier: Sendable {
    public let policy: IncidentPolicy

    public init(policy: IncidentPolicy) { self.policy = policy }

    private struct Factor {
        var level: SeverityLevel
        var rank: Int
        var name: String
        var sentence: String
    }

    public func classify(_ input: ClassificationInput) throws(WorkflowError) -> ClassificationOutcome {
        let ladder = policy.ladder
        guard !ladder.levels.isEmpty else {
            throw .invalidArgument(field: "severity", reason: "the \(ladder.name) ladder has no levels")
        }
        var rationale: [String] = []
        var type: IncidentTypeDefinition?
        if let name = input.incidentType {
            type = policy.incidentType(named: name)
            if type == nil {
                if input.strict {
                    throw .unknownIncidentType(found: name, known: policy.incidentTypes.map(\.name))
                }
                rationale.append("Incident type \"\(name)\" is not in the incident-type table; ignored.")
            }
        }
        var components: [String] = []
        for c in input.components + (type?.components ?? []) where !components.contains(c) { components.append(c) }
        let containment = input.containmentCategory ?? type?.containment
        let security = input.security || (type?.security ?? false) || containment == "security_breach"
        let dataIntegrity = input.dataIntegrity || (type?.dataIntegrity ?? false) || containment == "data_corruption"

        var factors: [Factor] = []
        func propose(_ name: String, because sentence: String) {
            let (level, rank) = self.level(named: name, on: ladder)
            factors.append(Factor(level: level, rank: rank, name: name,
                                  sentence: "\(sentence) → \(level.code) (\(level.name))."))
        }
        if let i = input.impact { propose(i.severityName, because: "Impact on users \"\(i.rawValue)\"") }
        if let s = input.userScope { propose(s.severityName, because: "User scope \"\(s.rawValue)\"") }
        if let s = input.serviceImpact { propose(s.severityName, because: "Service impact \"\(s.rawValue)\"") }
        if let type, let level = ladder.level(named: type.severity), let rank = ladder.levels.firstIndex(of: level) {
            factors.append(Factor(level: level, rank: rank, name: level.name,
                                  sentence: "Incident type \"\(type.name)\" is \(level.code) (\(level.name)) in the incident-type table."))
        }
        if security {
            propose("Critical", because: "Security implications (a security compromise is Critical in seed 004)")
        }
        if dataIntegrity {
            propose("Critical", because: "Data-integrity concern (data loss or corruption is Critical)")
        }
        rationale += factors.map(\.sentence)

        var decided: (level: SeverityLevel, rank: Int)
        if let text = input.severity, let level = ladder.level(named: text),
           let rank = ladder.levels.firstIndex(of: level) {
            decided = (level, rank)
            let who = input.severitySource ?? "the source"
            rationale.append("Severity \(level.code) (\(level.name)) fixed by \(who)"
                + (text.lowercased() == level.code.lowercased() ? "" : " as \"\(text)\"") + ": \(level.description).")
            if let worst = factors.min(by: { $0.rank < $1.rank }), worst.rank < rank {
                rationale.append("Note: the factors above suggest \(worst.level.code) (\(worst.level.name)); "
                    + "reclassify if that is right.")
            }
        } else {
            if let text = input.severity {
                if input.strict {
                    throw .unknownSeverity(found: text, ladder: ladder.name,
                                           known: ladder.levels.map { "\($0.code) (\($0.name))" })
                }
                rationale.append("Severity \"\(text)\" from \(input.severitySource ?? "the source") is not on the "
                    + "\(ladder.name) ladder; ignored.")
            }
            if let worst = factors.min(by: { $0.rank < $1.rank }) {
                decided = (worst.level, worst.rank)
                rationale.append("Severity \(worst.level.code) (\(worst.level.name)): the most severe factor decides; "
                    + "\(worst.level.description).")
            } else {
                decided = level(named: "Medium", on: ladder)
                rationale.append("No impact, scope, type or flag is known: \(decided.level.code) "
                    + "(\(decided.level.name)) until someone reclassifies.")
            }
        }
        let severity = Severity(code: decided.level.code, rank: decided.rank)
        let mobilisation = TeamMobilisation(level: decided.level, rank: decided.rank)
        if let response = decided.level.responseTime {
            rationale.append("Response SLA \(DurationText.format(response)) (\(ladder.name) ladder): "
                + "acknowledge within \(DurationText.format(response)) of opening.")
        } else {
            rationale.append("Response SLA \"scheduled\" (\(ladder.name) ladder): no acknowledgement clock.")
        }
        rationale.append("Team mobilisation: \(mobilisation.description)"
            + (security ? "; the security engineer joins (security implications)." : "."))

        let userImpacting: Bool
        if input.impact != nil || input.userScope != nil || input.serviceImpact != nil {
            userImpacting = [input.impact.map { $0 != .none }, input.userScope.map { $0 != .none },
                             input.serviceImpact.map { $0 != .none }].contains(true)
        } else if security && type == nil {
            // A security investigation reaches the public page when a person says users are affected.
            userImpacting = false
        } else {
            userImpacting = decided.rank < ladder.levels.count - 1
        }
        let classification = Classification(
            impact: input.impact?.rawValue, userScope: input.userScope?.rawValue,
            serviceImpact: input.serviceImpact?.rawValue, affectedComponents: components, initialTeam: [],
            rationale: rationale, security: security, dataIntegrity: dataIntegrity, userImpacting: userImpacting,
            mobilisation: mobilisation.description)
        return ClassificationOutcome(severity: severity, level: decided.level, incidentType: type,
                                     components: components, security: security, dataIntegrity: dataIntegrity,
                                     containmentCategory: containment, runbook: input.runbook ?? type?.runbook,
                                     mobilisation: mobilisation, classification: classification)
    }

    /// The level a seed severity name stands for on `ladder`; a ladder without that name gets the
    /// level at the name's position (Critical first), clamped to the ladder's length.
    func level(named name: String, on ladder: SeverityLadder) -> (level: SeverityLevel, rank: Int) {
        if let l = ladder.level(named: name), let rank = ladder.levels.firstIndex(of: l) { return (l, rank) }
        let rank = min(ImpactText.names.firstIndex(of: name) ?? 2, ladder.levels.count - 1)
        return (ladder.levels[rank], rank)
    }
}
