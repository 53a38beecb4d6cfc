import Foundation
import Testing
import VigilConfig
import VigilCore
import VigilRules

/// A day of samples from a seeded generator: every seed rule's input, with hot spells, dips,
/// detectors that stop (stale series), bursts of failures and occasional breaches.
struct DayOfSamples {
    static let start = Timestamp(nanoseconds: 1_767_571_200_000_000_000) // 2026-01-05T00:00:00Z
    var rng: SeededRandom
    var samples: [ReplaySample] = []
    var usedTimes: Set<Int64> = []

    init(seed: UInt64) { rng = SeededRandom(seed: seed) }

    mutating func uniform(_ r: ClosedRange<Double>) -> Double { Double.random(in: r, using: &rng) }
    mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }
    mutating func chance(_ p: Double) -> Bool { uniform(0...1) < p }

    /// Adds a sample at `second` of the day plus a random millisecond jitter, at a time no other sample has.
    mutating func add(_ kind: EventKind, _ name: String, _ value: Double = 1, unit: String = "",
                      labels: [String: String] = [:], source: String = "", at second: Double) {
        var ms = Int64(second * 1000) + Int64(int(0...999))
        while usedTimes.contains(ms) { ms += 1 }
        usedTimes.insert(ms)
        samples.append(ReplaySample(kind: kind, name: name, value: value, unit: unit, labels: labels, source: source,
                                    time: Self.start + .milliseconds(ms)))
    }

    /// A metric sampled every `every` seconds that alternates calm and hot spells and sometimes stops.
    mutating func regimeMetric(_ name: String, labels: [String: String], every: Double, calm: ClosedRange<Double>,
                               hot: ClosedRange<Double>, dip: ClosedRange<Double>, units: (Double) -> (Double, String),
                               from: Double = 0, to: Double = 86_400) {
        var t = from
        var hotUntil = -1.0
        var nextChange = t + uniform(300...3600)
        while t < to {
            if t >= nextChange {
                if hotUntil < t, chance(0.6) {
                    hotUntil = t + uniform(60...720)
                    nextChange = hotUntil
                } else if chance(0.25) {
                    t += uniform(360...1800) // the detector stops: the series goes stale
                    nextChange = t + uniform(300...3600)
                    continue
                } else {
                    nextChange = t + uniform(300...3600)
                }
            }
            let v = t < hotUntil ? (chance(0.04) ? uniform(dip) : uniform(hot)) : uniform(calm)
            let (value, unit) = units(v)
            add(.metric, name, (value * 100).rounded() / 100, unit: unit, labels: labels, source: "plugin:system-metrics", at: t)
            t += every
        }
    }

    mutating func generate() -> [ReplaySample] {
        for host in ["web-1", "web-2", "db-1"] {
            regimeMetric("cpu_usage", labels: ["host": host], every: 20, calm: 10...85, hot: 91...99, dip: 60...89) { v in
                Int(v * 7) % 5 == 0 ? (v / 100, "ratio") : (v, "%")
            }
        }
        for host in ["web-1", "db-1"] {
            regimeMetric("memory_usage", labels: ["host": host], every: 30, calm: 40...94, hot: 95.5...99.5, dip: 90...95) { ($0, "%") }
        }
        for disk in ["/", "/var"] {
            regimeMetric("disk_space", labels: ["disk": disk], every: 60, calm: 10.5...40, hot: 2...9.9, dip: 10...12) { ($0, "%") }
        }
        regimeMetric("network_latency", labels: [:], every: 20, calm: 50...4900, hot: 5100...9000, dip: 1000...5000) { v in
            Int(v) % 3 == 0 ? (v / 1000, "s") : (v, "ms")
        }
        for component in ["terminal_renderer", "status_bar"] {
            regimeMetric("fps", labels: ["component": component], every: 10, calm: 11...60, hot: 1...9, dip: 10...30,
                         units: { ($0.rounded(), "") }, from: 20_000, to: 32_000)
        }
        for lane in ["telemetry", "security"] {
            regimeMetric("eventbus_queue_depth", labels: ["lane": lane], every: 30, calm: 0...900, hot: 1001...5000,
                         dip: 500...1000) { ($0.rounded(), "messages") }
        }
        // Plugin attempts: 1 = failed, 0 = succeeded; failure-prone spells push the rate over 10%.
        for plugin in ["dns", "web"] {
            var t = 0.0
            var badUntil = -1.0
            while t < 86_400 {
                if badUntil < t, chance(0.004) { badUntil = t + uniform(120...1200) }
                let failed = chance(t < badUntil ? 0.4 : 0.03)
                if chance(0.1) {
                    add(.signal, "plugin_failure_rate", labels: ["plugin": plugin], at: t) // a signal is a failure
                } else {
                    add(.metric, "plugin_failure_rate", failed ? 1 : 0, labels: ["plugin": plugin], at: t)
                }
                t += uniform(5...40)
            }
        }
        for _ in 0..<40 { // SQLite failure bursts, counted by database
            let at = uniform(0...86_000)
            for _ in 0..<int(2...12) {
                add(.signal, "sqlite_connection_failures", labels: ["database": "vigil.db", "error": "busy"], at: at + uniform(0...90))
            }
        }
        for _ in 0..<30 { // authentication failure bursts across users
            let at = uniform(0...86_000)
            for _ in 0..<int(5...35) {
                add(.signal, "authentication_failures", labels: ["user": "u\(int(0...9))"], at: at + uniform(0...100))
            }
        }
        for _ in 0..<12 {
            add(.signal, "plugin_isolation_breach_detected", labels: ["plugin": ["dns", "web"][int(0...1)], "syscall": "ptrace"],
                source: "vigild:breach-watcher", at: uniform(0...86_400))
        }
        for _ in 0..<24 { add(.metric, "configuration_tampering_detected", chance(0.2) ? 1 : 0, at: uniform(0...86_400)) }
        for _ in 0..<20 { add(.metric, "unusual_system_call_patterns", Double(int(0...3)), labels: ["plugin": "dns"], at: uniform(0...86_400)) }
        // A heartbeat with pauses, for the absence rule added to the seed's.
        var t = 0.0
        while t < 86_400 {
            add(.signal, "heartbeat", labels: ["host": "web-1"], at: t)
            t += chance(0.01) ? uniform(300...1500) : 60
        }
        return samples.sorted { $0.time < $1.time }
    }
}

