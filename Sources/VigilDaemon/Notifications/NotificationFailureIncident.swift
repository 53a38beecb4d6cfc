import Logging
import VigilCore
import VigilIncidents
import VigilStore

/// Every way of telling someone about an incident failed for good.
struct NotificationFailure: Sendable {
    /// The incident they were to be told about.
    var incidentID: String
    /// The roster id of the person (nil: a channel or group message).
    var person: String?
    /// Each method tried, oldest first, as it ended (attempts, last error).
    var tries: [NotificationRecord]
}

/// The daemon's own incident about a notification nobody could deliver: one per incident whose
/// people were not told (dedup key `notification_failure:INC-…`; later failures about the same
/// incident add occurrences to it), naming who, on which channels, with the last errors.
///
/// It is opened in the transaction that stores the last failed attempt, through the same path
/// as a rule's firing signal (classification by the `Notification failure` incident type, dedup,
/// reopen window, pages), rather than as an event on the bus: it can be neither shed nor lost
/// between the failure being stored and the incident being opened. The original incident's own
/// escalation is untouched and goes on.
enum NotificationFailureIncident {
    static let fingerprintPrefix = "notification_failure:"
    static let ruleID = "vigil.notification_failure"
    /// The incident type it is opened as (a row of `incident_types`; `High` when the table lacks it).
    static let incidentType = "Notification failure"
    static let fallbackSeverity = "High"

    /// What ``file(_:workflow:tx:now:)`` did: the failure incident's id, and the incident when
    /// this transaction opened it (nil when it added to one or there was none to file).
    struct Filed {
        var failureIncident: String?
        var opened: Incident?
    }

    /// Notes the failure in the original incident's timeline and opens, reopens or adds to its
    /// notification-failure incident (not when the original is itself one: nobody would be told
    /// of that one either). Without `workflow` (no incident manager) only the note is written.
    static func file(_ failure: NotificationFailure, workflow: IncidentWorkflow?, tx: StoreTransaction,
                     now: Timestamp) throws -> Filed {
        guard let original = try tx.incident(id: failure.incidentID) else { return Filed() }
        let person = failure.person.flatMap { id in workflow.flatMap { OnCallSchedule(roster: $0.policy.roster).person(id) } }
        let who = person.map { "\($0.id) (\($0.name))" } ?? failure.person
        let tried = failure.tries.map { n in
            "\(n.channel) \(n.recipients.joined(separator: ", ")) (\(n.attempts) attempt\(n.attempts == 1 ? "" : "s"): "
                + "\(NotificationOutbox.clipped(n.lastError)))"
        }.joined(separator: "; ")
        let channels = unique(failure.tries.map(\.channel))
        let subject = failure.tries.last?.subject ?? ""
        let headline = who.map { "Could not tell \($0): every contact method failed for good — \(tried)" }
            ?? "Could not deliver the \(channels.joined(separator: ", ")) message: \(tried)"
        var data = ["delivery": "failed", "channels": channels.joined(separator: ",")]
        if let p = failure.person { data["person"] = p }

        var filed = Filed()
        if original.fingerprint?.hasPrefix(fingerprintPrefix) == true {
            data["failure_incident"] = original.id
            try note(original, headline + ". Not reported again: this is a notification-failure incident.", data, tx: tx, now: now)
            return filed
        }
        guard let workflow else {
            try note(original, headline + ".", data, tx: tx, now: now)
            return filed
        }
        let signal = self.signal(failure, original: original, who: who, channels: channels, workflow: workflow, now: now)
        let outcome = try IncidentService.apply([(signal.fingerprint, [signal])], workflow: workflow, tx: tx)
        guard let incident = try outcome.opened.first ?? tx.openIncident(fingerprint: signal.fingerprint) else {
            try note(original, headline + ".", data, tx: tx, now: now)
            return filed
        }
        filed.failureIncident = incident.id
        filed.opened = outcome.opened.first
        data["failure_incident"] = incident.id
        try note(original, headline + ". Reported as \(incident.id) (\(incidentType)); escalation goes on.", data, tx: tx, now: now)
        var details = data
        details["incident"] = original.id
        let told = who.map { "\($0) was not told about \(original.id)" }
            ?? "The \(channels.joined(separator: ", ")) message about \(original.id) was not delivered"
        // Not before the lines the opening or the occurrence just wrote at the incident's own time.
        let at = max(now, incident.updatedAt)
        _ = try tx.record(StoreChange(
            incident: incident,
            timeline: [TimelineEntry(incidentID: incident.id, time: at, actor: IncidentWorkflow.systemActor, kind: .notification,
                                     message: "\(told) (\(subject)): \(tried)", data: details)],
            evidence: [EvidenceRecord(incidentID: incident.id, time: at, source: IncidentWorkflow.systemActor,
                                      kind: "notification-failure", content: evidence(failure, original: original).description)]))
        return filed
    }

