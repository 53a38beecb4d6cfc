import Foundation
import VigilCore

/// The seed's `containment_rules` file: category → ordered action names.
public enum ContainmentFileLoader {
    /// Loads the file at `path`; `from` is the config node that named it (for unreadable-file errors).
    static func load(path: String, from: YAMLNode?, diagnostics: Diagnostics) -> [String: [String]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            let at = from?.location ?? SourceLocation(file: path, line: 1, column: 1)
            diagnostics.add(.unreadableFile(at, path: path, reason: "no such readable file"))
            return [:]
        }
        return parse(text: text, file: path, diagnostics: diagnostics)
    }

    /// Parses containment rules text; returns category → actions in file order.
    public static func parse(text: String, file: String, diagnostics: Diagnostics) -> [String: [String]] {
        guard let root = YAMLNode.parse(text, file: file, diagnostics: diagnostics),
              let top = root.fields(file, allowed: ["containment_rules"]),
              let rules = top.required("containment_rules")?.mapping("containment_rules") else { return [:] }
        var out: [String: [String]] = [:]
        for category in rules {
            out[category.key] = category.value.strings(category.key) ?? []
        }
        return out
    }
}

/// `plugins:` — plugin folders, which to start, and the uid range they run under.
enum PluginSettingsLoader {
    static func load(_ node: YAMLNode, resolve: (String) -> String) -> PluginSettings {
        var s = PluginSettings()
        guard let f = node.fields("plugins", allowed: ["directories", "enabled", "id_range", "sandbox_profiles",
                                                       "max_frame_bytes", "launcher", "supervision", "inputs", "policy"]) else { return s }
        if let i = f["inputs"]?.fields("inputs", allowed: ["labels_per_event", "label_value_bytes", "series_budget",
                                                           "refused_events_tolerated", "control_frames_per_second"]) {
            s.inputs.labelsPerEvent = i["labels_per_event"]?.int("labels_per_event", range: 1...1000)
            s.inputs.labelValueBytes = i["label_value_bytes"]?.int("label_value_bytes", range: 16...(64 << 10))
            s.inputs.seriesBudget = i["series_budget"]?.int("series_budget", range: 100...10_000_000)
            s.inputs.refusedEventsTolerated = i["refused_events_tolerated"]?.int("refused_events_tolerated", range: 0...1_000_000)
            s.inputs.controlFramesPerSecond = i["control_frames_per_second"]?.int("control_frames_per_second", range: 1...100_000)
        }
        if let p = f["policy"] { s.policy = PluginPolicyLoader.load(p, resolve: resolve) }
        if let l = f["launcher"]?.string("launcher") { s.launcher = resolve(l) }
        if let sup = f["supervision"]?.fields("supervision", allowed: [
            "initial_backoff", "maximum_backoff", "crash_loop_failures", "crash_loop_window", "stable_run",
            "failure_rate_window", "failure_rate_interval", "shutdown_grace", "syscall_window", "cpu_held_at_quota",
        ]) {
            var v = SupervisionSettings()
            v.initialBackoff = sup["initial_backoff"]?.duration("initial_backoff", atLeast: .milliseconds(10))
            v.maximumBackoff = sup["maximum_backoff"]?.duration("maximum_backoff", atLeast: .milliseconds(10))
            v.crashLoopFailures = sup["crash_loop_failures"]?.int("crash_loop_failures", range: 1...1000)
            v.crashLoopWindow = sup["crash_loop_window"]?.duration("crash_loop_window", atLeast: .seconds(1))
            v.stableRun = sup["stable_run"]?.duration("stable_run", atLeast: .seconds(1))
            v.failureRateWindow = sup["failure_rate_window"]?.duration("failure_rate_window", atLeast: .seconds(1))
            v.failureRateInterval = sup["failure_rate_interval"]?.duration("failure_rate_interval", atLeast: .milliseconds(100))
            v.shutdownGrace = sup["shutdown_grace"]?.duration("shutdown_grace")
            v.syscallWindow = sup["syscall_window"]?.duration("syscall_window", atLeast: .seconds(1))
            v.cpuHeldAtQuota = sup["cpu_held_at_quota"]?.duration("cpu_held_at_quota", atLeast: .seconds(1))
            s.supervision = v
        }
        s.directories = (f["directories"]?.strings("directories") ?? []).map(resolve)
        s.enabled = f["enabled"]?.strings("enabled") ?? []
        if let r = f["id_range"], let text = r.string("id_range") {
            let parts = text.split(separator: "-").compactMap { UInt32($0.trimmingWhitespace()) }
            // Never systemd's DynamicUser range (61184-65519), whose uids systemd hands to services.
            if parts.count == 2, parts[0] >= 1000, parts[0] <= parts[1], parts[1] < 61_184 || parts[0] > 65_519 {
                s.idRange = parts[0]...parts[1]
            } else {
                r.diagnostics.add(.invalidValue(r.location, key: "id_range", found: text,
                                                expected: "a range like \"70000-79999\" of non-system ids (≥ 1000) outside systemd's DynamicUser range 61184-65519"))
            }
        }
        if let p = f["sandbox_profiles"]?.string("sandbox_profiles") { s.sandboxDirectory = resolve(p) }
        if let m = f["max_frame_bytes"]?.int("max_frame_bytes", range: 1024...(64 << 20)) { s.maxFrameBytes = m }
        return s
    }
}

