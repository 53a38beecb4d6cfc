import Testing
import VigilConfig
import VigilCore
import VigilRules

@Suite struct EngineBehaviourTests {
    @Test func keepFiringForHoldsAnAlertThroughShortDips() throws {
        var h = Harness(try rules("x > 5 keep_firing_for 2 minutes"))
        h.metric("x", 6, at: .zero)
        h.metric("x", 1, at: .seconds(30))
        h.metric("x", 6, at: .seconds(100)) // back within 2 minutes: still the same alert
        h.metric("x", 1, at: .seconds(200))
        h.advance(to: .seconds(319))
        #expect(h.timeline("r1") == ["firing@0s"])
        h.advance(to: .seconds(320))
        #expect(h.timeline("r1") == ["firing@0s", "resolved@320s"])
        #expect(h.transitions.last?.cause == .keepFiringExpired)
        #expect(h.signals.map(\.firstHeldAt) == [h.t0, h.t0])
    }

    @Test func anAlertGroupResolvesWhenItsLastSeriesDoes() throws {
        var h = Harness(try rules("cpu > 90"))
        let core0 = ["host": "a", "cpu": "0"], core1 = ["host": "a", "cpu": "1"]
        h.metric("cpu", 95, labels: core0, at: .zero)
        h.metric("cpu", 97, labels: core1, at: .seconds(10))
        h.metric("cpu", 20, labels: core0, at: .seconds(20))
        #expect(h.signals.map(\.transition) == [.firing, .firing])
        h.metric("cpu", 20, labels: core1, at: .seconds(30))
        #expect(h.signals.map(\.transition) == [.firing, .firing, .resolved])
        #expect(Set(h.signals.map(\.fingerprint)) == ["r1{host=\"a\"}"])
        #expect(h.signals[2].firstHeldAt == h.t0 && h.signals[2].at == h.time(.seconds(30)))
        #expect(h.transitions.filter { $0.kind == .resolved }.count == 2) // per series for the replay tool
    }