@Suite struct ReplayReferenceTests {
    @Test func aReplayedDayGivesTheSameTransitionsAsTheReferenceComputation() throws {
        var set = try seedRules()
        set.rules.append(Rule(id: "cpu_web2_kff",
                              expression: try RuleParser.parse("cpu_usage{host=\"web-2\"} > 80% for 2 minutes keep_firing_for 3 minutes")))
        set.rules.append(Rule(id: "heartbeat_missing", expression: try RuleParser.parse("heartbeat < 2 in 10 minutes")))
        var generator = DayOfSamples(seed: 20260105)
        let day = generator.generate()
        #expect(day.count > 25_000)

        // Through the recording format and back, as `vigil rules test --replay` reads it.
        let ndjson = day.map(SampleRecording.line).joined(separator: "\n")
        var replayed: [ReplaySample] = []
        for (i, line) in ndjson.split(separator: "\n").enumerated() {
            switch SampleRecording.parse(line: line, number: i + 1, file: "day.ndjson") {
            case .success(let s)?: replayed.append(s)
            case .failure(let e)?: Issue.record("\(e)")
            case nil: break
            }
        }
        #expect(replayed == day)

        let end = DayOfSamples.start + .seconds(2 * 86_400)
        let engine = RuleReplay.run(rules: set, samples: replayed, until: end).map {
            ReferenceEvaluator.Transition(at: $0.at.nanoseconds, rule: $0.ruleID, series: $0.seriesText, kind: $0.kind.rawValue,
                                          firstHeld: $0.firstHeldAt.nanoseconds)
        }.sorted()
        let reference = ReferenceEvaluator(set: set).run(day)
        #expect(engine.count == reference.count)
        if engine != reference {
            let first = zip(engine, reference).first { $0 != $1 }
            Issue.record("first difference: engine \(first.map { "\($0.0)" } ?? "-") vs reference \(first.map { "\($0.1)" } ?? "-")")
        }
        // Every rule took part: the comparison is not vacuous.
        for rule in set.rules {
            #expect(reference.contains { $0.rule == rule.id && $0.kind == "firing" }, "\(rule.id) never fired")
        }
        for kind in ["pending", "inactive", "resolved"] { #expect(reference.contains { $0.kind == kind }) }
    }
}
