import Foundation
import Testing
import VigilCore
@testable import VigilRules

/// The recorder behind `vigil rules suggest` (bounded rings, lead-in, follow-up, truncation) and
/// the suggestion logic itself, fed samples directly.
@Suite struct RuleSampleRecorderTests {
    let t0 = Timestamp(nanoseconds: 1_767_603_600_000_000_000) // 2026-01-05T09:00:00Z

    func event(_ symbols: SymbolTable, _ name: String, _ value: Double, host: String = "web-1", at seconds: Int) -> Event {
        Event(kind: .metric, lane: .telemetry, name: symbols.intern(name), value: value, unit: .none, source: symbols.intern("cli:root"),
              labels: symbols.intern(labels: ["host": host]), time: t0 + .seconds(seconds))
    }

    func firing(_ rule: String, host: String = "web-1", firstHeld: Int, at: Int) -> RuleSignal {
        RuleSignal(transition: .firing, ruleID: rule, expression: "", labels: ["host": host],
                   fingerprint: "\(rule){host=\"\(host)\"}", value: 0, firstHeldAt: t0 + .seconds(firstHeld), at: t0 + .seconds(at))
    }

    @Test func ringsAreBoundedInCountAndBytes() throws {
        let symbols = SymbolTable()
        let set = try rules("cpu_usage > 90 for 1 minute", "load > 5", "mem > 1")
        var byCount = RuleSampleRecorder(rules: set, symbols: symbols, settings: SampleRecordingSettings(samplesPerRule: 100))
        byCount.record((0..<1000).map { event(symbols, "cpu_usage", Double($0), at: $0) })
        #expect(byCount.held == 100)
        // The newest are kept.
        var kept: [Double] = []
        byCount.rings.forEach(ring: 0, from: .min) { kept.append($0.value) }
        #expect(kept.first == 900 && kept.last == 999)

        // 3 rings in 12,000 bytes: 100 samples of 40 bytes each.
        var byBytes = RuleSampleRecorder(rules: set, symbols: symbols, settings: SampleRecordingSettings(maxBytes: 12_000))
        for name in ["cpu_usage", "load", "mem", "unwatched"] {
            byBytes.record((0..<1000).map { event(symbols, name, Double($0), at: $0) })
        }
        #expect(byBytes.held == 300)
        #expect(byBytes.capacityBytes <= 12_000)

        var off = RuleSampleRecorder(rules: set, symbols: symbols, settings: SampleRecordingSettings(enabled: false))
        off.record((0..<10).map { event(symbols, "cpu_usage", 1, at: $0) })
        #expect(off.held == 0)
    }

    @Test func firingHandsOutTheLeadInOfItsGroupThenFollowsUntilResolved() throws {
        let symbols = SymbolTable()
        let set = try rules("cpu_usage > 90 for 1 minute")
        var r = RuleSampleRecorder(rules: set, symbols: symbols,
                                   settings: SampleRecordingSettings(perIncident: 50, leadInMargin: .seconds(30)))
        // Samples every 10 s for 10 minutes, from two hosts.
        for s in stride(from: 0, to: 600, by: 10) {
            r.record([event(symbols, "cpu_usage", 50, at: s), event(symbols, "cpu_usage", 50, host: "web-2", at: s)])
        }
        // Held from 500 s, fires at 560 s: the lead-in reaches back 1 minute + 30 s before 500 s.
        r.observe([firing("r1", firstHeld: 500, at: 560)])
        var out = r.drain()
        #expect(out.count == 1)
        let lead = try #require(out.first)
        #expect(lead.events.allSatisfy { symbols.labels($0.labels)["host"] == "web-1" })
        #expect(lead.events.first?.time == t0 + .seconds(410) && lead.events.last?.time == t0 + .seconds(590))
        #expect(lead.leadInFrom == t0 + .seconds(410))
        #expect(r.activeFingerprints == ["r1{host=\"web-1\"}"])

        // While firing: only the group's samples, up to the bound, then truncated.
        for s in stride(from: 600, to: 1200, by: 10) {
            r.record([event(symbols, "cpu_usage", 95, at: s), event(symbols, "cpu_usage", 95, host: "web-2", at: s)])
        }
        out = r.drain()
        #expect(out.count == 1 && out[0].events.count == 50 - lead.events.count)
        let lastHandedOut = try #require(out[0].events.last?.time)
        var resolved = firing("r1", firstHeld: 500, at: 1200)
        resolved.transition = .resolved
        r.observe([resolved])
        out = r.drain()
        #expect(out.count == 1 && out[0].endedAt == t0 + .seconds(1200) && out[0].truncated)
        #expect(r.activeFingerprints.isEmpty)

        // A second episode of the same alert never repeats a sample already handed out.
        r.observe([firing("r1", firstHeld: 1190, at: 1250)])
        out = r.drain()
        #expect(out.count == 1 && !out[0].events.isEmpty && out[0].events.allSatisfy { $0.time > lastHandedOut })
    }

