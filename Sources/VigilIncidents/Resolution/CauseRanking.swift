import VigilCore

/// Something that happened before an incident and may have caused it: a recorded change, a
/// containment action, or another incident (``CauseRanking``).
public struct CauseCandidate: Sendable, Equatable {
    public enum Origin: Sendable, Equatable {
        case change(ChangeRecord.Kind)
        /// A containment action run for another incident (`for` names it).
        case containment(for: String?)
        /// Another incident; `severity` is its code.
        case incident(severity: String)
    }

    /// How a person finds it again: `change 12`, `action 7`, `incident INC-2026-0002`. Also the
    /// key a verdict is kept under when the draft is written again.
    public var reference: String
    public var origin: Origin
    public var time: Timestamp
    /// The components it touched; empty for a daemon-wide change.
    public var components: [String]
    /// What it was: a release, a plugin, an action's name, an incident's title.
    public var subject: String
    public var actor: String?

    public init(reference: String, origin: Origin, time: Timestamp, components: [String], subject: String, actor: String? = nil) {
        self.reference = reference
        self.origin = origin
        self.time = time
        self.components = components
        self.subject = subject
        self.actor = actor
    }

    public init(_ change: ChangeRecord) {
        self.init(reference: "change \(change.id ?? 0)", origin: .change(change.kind), time: change.time,
                  components: change.component.map { [$0] } ?? [],
                  subject: change.summary.isEmpty ? change.subject : change.summary, actor: change.actor)
    }
}

/// One ranked possible cause, with the reasons in words.
public struct CauseHypothesis: Sendable, Equatable {
    public var candidate: CauseCandidate
    /// 0 to 1: nearer in time and in the dependency map is higher.
    public var score: Double
    /// "deploy of api: release 2026.12.7 (by ci), 12m before detection; api is the incident's component"
    public var explanation: String
}

/// Ranks what preceded an incident by nearness in time (closer before detection is stronger,
/// within the lookback) and in the component dependency map (the incident's own component, then
/// what it depends on directly, then transitively, then what depends on it, then daemon-wide
/// changes, then the unrelated). Pure: the caller gathers the candidates.
public struct CauseRanking: Sendable {
    public let map: ComponentDependencies

    public init(map: ComponentDependencies) { self.map = map }

    /// The incident's components: its `component` label and its classification's.
    public static func components(of incident: Incident) -> [String] {
        var out: [String] = []
        for c in [incident.labels["component"]].compactMap({ $0 }) + (incident.classification?.affectedComponents ?? [])
        where !out.contains(c) { out.append(c) }
        return out
    }

    /// The strongest hypotheses first, at most ``ComponentDependencies/limit``; candidates after
    /// the detection or older than the lookback are left out, as is the incident itself.
    public func rank(_ incident: Incident, candidates: [CauseCandidate]) -> [CauseHypothesis] {
        let detected = incident.detectedAt
        let lookback = max(map.lookback, .seconds(1))
        let own = Self.components(of: incident)
        var out: [CauseHypothesis] = []
        for c in candidates where c.time <= detected && detected - c.time <= lookback
            && c.reference != "incident \(incident.id)" {
            let age = detected - c.time
            let nearness = 1 - age.inSeconds / lookback.inSeconds
            let (weight, reason) = dependency(c, own: own)
            let score = weight * (0.3 + 0.7 * nearness)
            out.append(CauseHypothesis(candidate: c, score: (score * 100).rounded() / 100,
                                       explanation: Self.what(c) + ", " + Self.before(age) + "; " + reason))
        }
        // Ties go to the nearer in time, then to the reference, so a draft reads the same twice.
        out.sort { a, b in
            if a.score != b.score { return a.score > b.score }
            if a.candidate.time != b.candidate.time { return a.candidate.time > b.candidate.time }
            return a.candidate.reference < b.candidate.reference
        }
        return Array(out.prefix(max(0, map.limit)))
    }

    /// The weight of how `c` stands to the incident's components, and why, in words.
    func dependency(_ c: CauseCandidate, own: [String]) -> (Double, String) {
        guard !c.components.isEmpty else {
            return (0.35, "daemon-wide: it changes what Vigil detects and does, on every component")
        }
        guard !own.isEmpty else { return (0.25, "the incident names no component to compare with") }
        var best: (Double, String) = (0.1, "\(c.components.joined(separator: ", ")): not connected to "
            + own.joined(separator: ", ") + " in the dependency map")
        for component in c.components {
            let found: (Double, String)
            switch map.relation(of: component, to: own) {
            case .same(let name):
                found = (1.0, "\(name) is the incident's component")
            case .dependency(let path) where path.count <= 2:
                found = (0.7, "\(component) is a direct dependency of \(path.first ?? "?") (\(path.joined(separator: " → ")))")
            case .dependency(let path):
                found = (0.7 * pow(0.6, Double(path.count - 2)),
                         "\(component) is a transitive dependency of \(path.first ?? "?") (\(path.joined(separator: " → ")))")
            case .dependent(let path):
                found = (0.3 / Double(max(1, path.count - 1)),
                         "\(component) depends on \(path.first ?? "?") (\(path.reversed().joined(separator: " → ")))")
            case .unrelated:
                continue
            }
            if found.0 > best.0 { best = found }
        }
        return best
    }

    static func what(_ c: CauseCandidate) -> String {
        let by = c.actor.map { " (by \($0))" } ?? ""
        let target = c.components.isEmpty ? "" : " of " + c.components.joined(separator: ", ")
        switch c.origin {
        case .change(let kind):
            switch kind {
            case .deploy, .rollback, .featureFlag, .infrastructure:
                return kind.phrase.prefix(1).uppercased() + kind.phrase.dropFirst() + target + ": " + c.subject + by
            case .configReload, .pluginUpgrade, .pluginEnabled, .pluginDisabled:
                // The daemon's own summaries already say what happened ("plugin disk enabled").
                return c.subject.prefix(1).uppercased() + c.subject.dropFirst() + by
            }
        case .containment(let incident):
            return "Containment action " + c.subject + (incident.map { " for \($0)" } ?? "") + target + by
        case .incident(let severity):
            return "Incident \(c.reference.dropFirst("incident ".count)) (\(severity))\(target): \(c.subject)"
        }
    }

    static func before(_ age: Duration) -> String {
        age < .seconds(1) ? "at detection" : KnowledgeTransfer.span(age) + " before detection"
    }

    private func pow(_ base: Double, _ exponent: Double) -> Double {
        var out = 1.0
        for _ in 0..<Int(exponent) { out *= base }
        return out
    }
}
