import VigilCore

/// How an alert group speaks to the incident service: as a detection rule's signals, so alerts
/// take the same dedup, flapping and condition-cleared path as rules do.
extension AlertService {
    /// Signal fingerprints of alert groups carry this prefix: they never collide with a rule's.
    static let fingerprintPrefix = "alertmanager:"
    /// How long before its arrival an alert may count as detected (``firingSignal(_:at:)``).
    static let earliestDetection = Duration.seconds(7 * 86_400)

    func firingSignal(_ e: Entry, at now: Timestamp) -> RuleSignal {
        var s = signal(e, transition: .firing, at: now)
        // Detected when the alert says it started, but never more than a week before it reached
        // Vigil: a sender's clock (or a hostile `startsAt` of 1700) must not make every response
        // figure of the period meaningless.
        s.firstHeldAt = max(min(e.alert.startsAt, now), now - Self.earliestDetection)
        return s
    }

    func resolvedSignal(_ e: Entry, at now: Timestamp) -> RuleSignal {
        var s = signal(e, transition: .resolved, at: now)
        s.value = 0
        return s
    }

    private func signal(_ e: Entry, transition: RuleSignal.Transition, at now: Timestamp) -> RuleSignal {
        var labels = e.alert.labels
        // `plugin` is the daemon's own label (incidents about a plugin join each other); a
        // sender's label of that name is kept under another name.
        if let p = labels.removeValue(forKey: "plugin") { labels["alert_plugin"] = p }
        // `source` names who sent a series (`plugin:NAME`, `http:PERSON`): reports charge incidents
        // to it, so a sender may not claim to be a plugin.
        if let s = labels.removeValue(forKey: "source") { labels["alert_source"] = s }
        if let component = e.route.component { labels["component"] = component }
        let name = e.alert.labels["alertname"] ?? "alert"
        let text = e.alert.labels.keys.sorted().map { "\($0)=\"\(e.alert.labels[$0, default: ""])\"" }.joined(separator: ", ")
        let description = e.alert.annotations["summary"] ?? e.alert.annotations["description"]
            ?? e.alert.annotations["message"] ?? "Alert \(name) firing: {\(text)}"
        return RuleSignal(transition: transition, ruleID: "alertmanager/\(name)", expression: "alert {\(text)}",
                          section: "alerts", labels: labels, fingerprint: Self.fingerprintPrefix + e.groupKey, value: 1,
                          firstHeldAt: e.alert.startsAt, at: now, incidentType: e.route.incidentType,
                          severity: severity(e), description: description)
    }

    /// The route's severity reference resolved on the active ladder; a label value that names no
    /// level falls back to Medium, then to the least severe level, so no alert is dropped.
    func severity(_ e: Entry) -> String? {
        let reference = routing.severity(e.alert.labels, route: e.route)
        if let level = ladder.level(named: reference) { return level.code }
        if let level = ladder.level(named: AlertRouting.fallbackSeverity) { return level.code }
        return ladder.leastSevere?.code
    }
}