    @Test func groupByDecidesTheFingerprint() throws {
        let e = try RuleParser.parse("cpu > 90")
        let set = RuleSet(rules: [Rule(id: "each", expression: e, groupBy: .series),
                                  Rule(id: "all", expression: e, groupBy: .labels([])),
                                  Rule(id: "byrack", expression: e, groupBy: .labels(["rack"]))])
        var h = Harness(set)
        h.metric("cpu", 95, labels: ["host": "a", "rack": "r1"], at: .zero)
        h.metric("cpu", 95, labels: ["host": "b", "rack": "r1"], source: "plugin:m", at: .zero)
        // A plugin's series keep the plugin that sent them, whatever the grouping (see below).
        #expect(h.signals.map(\.fingerprint) == ["each{host=\"a\", rack=\"r1\"}", "all", "byrack{rack=\"r1\"}",
                                                 "each{host=\"b\", rack=\"r1\", source=\"plugin:m\"}",
                                                 "all{source=\"plugin:m\"}", "byrack{rack=\"r1\", source=\"plugin:m\"}"])
    }

    /// Issue 16, provenance: a detector sent the seed's `authentication_failures` labelled
    /// `service=webhook`, and the incident named only the webhook. The alert carries the plugin
    /// that really sent the series (the daemon's stamp, `source`), one plugin's events never count
    /// towards another's alert, and the same plugin's signals still make one alert.
    @Test func aPluginsSignalsCarryThePluginThatSentThemAndDedupPerSender() throws {
        var h = Harness(try rules("authentication_failures > 2 in 1 minute"))
        let forged = ["service": "webhook"]
        for i in 0..<3 { h.signal("authentication_failures", labels: forged, source: "plugin:attacker", at: .seconds(Int64(i))) }
        for i in 0..<2 { h.signal("authentication_failures", labels: forged, source: "plugin:auth-watch", at: .seconds(Int64(10 + i))) }
        let fired = h.signals.filter { $0.transition == .firing }
        #expect(fired.map(\.fingerprint) == ["r1{service=\"webhook\", source=\"plugin:attacker\"}"])
        #expect(fired.first?.labels == ["service": "webhook", "source": "plugin:attacker"])
        // The attacker's three did not fill auth-watch's window: its third is its own first firing.
        h.signal("authentication_failures", labels: forged, source: "plugin:auth-watch", at: .seconds(12))
        h.signal("authentication_failures", labels: forged, source: "plugin:attacker", at: .seconds(13))
        #expect(h.signals.filter { $0.transition == .firing }.map { $0.labels["source"] } == ["plugin:attacker", "plugin:auth-watch"])
        #expect(Set(h.signals.map(\.fingerprint)).count == 2)
        // The daemon's own events (and the CLI's) group as the rule says.
        var d = Harness(try rules("authentication_failures > 0 in 1 minute"))
        d.signal("authentication_failures", labels: forged, source: "cli:alice", at: .zero)
        #expect(d.signals.map(\.fingerprint) == ["r1{service=\"webhook\"}"])
    }

    @Test func unitsConvertWithinTheirDimensionAndOnlyThere() throws {
        var h = Harness(try rules("mem > 1 GiB", "lat > 250ms", "n > 3"))
        h.metric("mem", 1000, unit: "MB", at: .zero)          // 1.0e9 bytes < 1 GiB
        h.metric("mem", 1_048_577, unit: "KiB", at: .seconds(1)) // just above 1 GiB
        h.metric("lat", 300_000, unit: "us", at: .seconds(2))
        h.metric("lat", 9, unit: "bytes", at: .seconds(3))     // not a duration: ignored
        h.metric("n", 4, unit: "furlongs", at: .seconds(4))    // a unit-less rule takes any unit as is
        #expect(h.timeline("r1") == ["firing@1s"])
        #expect(h.timeline("r2") == ["firing@2s"])
        #expect(h.timeline("r3") == ["firing@4s"])
        #expect(h.engine.statistics.unitMismatches == 1)
        // Signals report the value in the rule's unit: 1,048,577 KiB is just over 1 GiB.
        #expect((h.signals.first?.value ?? 0) > 1 && (h.signals.first?.value ?? 2) < 1.001 && h.signals.first?.unit == "GiB")
    }

    @Test func stateNeverRunsBackwardsAndFutureTimesAreNow() throws {
        var h = Harness(try rules("x > 5 for 1 minute"))
        h.metric("x", 6, at: .zero)
        h.metric("x", 6, at: .seconds(30))
        h.advance(to: .seconds(60))
        // A sample that arrives late is applied at the latest time the series has reached.
        h.metric("x", 1, at: .seconds(50))
        #expect(h.timeline("r1") == ["pending@0s", "firing@60s", "resolved@60s"])

        var g = Harness(try rules("y > 5"))
        g.clock.set(g.time(.seconds(100)))
        let e = Event(kind: .metric, lane: .telemetry, name: g.symbols.intern("y"), value: 9, time: g.time(.seconds(1000)))
        let out = g.engine.ingest(e)
        #expect(out.first?.at == g.time(.seconds(100)))
    }

    @Test func absenceIsJudgedOnlyAfterAWholeWindow() throws {
        var h = Harness(try rules("requests < 5 in 1 minute"))
        for s in stride(from: 0, through: 40, by: 10) { h.signal("requests", at: .seconds(s)) }
        #expect(h.transitions.isEmpty) // fewer than 5 at first, but not yet watched for a minute
        h.advance(to: .seconds(59))
        #expect(h.transitions.isEmpty)
        h.advance(to: .seconds(60)) // the one at 0 s leaves: 4
        #expect(h.timeline("r1") == ["firing@60s"])
        h.signal("requests", at: .seconds(65))
        #expect(h.timeline("r1") == ["firing@60s", "resolved@65s"])
        h.advance(to: .seconds(3600))
        #expect(h.timeline("r1") == ["firing@60s", "resolved@65s", "firing@70s"])
    }

    @Test func stateIsKeptOnlyWhileSomethingIsPendingFiringOrInAWindow() throws {
        var h = Harness(try rules("x > 5 for 1 minute", "y > 2 in 1 minute"))
        for i in 0..<1000 {
            h.metric("x", i % 2 == 0 ? 9 : 1, labels: ["host": "h\(i)"], at: .seconds(i))
            h.signal("y", labels: ["host": "h\(i % 50)"], at: .seconds(i))
        }
        #expect(h.engine.footprint.series == 1050)
        h.advance(to: .seconds(2000))
        let f = h.engine.footprint
        #expect(f.thresholdStates == 0 && f.windowStates == 0 && f.windowEntries == 0 && f.timers == 0)
        #expect(h.engine.nextDue == nil)
    }

    @Test func durationsBeyondTheEndOfTimeNeverWrapAround() throws {
        var h = Harness(try rules("x > 1 for 13000 weeks", "y > 1 keep_firing_for 13000 weeks"))
        h.metric("x", 2, at: .zero)
        h.metric("y", 2, at: .zero)
        h.metric("y", 0, at: .seconds(1))
        h.advance(to: .seconds(100_000))
        #expect(h.timeline("r1") == ["pending@0s", "inactive@300s"]) // went stale long before
        #expect(h.timeline("r2") == ["firing@0s"])
    }

    @Test func nextDueIsTheNextTimerAndSourceMatchesTheEventsSource() throws {
        var h = Harness(try rules("x{source=\"plugin:a\"} > 5 for 2 minutes"))
        h.metric("x", 9, source: "plugin:b", at: .zero)
        #expect(h.engine.nextDue == nil)
        h.metric("x", 9, source: "plugin:a", at: .seconds(10))
        #expect(h.engine.nextDue == h.time(.seconds(130)))
        h.metric("x", 9, labels: ["source": "plugin:a"], source: "plugin:c", at: .seconds(20))
        #expect(h.transitions.map(\.series) == [["source": "plugin:a"], ["source": "plugin:a"]])
    }
}