/// `bus:` — capacities, watermarks and the self-monitoring interval.
enum BusSettingsLoader {
    static func load(_ node: YAMLNode) -> BusSettings {
        var s = BusSettings()
        guard let f = node.fields("bus", allowed: ["capacity", "high_watermark", "low_watermark",
                                                   "self_monitoring_interval", "producer_capacity",
                                                   "max_producers_per_lane", "lanes"]) else { return s }
        func capacities(_ key: String, into table: inout [String: Int]) {
            for e in f[key]?.mapping(key) ?? [] {
                guard Lane(name: e.key) != nil else {
                    e.keyNode.diagnostics.add(.unknownKey(e.keyNode.location, key: e.key,
                                                          allowed: Lane.allCases.map(\.description)))
                    continue
                }
                if let v = e.value.int(e.key, range: 16...(1 << 26)) { table[e.key] = v }
            }
        }
        capacities("capacity", into: &s.capacity)
        capacities("producer_capacity", into: &s.producerCapacity)
        if let m = f["max_producers_per_lane"]?.int("max_producers_per_lane", range: 1...65_536) { s.maxProducersPerLane = m }
        for e in f["lanes"]?.mapping("lanes") ?? [] {
            guard Lane(name: e.key) != nil else {
                e.keyNode.diagnostics.add(.unknownKey(e.keyNode.location, key: e.key, allowed: Lane.allCases.map(\.description)))
                continue
            }
            guard let w = e.value.fields(e.key, allowed: ["high_watermark", "low_watermark"]) else { continue }
            let high = w["high_watermark"].flatMap { fractionOf($0, "high_watermark") } ?? s.highWatermark
            let low = w["low_watermark"].flatMap { fractionOf($0, "low_watermark") } ?? s.lowWatermark
            if low >= high {
                e.value.diagnostics.add(.invalidValue(e.value.location, key: e.key, found: "low \(low), high \(high)",
                                                      expected: "a low watermark below the high one"))
            } else {
                s.laneWatermarks[e.key] = (high, low)
            }
        }
        func fractionOf(_ n: YAMLNode, _ key: String) -> Double? {
            guard let t = n.string(key) else { return nil }
            guard let v = Double(t), v > 0, v < 1 else {
                n.diagnostics.add(.invalidValue(n.location, key: key, found: t, expected: "a fraction between 0 and 1"))
                return nil
            }
            return v
        }
        func fraction(_ key: String) -> Double? {
            guard let n = f[key], let t = n.string(key) else { return nil }
            guard let v = Double(t), v > 0, v < 1 else {
                n.diagnostics.add(.invalidValue(n.location, key: key, found: t, expected: "a fraction between 0 and 1"))
                return nil
            }
            return v
        }
        if let h = fraction("high_watermark") { s.highWatermark = h }
        if let l = fraction("low_watermark") { s.lowWatermark = l }
        if s.lowWatermark >= s.highWatermark, let n = f["low_watermark"] {
            n.diagnostics.add(.invalidValue(n.location, key: "low_watermark", found: "\(s.lowWatermark)",
                                            expected: "below high_watermark (\(s.highWatermark))"))
        }
        if let d = f["self_monitoring_interval"]?.duration("self_monitoring_interval") {
            s.selfMonitoringInterval = d
        }
        return s
    }
}
