import VigilCore

/// The label set a silence or maintenance window is matched against for an incident: the
/// incident's own labels (a rule signal's series labels, a plugin event's labels such as
/// `plugin`, an alert's labels) plus the names below, which the daemon sets from the incident.
///
/// | label | value |
/// |---|---|
/// | `incident` | the incident id (`INC-2026-0042`) |
/// | `severity` | the severity code (`P1`) |
/// | `type` | the incident type, when classified |
/// | `source` | `rule:<rule id>`, `user-report`, … |
/// | `rule` | the rule id, for incidents a rule opened |
/// | `fingerprint` | the dedup fingerprint, when there is one |
/// | `containment` | the containment category, when there is one |
/// | `component` | the `component` label, else the classified components joined by `,` |
///
/// `incident`, `severity`, `type`, `source`, `rule`, `fingerprint` and `containment` always carry the
/// daemon's value (a sender cannot dodge a `severity="P3"` silence by labelling its own events);
/// `component` and every other name keep the incident's own label when it has one.
public enum SilenceLabels {
    /// The names the daemon sets (see the table above).
    public static let derivedNames = ["incident", "severity", "type", "source", "rule", "fingerprint", "containment",
                                      "component"]

    public static func of(_ incident: Incident) -> [String: String] {
        var labels = incident.labels
        labels["incident"] = incident.id
        labels["severity"] = incident.severity.code
        labels["source"] = incident.source
        labels["type"] = incident.type
        labels["fingerprint"] = incident.fingerprint
        labels["containment"] = incident.containmentCategory
        labels["rule"] = incident.source.hasPrefix("rule:") ? String(incident.source.dropFirst(5)) : nil
        if labels["component"] == nil, let components = incident.classification?.affectedComponents, !components.isEmpty {
            labels["component"] = components.joined(separator: ",")
        }
        return labels
    }
}
