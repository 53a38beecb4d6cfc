import VigilCore

/// One event of `POST /api/v1/events` read from its JSON: `name` (required), `kind` (`metric`,
/// the default, or `signal`), `value` (a finite number; signals default to 1), `unit`, `labels`
/// (strings), `time` (RFC 3339; default now, at most 5 minutes ahead). What a sender may not
/// claim is refused: the daemon's own names (`plugin_…`, `eventbus_…`, `vigil_…`,
/// `sqlite_connection_failures` of its store), the seed's security signals and the security lane
/// (a plugin needs its own grant for those), and the labels it stamps itself (`plugin`, `source`).
public enum EventBatchText {
    public static let maximumEvents = 1_000
    public static let maximumLabels = 32
    public static let maximumLabelValueBytes = 1_024
    public static let maximumUnitBytes = 32
    static let keys: Set<String> = ["kind", "name", "value", "unit", "labels", "time", "lane"]

    public static func event(_ json: JSONValue, source: String, now: Timestamp) throws(ControlFailure) -> IngestEvent {
        guard case .object(let o) = json else { throw ControlFailure("each event is an object") }
        if let unknown = o.keys.sorted().first(where: { !keys.contains($0) }) {
            throw ControlFailure("unknown field \"\(unknown)\" (known: \(keys.sorted().joined(separator: ", ")))")
        }
        guard case .string(let name)? = o["name"] else { throw ControlFailure("name: required, a string") }
        let kind: EventKind
        switch o["kind"] {
        case nil, .string("metric")?: kind = .metric
        case .string("signal")?: kind = .signal
        default: throw ControlFailure("kind: \"metric\" or \"signal\"")
        }
        let value: Double
        switch o["value"] {
        case .number(let v)?: value = v
        case nil where kind == .signal: value = 1
        default: throw ControlFailure("value: required for a metric, a number")
        }
        var unit = ""
        if let u = o["unit"] {
            guard case .string(let text) = u, text.utf8.count <= maximumUnitBytes, !text.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
                throw ControlFailure("unit: a string of at most \(maximumUnitBytes) bytes")
            }
            unit = text
        }
        var labels: [String: String] = [:]
        if let l = o["labels"] {
            guard case .object(let pairs) = l, pairs.count <= maximumLabels else {
                throw ControlFailure("labels: an object of at most \(maximumLabels) string values")
            }
            for (key, v) in pairs {
                guard case .string(let text) = v, text.utf8.count <= maximumLabelValueBytes else {
                    throw ControlFailure("labels.\(key): a string of at most \(maximumLabelValueBytes) bytes")
                }
                if EventName.isReservedLabel(key) {
                    throw ControlFailure("labels.\(key): the daemon sets this label itself")
                }
                labels[key] = text
            }
        }
        var time: Timestamp?
        if let t = o["time"] {
            guard case .string(let text) = t, let parsed = RFC3339.parse(text) else {
                throw ControlFailure("time: an RFC 3339 timestamp such as 2026-12-07T06:00:00Z")
            }
            guard parsed <= now + .seconds(300) else { throw ControlFailure("time: more than 5 minutes ahead of this daemon's clock") }
            time = parsed
        }
        var lane: Lane?
        if let l = o["lane"] {
            guard case .string(let text) = l, let parsed = Lane(name: text) else {
                throw ControlFailure("lane: security, incident or telemetry")
            }
            lane = parsed
        }
        let event = IngestEvent(kind: kind, name: name, value: value, unit: unit, labels: labels, time: time ?? now, lane: lane,
                                source: source)
        if let problem = event.validationError() { throw ControlFailure(problem) }
        if EventName.isReservedForDaemon(name) || RuleSources.daemonNames.contains(name) {
            throw ControlFailure("name: \(name) is the daemon's own; a sender may not send it")
        }
        // The seed's security signals open security incidents with automated containment: only
        // a plugin granted them, or root through `vigil emit`, may raise them.
        if IngestEvent.securitySignals.contains(name) || lane == .security {
            throw ControlFailure("name: \(name) is a security signal (or the security lane); over HTTP a sender may not raise it")
        }
        return event
    }
}