@Suite struct ReplayTests {
    @Test func timersRunBetweenSamplesOnTheRecordingsOwnClock() throws {
        let set = try rules("cpu > 90% for 5 minutes")
        let t0 = Timestamp(nanoseconds: 1_767_603_600_000_000_000)
        let labels = ["host": "a"]
        let samples = [0, 240, 900].map {
            ReplaySample(kind: .metric, name: "cpu", value: 95, unit: "%", labels: labels, time: t0 + .seconds($0))
        }
        let lines = RuleReplay.run(rules: set, samples: samples).map(\.description)
        #expect(lines == [
            "2026-01-05T09:00:00.000Z pending r1{host=\"a\"} value 95%",
            "2026-01-05T09:05:00.000Z firing r1{host=\"a\"} value 95% since 2026-01-05T09:00:00.000Z",
            "2026-01-05T09:09:00.000Z resolved r1{host=\"a\"} value 95% since 2026-01-05T09:00:00.000Z (stale)",
            "2026-01-05T09:15:00.000Z pending r1{host=\"a\"} value 95%",
        ])
    }

    @Test(arguments: [
        ("{\"name\":\"x\",\"value\":1}", "missing \"time\": a replayed sample needs its own time (epoch seconds or RFC 3339)"),
        ("{\"name\":\"x\",\"time\":\"yesterday\"}", "\"time\" must be epoch seconds or RFC 3339 like 2026-01-05T09:00:00Z, found \"yesterday\""),
        ("{\"name\":\"x\",\"value\":\"high\",\"time\":1}", "\"value\" must be a number or null, found \"high\""),
        ("{\"name\":\"9x\",\"time\":1}", "\"name\" must be a metric or signal name (letters, digits, '_' and ':'), found \"9x\""),
        ("{\"time\":1}", "missing \"name\""),
        ("{\"name\":\"x\",\"labels\":{\"a\":1},\"time\":1}", "label \"a\" must be a string, found 1"),
        ("{\"name\":\"x\",\"kind\":\"metric\",\"time\":1}", "a metric needs a numeric \"value\""),
        ("[1,2]", "expected a JSON object like {\"name\":…,\"time\":…}"),
        ("{\"name\":", "not a JSON object"),
    ])
    func badLinesSayWhatIsWrong(line: String, message: String) throws {
        guard case .failure(let e)? = SampleRecording.parse(line: line, number: 7, file: "s.ndjson") else {
            Issue.record("\(line) should be refused")
            return
        }
        #expect(e.description.hasPrefix("s.ndjson:7: " + message))
    }

    @Test func goodLinesInEveryAcceptedForm() throws {
        #expect(SampleRecording.parse(line: "   ", number: 1, file: "f") == nil)
        let a = try #require(try SampleRecording.parse(line: "{\"name\":\"x\",\"value\":2.5,\"unit\":\"ms\",\"time\":1767603600.25,\"lane\":\"telemetry\"}",
                                                     number: 1, file: "f")?.get())
        #expect(a == ReplaySample(kind: .metric, name: "x", value: 2.5, unit: "ms", time: Timestamp(seconds: 1_767_603_600.25)))
        let b = try #require(try SampleRecording.parse(line: "{\"name\":\"breach\",\"value\":null,\"labels\":{\"plugin\":\"dns\"},\"source\":\"s\",\"time\":\"2026-01-05T10:00:00+01:00\"}",
                                                     number: 2, file: "f")?.get())
        #expect(b == ReplaySample(kind: .signal, name: "breach", labels: ["plugin": "dns"], source: "s",
                                  time: Timestamp(nanoseconds: 1_767_603_600_000_000_000)))
    }
}