    @Test func groupingMatchesTheEngine() throws {
        let rule = Rule(id: "r", expression: try RuleParser.parse("cpu_usage > 1"))
        #expect(RuleGrouping.fingerprint(rule: rule, labels: ["host": "a", "user": "x"], source: "cli:root") == "r{host=\"a\"}")
        #expect(RuleGrouping.fingerprint(rule: rule, labels: ["host": "a"], source: "plugin:m") == "r{host=\"a\", source=\"plugin:m\"}")
        var series = rule
        series.groupBy = .series
        #expect(RuleGrouping.fingerprint(rule: series, labels: ["k": "v"], source: "cli:root") == "r{k=\"v\", source=\"cli:root\"}")
        var none = rule
        none.groupBy = .labels([])
        #expect(RuleGrouping.fingerprint(rule: none, labels: ["host": "a"], source: "") == "r")
    }
}

@Suite struct RuleSuggestionTests {
    @Test func roundingNeverMakesANonFiniteThreshold() {
        for v in [1e-320, -1e-320, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1e308, 93.4] {
            #expect(RuleSuggestion.roundUp(v).isFinite, "\(v)")
            #expect(RuleSuggestion.roundUp(v) >= v, "\(v)")
        }
        #expect(RuleSuggestion.roundUp(93.41) == 93.5)
    }

    let t0 = Timestamp(nanoseconds: 1_767_603_600_000_000_000)

    /// One sample every 10 seconds with these values, from `start` seconds.
    func samples(_ values: [Double], start: Int = 0) -> [ReplaySample] {
        values.enumerated().map {
            ReplaySample(kind: .metric, name: "cpu_usage", value: $0.element, unit: "%", labels: ["host": "web-1"],
                         time: t0 + .seconds(start + $0.offset * 10))
        }
    }

    func incident(_ id: String, _ values: [Double], falsePositive: String? = nil) -> IncidentSamples {
        IncidentSamples(id: id, title: "High CPU \(id)", state: "resolved", falsePositive: falsePositive, finished: true,
                        samples: samples(values))
    }

    @Test func proposesTheSmallestThresholdThatAvoidsTheFalsePositivesAndMissesNoRealOne() throws {
        let set = try rules("cpu_usage > 90% for 30 seconds")
        let rule = set.rules[0]
        let history = [
            // Backups: 92–94% for a while.
            incident("FP-1", [50, 92, 93, 94, 93, 92, 50], falsePositive: "nightly backup"),
            incident("FP-2", [50, 91, 93, 92, 91, 50], falsePositive: "nightly backup"),
            // Real: 99%.
            incident("REAL-1", [50, 99, 99, 99, 99, 50]),
            incident("REAL-2", [60, 97, 98, 99, 98, 97, 60]),
            IncidentSamples(id: "NONE", title: "t", state: "resolved", falsePositive: nil, finished: true, samples: []),
        ]
        let report = RuleSuggestion.suggest(rule: rule, in: set, incidents: history)
        #expect(report.falsePositives == ["FP-1", "FP-2"])
        #expect(report.real == ["REAL-1", "REAL-2"])
        #expect(report.notJudged["NONE"] == "no recorded samples")
        let best = try #require(report.candidates.first)
        #expect(best.missed.isEmpty && Set(best.avoided) == ["FP-1", "FP-2"], "\(report.candidates)")
        // Above 92%, FP-1 holds for 20 s only (93, 94, 93) and FP-2 for 0: 92% avoids both, 91% does not.
        #expect(best.text == "cpu_usage > 92% for 30 seconds", "\(best)")
        #expect(best.change == "threshold 90% → 92%")
        // Every candidate that misses a real incident is ranked after every one that does not.
        let firstMissing = report.candidates.firstIndex { !$0.missed.isEmpty } ?? report.candidates.count
        #expect(report.candidates[firstMissing...].allSatisfy { !$0.missed.isEmpty })
        #expect(report.candidates.contains { $0.change.hasPrefix("for 30 seconds → for") })
    }

