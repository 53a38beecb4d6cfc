import VigilCore
import VigilRules

/// Decides the recovery watch that follows an incident's resolution (`incidents.recovery_watch`):
/// the rule that opened it, its threshold lowered, narrowed to the incident's series.
struct RecoveryWatchPlanner: Sendable {
    var rules: RuleSet

    enum Decision: Equatable {
        case watch(RecoveryWatch)
        /// The incident would be watched, but cannot be: the reason goes in its timeline.
        case skip(String)
        /// Not a watched kind of incident (declared, an alert, a false positive) or watches are off.
        case none
    }

    func decide(for incident: Incident, policy: RecoveryWatchPolicy, now: Timestamp) -> Decision {
        guard policy.enabled, incident.resolution?.falsePositive == nil, incident.source.hasPrefix("rule:") else {
            return .none
        }
        // A host agent's incident: its series are on the agent's host, which this daemon's rule
        // engine never sees (its own same-named series must not reopen it).
        if let agent = AgentService.host(of: incident) {
            return .skip("the incident is on host agent \(agent), whose samples this daemon does not see")
        }
        let id = String(incident.source.dropFirst("rule:".count))
        guard let rule = rules.rule(id: id) else {
            return .skip("rule \(id) is not loaded any more, so there is nothing to watch with")
        }
        let lowered = RuleLowering.lowered(rule.expression, factor: policy.factor, threshold: policy.thresholds[id])
        let watched = RuleLowering.scoped(lowered, to: RuleLowering.scope(of: rule, labels: incident.labels))
        let text = watched.description
        // The watch is stored as text and parsed again when the daemon starts: make sure it will.
        guard (try? RuleParser.parse(text)) != nil else {
            return .skip("the lowered rule \(text) does not parse back")
        }
        return .watch(RecoveryWatch(incidentID: incident.id, ruleID: id, expression: text,
                                    original: rule.expression.description, startedAt: now,
                                    until: now + policy.duration))
    }
}
