import VigilCore

/// Everything needed to open an incident except its id, which the store allocates inside the
/// same transaction that writes it (`PREFIX-YYYY-NNNN`, counted per year).
public struct IncidentOpening: Sendable {
    /// The year the id is counted in (UTC year of the opening time).
    public var year: Int
    public var idPrefix: String
    public var outcome: ClassificationOutcome
    let workflow: IncidentWorkflow
    let request: OpenRequest
    let openedAt: Timestamp

    /// What is opening the incident and with which facts.
    struct OpenRequest: Sendable {
        var input: ClassificationInput
        var source: String
        var detectedAt: Timestamp
        var fingerprint: String?
        var labels: [String: String]
        var responder: String
        var actor: String
        /// The first timeline entry (`declared` by a person or `detected` by a rule) and its message.
        var firstKind: TimelineKind
        var firstMessage: String
        var evidence: EvidenceNote?
    }

    /// The opening change for the incident `id` (seed 000 `initiate_incident_response`).
    public func change(id: String) -> IncidentChange {
        workflow.initiate(self, id: id)
    }
}

extension IncidentWorkflow {
    /// Classifies a person's declaration and prepares to open it. `responder` is the
    /// escalation-path row (`team_lead` when a team lead declares and handles it).
    public func declare(_ input: ClassificationInput, actor: String, responder: String? = nil,
                        fingerprint: String? = nil, labels: [String: String] = [:]) throws(WorkflowError) -> IncidentOpening {
        var input = input
        input.title = input.title.trimmingWhitespace()
        guard !input.title.isEmpty else { throw .invalidArgument(field: "title", reason: "the title must not be empty") }
        input.strict = true
        if input.severity != nil, input.severitySource == nil { input.severitySource = "\(actor)'s declaration" }
        let responder = try resolveResponder(responder)
        let now = clock.now()
        return try prepare(IncidentOpening.OpenRequest(
            input: input, source: "user-report", detectedAt: now, fingerprint: fingerprint,
            labels: labels.merging(["declared_by": actor]) { a, _ in a }, responder: responder, actor: actor,
            firstKind: .declared, firstMessage: "Incident declared by \(actor): \(input.title)", evidence: nil), at: now)
    }

    /// Prepares to open an incident for a firing rule signal.
    public func opening(for signal: RuleSignal) -> IncidentOpening? {
        let input = ClassificationInput(signal: signal)
        let value = ClassificationInput.number(signal.value) + signal.unit
        let evidence = EvidenceNote(source: "rule:\(signal.ruleID)", kind: "signal", content: SignalEvidence.json([signal]))
        return try? prepare(IncidentOpening.OpenRequest(
            input: input, source: "rule:\(signal.ruleID)", detectedAt: signal.firstHeldAt,
            fingerprint: signal.fingerprint, labels: signal.labels, responder: policy.handling.initialResponder,
            actor: "rule:\(signal.ruleID)", firstKind: .detected,
            firstMessage: "Detected by rule \(signal.ruleID): \(signal.expression) (value \(value), condition held since "
                + "\(signal.firstHeldAt.rfc3339))" + Self.senderNote(signal),
            evidence: evidence), at: clock.now())
    }

    /// `; signal from plugin NAME` when the signal's series came from a plugin: the `source` label
    /// the daemon stamped on them (plugins cannot set it), never anything the plugin said.
    static func senderNote(_ signal: RuleSignal) -> String {
        guard let source = signal.labels["source"], source.hasPrefix("plugin:") else { return "" }
        return "; signal from plugin \(source.dropFirst("plugin:".count))"
    }

    /// The severity a signal would open its incident at, without building the opening (its
    /// evidence and messages): what correlation compares with the incident it would join.
    public func severity(for signal: RuleSignal) -> Severity? {
        try? SeverityClassifier(policy: policy).classify(ClassificationInput(signal: signal)).severity
    }

    func resolveResponder(_ text: String?) throws(WorkflowError) -> String {
        guard let text else { return policy.handling.initialResponder }
        let id = text.lowercased().split { !$0.isLetter && !$0.isNumber }.joined(separator: "_")
        let rows = Array(policy.escalation.chains.keys).sorted()
        guard rows.isEmpty || rows.contains(id) else { throw .unknownRole(found: text, known: rows) }
        return id
    }

    func prepare(_ request: IncidentOpening.OpenRequest, at now: Timestamp) throws(WorkflowError) -> IncidentOpening {
        let outcome = try SeverityClassifier(policy: policy).classify(request.input)
        return IncidentOpening(year: Int(now.rfc3339.prefix(4)) ?? 1970, idPrefix: policy.idPrefix, outcome: outcome,
                               workflow: self, request: request, openedAt: now)
    }
}
