import VigilCore
import VigilRules

/// `rules.recording`: how many samples the daemon keeps around rule incidents (`Docs/false-positives.md`).
///
/// ```yaml
/// rules:
///   recording:
///     enabled: true
///     keep: 15 minutes          # how far back the in-memory rings reach
///     samples_per_rule: 20000   # per ring (rules on one event name share one)
///     max_bytes: 33554432       # every ring together (40 bytes a sample)
///     per_incident: 10000       # stored per incident episode; more is marked truncated
///     lead_in_margin: 1 minute  # added to the rule's `for` or window before the condition first held
///     retention: 90 days        # recordings older than this are deleted
/// ```
enum SampleRecordingLoader {
    static let keys = ["enabled", "keep", "samples_per_rule", "max_bytes", "per_incident", "lead_in_margin", "retention"]

    static func load(_ node: YAMLNode) -> SampleRecordingSettings {
        var s = SampleRecordingSettings()
        guard let f = node.fields("recording", allowed: keys) else { return s }
        if let b = f["enabled"]?.bool("enabled") { s.enabled = b }
        if let d = f["keep"]?.duration("keep", atLeast: .seconds(1)) {
            if d <= .seconds(86_400) { s.keep = d } else {
                f["keep"]?.diagnostics.add(.invalidValue(f["keep"]?.location ?? node.location, key: "keep",
                                                         found: DurationText.format(d), expected: "at most 24 hours"))
            }
        }
        if let n = f["samples_per_rule"]?.int("samples_per_rule", range: 1...1_000_000) { s.samplesPerRule = n }
        if let n = f["max_bytes"]?.int("max_bytes", range: 4096...(1 << 32)) { s.maxBytes = n }
        if let n = f["per_incident"]?.int("per_incident", range: 1...100_000) { s.perIncident = n }
        if let d = f["lead_in_margin"]?.duration("lead_in_margin") {
            if d <= .seconds(86_400) { s.leadInMargin = max(.zero, d) } else {
                f["lead_in_margin"]?.diagnostics.add(.invalidValue(f["lead_in_margin"]?.location ?? node.location,
                                                                   key: "lead_in_margin", found: DurationText.format(d),
                                                                   expected: "at most 24 hours"))
            }
        }
        if let d = f["retention"]?.duration("retention", atLeast: .seconds(3600)) { s.retention = d }
        return s
    }
}
