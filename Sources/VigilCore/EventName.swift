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
        guard let first = bytes.first, bytes.count <= 200 else { return false }
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

    /// The lane an event goes on when its source does not choose: security signals on `security`,
    /// other signals on `incident`, metric samples on `telemetry`.
    public static func defaultLane(name: String, kind: EventKind) -> Lane {
        if securitySignals.contains(name) { return .security }
        return kind == .signal ? .incident : .telemetry
    }
}
