import VigilCore

/// An event as it arrives from outside the daemon (control socket, HTTP, replay), before its
/// strings are interned for the bus.
public struct IngestEvent: Codable, Sendable, Equatable {
    public var kind: EventKind
    public var name: String
    /// The value of a metric; signals carry 1.
    public var value: Double
    public var unit: String
    public var labels: [String: String]
    /// When it happened; nil means "now" on arrival.
    public var time: Timestamp?
    /// An explicit lane; nil lets ``IngestEvent/defaultLane`` decide.
    public var lane: Lane?
    /// Who sent it: `cli:<user>`, `plugin:<name>`, `http`.
    public var source: String

    public init(kind: EventKind, name: String, value: Double = 1, unit: String = "", labels: [String: String] = [:],
                time: Timestamp? = nil, lane: Lane? = nil, source: String) {
        self.kind = kind
        self.name = name
        self.value = value
        self.unit = unit
        self.labels = labels
        self.time = time
        self.lane = lane
        self.source = source
    }

    /// Signals the seed files under `security_events`, which travel on the never-dropped security lane.
    public static let securitySignals: Set<String> = [
        "authentication_failures", "plugin_isolation_breach_detected", "configuration_tampering_detected",
        "unusual_system_call_patterns",
    ]

    /// Metrics go on telemetry; security signals on security; every other signal on incident.
    public var defaultLane: Lane {
        switch kind {
        case .metric: Self.securitySignals.contains(name) ? .security : .telemetry
        case .signal: Self.securitySignals.contains(name) ? .security : .incident
        }
    }

    /// Checks names and values the way Prometheus does; nil when valid, else the sentence to show.
    public func validationError() -> String? {
        guard Self.isValidName(name) else {
            return "invalid event name \"\(name)\": use letters, digits, '_' and ':' and do not start with a digit"
        }
        guard value.isFinite else { return "the value of \(name) must be a finite number, found \(value)" }
        for key in labels.keys where !Self.isValidName(key) || key.contains(":") {
            return "invalid label name \"\(key)\": use letters, digits and '_' and do not start with a digit"
        }
        return nil
    }

    static func isValidName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, s.utf8.count <= 200 else { return false }
        func ok(_ c: Unicode.Scalar, first: Bool) -> Bool {
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || c == ":" || (!first && c >= "0" && c <= "9")
        }
        return ok(first, first: true) && s.unicodeScalars.dropFirst().allSatisfy { ok($0, first: false) }
    }
}