    @Test func aLongerForThatWouldMissARealIncidentIsShownAsSuch() throws {
        let set = try rules("cpu_usage > 90% for 30 seconds")
        let history = [
            // A long false positive at a very high value: only a longer `for` that also loses REAL-1 avoids it.
            incident("FP-1", [50, 99, 99, 99, 99, 50], falsePositive: "load test"),
            incident("REAL-1", [50, 95, 96, 95, 96, 50]),
        ]
        let report = RuleSuggestion.suggest(rule: set.rules[0], in: set, incidents: history)
        #expect(!report.candidates.isEmpty)
        for c in report.candidates {
            #expect(c.avoided == ["FP-1"])
            #expect(c.missed == ["REAL-1"], "\(c)")
        }
    }

    @Test func countWindowsGetAHigherCountOrAShorterWindow() throws {
        let set = try rules("authentication_failures > 5 in 5 minutes")
        func burst(_ id: String, _ count: Int, every seconds: Int, fp: String?) -> IncidentSamples {
            IncidentSamples(id: id, title: id, state: "closed", falsePositive: fp, finished: true, samples: (0..<count).map {
                ReplaySample(kind: .signal, name: "authentication_failures", labels: ["host": "h"], time: t0 + .seconds($0 * seconds))
            })
        }
        let history = [burst("FP", 8, every: 30, fp: "password rotation"), burst("REAL", 40, every: 2, fp: nil)]
        let report = RuleSuggestion.suggest(rule: set.rules[0], in: set, incidents: history)
        let texts = report.candidates.filter { $0.missed.isEmpty }.map(\.text)
        #expect(texts.contains("authentication_failures > 8 in 5 minutes"), "\(report.candidates)")
        #expect(texts.contains { $0.hasSuffix("in 2 minutes") || $0.hasSuffix("in 1 minute") }, "\(texts)")
    }

    @Test func anIncidentTheCurrentRuleDoesNotFireOnIsNotJudged() throws {
        let set = try rules("cpu_usage > 90% for 30 seconds")
        let report = RuleSuggestion.suggest(rule: set.rules[0], in: set, incidents: [
            incident("FP", [50, 95, 50], falsePositive: "blip"),
            IncidentSamples(id: "OPEN", title: "o", state: "mobilised", falsePositive: nil, finished: false, samples: samples([99, 99, 99, 99])),
        ])
        #expect(report.notJudged["FP"] == "the current rule does not fire on its recorded samples")
        #expect(report.notJudged["OPEN"] == "still open (mobilised)")
        #expect(report.candidates.isEmpty)
    }
}

extension RuleSampleRecorderTests {
    /// Several alerts of one rule recorded at once: every sample of each group is kept, one event at a time or in batches.
    @Test func everyGroupOfSeveralEpisodesKeepsEverySample() throws {
        let symbols = SymbolTable()
        let set = try rules("cpu_usage > 90 for 20 seconds")
        var r = RuleSampleRecorder(rules: set, symbols: symbols)
        let hosts = ["a", "b", "c", "d"]
        for s in stride(from: 0, to: 30, by: 5) { r.record(hosts.map { event(symbols, "cpu_usage", 95, host: $0, at: s) }) }
        r.observe(hosts.map { firing("r1", host: $0, firstHeld: 0, at: 30) })
        var counts: [String: Int] = [:]
        for b in r.drain() { counts[b.fingerprint, default: 0] += b.events.count }
        #expect(counts.values.allSatisfy { $0 == 6 }, "\(counts)")
        counts = [:]
        for s in stride(from: 30, to: 60, by: 5) {
            for h in hosts { r.record([event(symbols, "cpu_usage", 95, host: h, at: s)]) }
            for b in r.drain() { counts[b.fingerprint, default: 0] += b.events.count }
        }
        #expect(counts.count == 4 && counts.values.allSatisfy { $0 == 6 }, "\(counts)")
    }
}
