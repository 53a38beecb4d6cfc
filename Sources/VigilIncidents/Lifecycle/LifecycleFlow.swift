import VigilCore

/// A transition the seed's flow does not allow, with the ones it does.
public struct LifecycleError: Error, Sendable, Equatable, CustomStringConvertible {
    public var incidentID: String
    public var from: IncidentState
    public var to: IncidentState
    public var allowed: [IncidentState]
    /// Why, when the flow allows it but something else is missing (a post-mortem, a verification).
    public var hint: String?

    public init(incidentID: String, from: IncidentState, to: IncidentState, allowed: [IncidentState], hint: String? = nil) {
        self.incidentID = incidentID
        self.from = from
        self.to = to
        self.allowed = allowed
        self.hint = hint
    }

    public var description: String {
        var s = "\(incidentID) cannot go from \(from) to \(to); "
        s += allowed.isEmpty ? "no transition is allowed from \(from)"
            : "allowed from \(from): \(allowed.map(\.rawValue).joined(separator: ", "))"
        if let hint { s += " (\(hint))" }
        return s
    }
}

/// The incident lifecycle of seed 004's "Incident Response Overview", state by state:
///
/// ```
/// detected → classified → mobilised → containing → contained → investigating → remediating
///   → recovering → validating ─ fully restored ─→ resolved → post-mortem → closed
///                     │                                  └──(no post-mortem required)──→ closed
///                     └─ not fully restored: escalate ─→ investigating
/// resolved, post-mortem, closed ─ reopen ─→ investigating
/// any state before validating ─ condition cleared and held (daemon only) ─→ validating
/// ```
///
/// "Root Cause Analysis" is `investigating`, "Remediation Planning" `remediating`,
/// "Implementation and Recovery" `recovering`, "Validation and Testing" `validating`, and
/// "Post-Incident Analysis / Documentation / Process Improvement" `post-mortem` then `closed`.
/// Post-mortems are required for the top two severities (seed 000); for the others an incident
/// may close straight from `resolved`.
public enum LifecycleFlow {
    /// The states `state` may move to with `transition`.
    public static func next(from state: IncidentState, postMortemRequired: Bool) -> [IncidentState] {
        switch state {
        case .detected: [.classified]
        case .classified: [.mobilised]
        case .mobilised: [.containing]
        case .containing: [.contained]
        case .contained: [.investigating]
        case .investigating: [.remediating]
        case .remediating: [.recovering]
        case .recovering: [.validating]
        case .validating: [.resolved, .investigating]
        case .resolved: postMortemRequired ? [.postMortem] : [.postMortem, .closed]
        case .postMortem: [.closed]
        case .closed: []
        }
    }

    /// States the daemon's condition-cleared shortcut (`incidents.when_condition_clears`) may
    /// move straight to `validating` from: the rule that opened the incident stopped firing, so
    /// what remains is to validate the restoration. People still go step by step.
    public static let beforeValidation: Set<IncidentState> = [
        .detected, .classified, .mobilised, .containing, .contained, .investigating, .remediating, .recovering,
    ]

    /// States from which `reopen` brings an incident back to `investigating`.
    public static let reopenable: Set<IncidentState> = [.resolved, .postMortem, .closed]

    /// Checks a transition; the error lists what is allowed instead.
    public static func check(_ id: String, from: IncidentState, to: IncidentState,
                             postMortemRequired: Bool) throws(LifecycleError) {
        let allowed = next(from: from, postMortemRequired: postMortemRequired)
        guard allowed.contains(to) else {
            var hint: String?
            if from == .resolved, to == .closed { hint = "this severity requires a post-mortem first" }
            else if reopenable.contains(from), to == .investigating { hint = "use reopen" }
            else if let path = path(from: from, to: to, postMortemRequired: postMortemRequired), path.count > 1 {
                hint = "the way there is " + path.map(\.rawValue).joined(separator: " → ")
            }
            throw LifecycleError(incidentID: id, from: from, to: to, allowed: allowed, hint: hint)
        }
    }

    /// The forward states between `from` and `to` (excluding `from`), nil when `to` is not ahead.
    public static func path(from: IncidentState, to: IncidentState, postMortemRequired: Bool) -> [IncidentState]? {
        var out: [IncidentState] = []
        var current = from
        while let step = next(from: current, postMortemRequired: postMortemRequired).first, out.count < 16 {
            out.append(step)
            if step == to { return out }
            current = step
        }
        return nil
    }
}
