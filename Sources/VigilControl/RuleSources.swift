import VigilCore

/// Which source feeds each rule (`rules.sources`, `vigil rules check --list`): a rule whose event
/// nothing loaded can send is a promise that silently never fires, and this is where it shows.
public enum RuleSources {
    /// Names the daemon publishes itself: its watch over plugins and the bus, and its own store's
    /// failures (``StoreFailureService``).
    public static let daemonNames: Set<String> = EventName.daemonSignals.union(["sqlite_connection_failures"])

    /// One loaded plugin as far as feeding rules goes.
    public struct Plugin: Sendable {
        public var name: String
        public var state: String
        /// Its manifest's `emits:` (names, `prefix_*`).
        public var emits: [String]

        public init(name: String, state: String, emits: [String]) {
            self.name = name
            self.state = state
            self.emits = emits
        }
    }

    /// One rule as listed: its id, kind, canonical text and the event name it watches.
    public struct Rule: Sendable {
        public var id, kind, text, event: String

        public init(id: String, kind: String, text: String, event: String) {
            self.id = id
            self.kind = kind
            self.text = text
            self.event = event
        }
    }

    /// Whether an `emits:` entry covers `name` (exact, or `prefix_*`).
    public static func covers(_ pattern: String, _ name: String) -> Bool {
        if pattern == name { return true }
        guard pattern.hasSuffix("*") else { return false }
        return name.hasPrefix(pattern.dropLast())
    }

    public static func views(rules: [Rule], plugins: [Plugin],
                             samples: [String: (time: Timestamp, source: String)]) -> [RuleSourceView] {
        rules.map { rule in
            var fedBy: [String] = daemonNames.contains(rule.event) ? ["vigild"] : []
            for p in plugins.sorted(by: { $0.name < $1.name }) where p.emits.contains(where: { covers($0, rule.event) }) {
                fedBy.append("plugin:\(p.name) (\(p.state))")
            }
            let seen = samples[rule.event]
            return RuleSourceView(id: rule.id, kind: rule.kind, rule: rule.text, event: rule.event, fedBy: fedBy,
                                  lastSample: seen?.time.rfc3339, lastSource: seen?.source)
        }
    }
}