    /// The firing signal the failure is filed as: its fingerprint is the dedup key per incident.
    static func signal(_ failure: NotificationFailure, original: Incident, who: String?, channels: [String],
                       workflow: IncidentWorkflow, now: Timestamp) -> RuleSignal {
        var labels = ["incident": original.id, "channels": channels.joined(separator: ","),
                      // Internal: kept off the public status page whatever its severity.
                      "user_scope": "None"]
        if let p = failure.person { labels["person"] = p }
        let typed = workflow.policy.incidentType(named: incidentType) != nil
        let what = who.map { "\($0) was not told about \(original.id)" }
            ?? "the \(channels.joined(separator: ", ")) message about \(original.id) was not delivered"
        return RuleSignal(transition: .firing, ruleID: ruleID, expression: "a notification failed for good on every method",
                          section: nil, labels: labels, fingerprint: fingerprintPrefix + original.id,
                          value: Double(failure.tries.count), firstHeldAt: now, at: now, incidentType: incidentType,
                          severity: typed ? nil : fallbackSeverity, description: "Notification failure: " + what)
    }

    /// Who was not told, how each method ended: the evidence attached to the failure incident.
    static func evidence(_ failure: NotificationFailure, original: Incident) -> JSONValue {
        var o: [String: JSONValue] = [
            "incident": .string(original.id),
            "tries": .array(failure.tries.map { n in
                .object([
                    "notification": .number(Double(n.id ?? 0)), "channel": .string(n.channel),
                    "recipients": .array(n.recipients.map { .string($0) }), "attempts": .number(Double(n.attempts)),
                    "last_error": n.lastError.map { .string(NotificationOutbox.clipped($0)) } ?? .null,
                    "purpose": n.purpose.map { .string($0) } ?? .null, "subject": .string(n.subject),
                ])
            }),
        ]
        if let p = failure.person { o["person"] = .string(p) }
        return .object(o)
    }

    static func note(_ incident: Incident, _ message: String, _ data: [String: String], tx: StoreTransaction,
                     now: Timestamp) throws {
        _ = try tx.record(StoreChange(incident: incident, timeline: [
            TimelineEntry(incidentID: incident.id, time: now, actor: IncidentWorkflow.systemActor, kind: .notification,
                          message: message, data: data),
        ]))
    }

    static func unique(_ items: [String]) -> [String] {
        var seen = Set<String>()
        return items.filter { seen.insert($0).inserted }
    }
}

extension IncidentService {
    /// Logs the notification-failure incidents the outbox opened and hands them to the response
    /// engine, as for any opened incident.
    func failureIncidentsOpened(_ incidents: [Incident]) {
        for incident in incidents {
            logger.notice("incident opened", metadata: [
                "id": "\(incident.id)", "severity": "\(incident.severity.code)", "source": "\(incident.source)",
                "type": "\(incident.type ?? "-")"])
        }
        tellResponder(incidents)
    }
}
