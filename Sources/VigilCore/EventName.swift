/// The naming rules every event source is held to (Prometheus's metric and label name rules).
public enum EventName {
    /// Letters, digits, `_` and `:`, not starting with a digit, at most 200 bytes.
    public static func isValid(_ s: String) -> Bool {
        isValid(s.utf8, allowColon: true)
    }

    /// Letters, digits and `_`, not starting with a digit, at most 200 bytes.
    public static func isValidLabel(_ s: String) -> Bool {
        isValid(s.utf8, allowColon: false)
    }

    /// The same check on raw UTF-8 bytes, for hot paths that have not made a `String`.
    public static func isValid<C: Collection>(_ bytes: C, allowColon: Bool) -> Bool where C.Element == UInt8 {
        guard let first = bytes.first, bytes.count <= maximumNameBytes else { return false }
        func ok(_ c: UInt8, first: Bool) -> Bool {
            (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 || (allowColon && c == 58) || (!first && c >= 48 && c <= 57)
        }
        return ok(first, first: true) && bytes.dropFirst().allSatisfy { ok($0, first: false) }
    }

    /// Signals the seed files under `security_events`; they travel on the never-dropped security lane.
    public static let securitySignals: Set<String> = [
        "authentication_failures", "plugin_isolation_breach_detected", "configuration_tampering_detected",
        "unusual_system_call_patterns",
    ]

    /// Names only the daemon itself publishes (its own health and its watch over plugins). A
    /// plugin may neither declare nor send them: a detector naming one could otherwise open a
    /// breach incident against another plugin, or quarantine it.
    public static let daemonSignals: Set<String> = [
        "plugin_isolation_breach_detected", "plugin_quarantined", "plugin_failure_rate",
        "unusual_system_call_patterns", "eventbus_queue_depth", "eventbus_shed_total",
        "eventbus_producer_stalls_total",
    ]
    /// Prefixes of the daemon's own name space (`plugin_…`, `eventbus_…`, `vigil_…`).
    public static let daemonPrefixes = ["plugin_", "eventbus_", "vigil_"]

    /// Whether `name` belongs to the daemon and is refused from every plugin.
    public static func isReservedForDaemon(_ name: String) -> Bool {
        daemonSignals.contains(name) || daemonPrefixes.contains { name.hasPrefix($0) }
    }

    /// Label names the daemon stamps itself (who sent an event, which plugin it is about); a
    /// plugin may not set them, so an incident's `plugin` label is always the daemon's word.
    public static let reservedLabels: Set<String> = ["plugin", "source"]

    /// Whether a plugin may not set the label `name`: the reserved labels in any case (`Plugin`
    /// reads as `plugin` to a person), their `plugin_…`/`source_…` extensions, and `__…`
    /// (Prometheus's internal labels).
    public static func isReservedLabel(_ name: String) -> Bool {
        if name.hasPrefix("__") { return true }
        let lower = name.lowercased()
        return reservedLabels.contains(lower) || reservedLabels.contains { lower.hasPrefix($0 + "_") }
    }

    /// Longest event or label name, in bytes.
    public static let maximumNameBytes = 200

    /// Why `name` is not a valid event name (or label name, without `:`), for an error message.
    public static func problem(with name: String, label: Bool) -> String {
        let size = name.utf8.count
        if size == 0 { return "it is empty" }
        if size > maximumNameBytes { return "it is \(size) bytes long (at most \(maximumNameBytes))" }
        return label ? "use letters, digits and '_' and do not start with a digit"
                     : "use letters, digits, '_' and ':' and do not start with a digit"
    }

    /// The lane an event goes on when its source does not choose: security signals on `security`,
    /// other signals on `incident`, metric samples on `telemetry`.
    public static func defaultLane(name: String, kind: EventKind) -> Lane {
        if securitySignals.contains(name) { return .security }
        return kind == .signal ? .incident : .telemetry
    }
}
