/// The firing alerts that can inhibit, indexed per rule by the values of the rule's `equal`
/// labels: judging one target is a lookup per rule, not a scan of every firing alert (which
/// with many alerts and any inhibit rule would be quadratic on each evaluation).
/// Same answers as ``AlertRouting/inhibitors(of:among:)``.
public struct InhibitionIndex: Sendable {
    struct Source: Sendable {
        var fingerprint: String
        /// Also matches the rule's target side (such sources cannot inhibit targets that match both).
        var matchesTarget: Bool
    }

    let rules: [InhibitRule]
    /// Per rule: `equal` label values (joined with 0xff) → the sources with them, in input order.
    let sources: [[String: [Source]]]

    public init(rules: [InhibitRule], firing: [(fingerprint: String, labels: [String: String])]) {
        self.rules = rules
        sources = rules.map { rule in
            var table: [String: [Source]] = [:]
            for f in firing where rule.source.matches(f.labels) {
                table[Self.key(rule.equal, f.labels), default: []]
                    .append(Source(fingerprint: f.fingerprint, matchesTarget: rule.target.matches(f.labels)))
            }
            return table
        }
    }

    static func key(_ equal: [String], _ labels: [String: String]) -> String {
        equal.map { labels[$0] ?? "" }.joined(separator: "\u{ff}")
    }

    /// The fingerprints of the firing alerts inhibiting `target` (empty: not inhibited).
    public func inhibitors(of target: [String: String]) -> [String] {
        var out: [String] = []
        let targetFingerprint = AlertFingerprint.hex(target)
        for (i, rule) in rules.enumerated() where rule.target.matches(target) {
            guard let candidates = sources[i][Self.key(rule.equal, target)] else { continue }
            let targetIsSource = rule.source.matches(target)
            for s in candidates where s.fingerprint != targetFingerprint && !(targetIsSource && s.matchesTarget)
                && !out.contains(s.fingerprint) {
                out.append(s.fingerprint)
            }
        }
        return out
    }
}
