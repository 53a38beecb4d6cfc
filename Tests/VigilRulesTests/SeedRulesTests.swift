import Foundation
import Testing
import VigilConfig
import VigilCore
import VigilRules

/// The seed's twelve rules, loaded from `Config/detection-rules.yaml`, each checked on a crafted series.
@Suite struct SeedRulesTests {
    static let ids = [
        "system_health.cpu_usage", "system_health.memory_usage", "system_health.disk_space",
        "system_health.network_latency", "application_health.terminal_renderer_fps",
        "application_health.eventbus_queue_depth", "application_health.plugin_failure_rate",
        "application_health.sqlite_connection_failures", "security_events.authentication_failures",
        "security_events.plugin_isolation_breach_detected", "security_events.configuration_tampering_detected",
        "security_events.unusual_system_call_patterns",
    ]

    @Test func theSeedBlockYieldsExactlyItsTwelveRules() throws {
        let set = try seedRules()
        #expect(set.rules.map(\.id) == Self.ids)
        // Each rule prints back exactly as the seed wrote it.
        let text = try String(contentsOfFile: seedRulesPath, encoding: .utf8)
        let lines = text.split(separator: "\n").map { $0.trimmingWhitespace() }.filter { $0.hasPrefix("- ") }
            .map { String($0.dropFirst(2)) }
        #expect(lines.count == 12)
        #expect(set.rules.map(\.expression.description) == lines)
        #expect(set.rules.map(\.section) == Array(repeating: "system_health", count: 4)
            + Array(repeating: "application_health", count: 4) + Array(repeating: "security_events", count: 4))
        #expect(set.rules.map(\.expression.kind) == [.threshold, .threshold, .threshold, .threshold, .threshold, .threshold,
                                                     .ratioWindow, .sumWindow, .sumWindow, .occurrence, .occurrence, .occurrence])
        // Every rule points at its own line of the YAML file.
        #expect(set.rules.map { $0.location?.line ?? 0 } == [4, 5, 6, 7, 10, 11, 12, 13, 16, 17, 18, 19])
    }

    // MARK: cpu_usage > 90% for 5 minutes

    let cpu = "system_health.cpu_usage"
    let web1 = ["host": "web-1"]

    @Test func cpuHeldFor4m59sIsNotFiringAndFor5mIs() throws {
        var h = Harness(try seedRules())
        h.series("cpu_usage", 95, unit: "%", labels: web1, from: .zero, to: .seconds(290), every: .seconds(10))
        h.metric("cpu_usage", 95, unit: "%", labels: web1, at: .seconds(299))
        h.advance(to: .seconds(299))
        #expect(!h.isFiring(cpu, web1))
        #expect(h.timeline(cpu) == ["pending@0s"])
        #expect(h.signals.isEmpty)
        h.advance(to: .seconds(300))
        #expect(h.isFiring(cpu, web1))
        #expect(h.timeline(cpu) == ["pending@0s", "firing@300s"])
        let s = try #require(h.signals.first)
        #expect(s.transition == .firing && s.ruleID == cpu && s.labels == web1)
        #expect(s.firstHeldAt == h.t0 && s.at == h.time(.seconds(300)))
        #expect(s.value == 95 && s.unit == "%" && s.expression == "cpu_usage > 90% for 5 minutes")
        #expect(s.section == "system_health" && s.fingerprint == "system_health.cpu_usage{host=\"web-1\"}")
    }

    @Test func aCPUDipReturnsToInactiveAndTheDurationStartsAgain() throws {
        var h = Harness(try seedRules())
        h.series("cpu_usage", 95, unit: "%", labels: web1, from: .zero, to: .seconds(170), every: .seconds(10))
        h.metric("cpu_usage", 85, unit: "%", labels: web1, at: .seconds(180))
        h.series("cpu_usage", 96, unit: "%", labels: web1, from: .seconds(190), to: .seconds(480), every: .seconds(10))
        h.advance(to: .seconds(489))
        #expect(!h.isFiring(cpu, web1))
        h.advance(to: .seconds(490))
        #expect(h.timeline(cpu) == ["pending@0s", "inactive@180s", "pending@190s", "firing@490s"])
        #expect(h.signals.map(\.firstHeldAt) == [h.time(.seconds(190))])
    }

    @Test func aSampleBreakingExactlyAtTheDeadlinePreventsFiring() throws {
        var h = Harness(try seedRules())
        h.series("cpu_usage", 95, unit: "%", labels: web1, from: .zero, to: .seconds(290), every: .seconds(10))
        h.metric("cpu_usage", 80, unit: "%", labels: web1, at: .seconds(300))
        h.advance(to: .seconds(900))
        #expect(h.timeline(cpu) == ["pending@0s", "inactive@300s"])
        #expect(h.signals.isEmpty)
    }

    @Test func cpuResolvesWhenTheConditionClearsOrTheSeriesGoesStale() throws {
        var h = Harness(try seedRules())
        h.series("cpu_usage", 0.97, unit: "ratio", labels: web1, from: .zero, to: .seconds(360), every: .seconds(10))
        h.metric("cpu_usage", 50, unit: "%", labels: web1, at: .seconds(400))
        #expect(h.timeline(cpu) == ["pending@0s", "firing@300s", "resolved@400s"])
        #expect(h.signals.map(\.transition) == [.firing, .resolved])
        #expect(h.signals[1].firstHeldAt == h.t0 && h.signals[1].value == 50)

        // A second episode whose detector then stops: resolved once the last sample is 5 minutes old.
        h.series("cpu_usage", 99, unit: "%", labels: web1, from: .seconds(1000), to: .seconds(1300), every: .seconds(10))
        h.advance(to: .seconds(1599))
        #expect(h.isFiring(cpu, web1))
        h.advance(to: .seconds(1600))
        #expect(h.timeline(cpu).suffix(3) == ["pending@1000s", "firing@1300s", "resolved@1600s"])
        #expect(h.transitions.last?.cause == .stale)
    }

    // MARK: memory_usage > 95% for 3 minutes

    @Test func memoryMustStayAbove95PercentForThreeMinutes() throws {
        var h = Harness(try seedRules())
        let m = "system_health.memory_usage"
        h.series("memory_usage", 95, unit: "%", labels: ["host": "a"], from: .zero, to: .seconds(600), every: .seconds(15))
        #expect(h.transitions(of: m).isEmpty) // exactly 95% is not above 95%
        h.series("memory_usage", 96, unit: "%", labels: ["host": "b"], from: .zero, to: .seconds(165), every: .seconds(15))
        h.advance(to: .seconds(179))
        #expect(!h.isFiring(m, ["host": "b"]))
        h.advance(to: .seconds(180))
        #expect(h.isFiring(m, ["host": "b"]))
    }

    // MARK: disk_space < 10% available

    @Test func diskSpaceBelowTenPercentFiresOnTheSampleAndResolvesOnTheNext() throws {
        var h = Harness(try seedRules())
        let d = "system_health.disk_space"
        let root = ["disk": "/"]
        h.metric("disk_space", 12, unit: "%", labels: root, at: .zero)
        h.metric("disk_space", 9.5, unit: "%", labels: root, at: .seconds(60))
        h.metric("disk_space", 10, unit: "%", labels: root, at: .seconds(120))
        h.metric("disk_space", 0.05, unit: "ratio", labels: ["disk": "/var"], at: .seconds(130))
        #expect(h.timeline(d) == ["firing@60s", "resolved@120s", "firing@130s"])
        #expect(h.signals.map(\.fingerprint) == ["system_health.disk_space{disk=\"/\"}", "system_health.disk_space{disk=\"/\"}",
                                                 "system_health.disk_space{disk=\"/var\"}"])
    }

    // MARK: network_latency > 5000ms consistently

    @Test func consistentlyIsTheConfiguredDuration() throws {
        for (consistently, fires) in [(Duration.seconds(300), 300), (.seconds(120), 120)] {
            var h = Harness(try seedRules(consistently: consistently))
            let n = "system_health.network_latency"
            h.series("network_latency", 5.2, unit: "s", from: .zero, to: .seconds(400), every: .seconds(20))
            #expect(h.timeline(n) == ["pending@0s", "firing@\(fires)s"])
        }
        var h = Harness(try seedRules())
        h.series("network_latency", 5000, unit: "ms", from: .zero, to: .seconds(400), every: .seconds(20))
        #expect(h.transitions.isEmpty) // 5000ms is not above 5000ms
    }

    // MARK: terminal_renderer fps < 10 for 30 seconds

    @Test func terminalRendererFPSIsTheComponentsFPS() throws {
        var h = Harness(try seedRules())
        let f = "application_health.terminal_renderer_fps"
        let renderer = ["component": "terminal_renderer"]
        h.series("fps", 8, labels: ["component": "status_bar"], from: .zero, to: .seconds(60), every: .seconds(5))
        h.series("fps", 8, labels: renderer, from: .zero, to: .seconds(25), every: .seconds(5))
        h.advance(to: .seconds(29))
        #expect(!h.isFiring(f, renderer))
        h.advance(to: .seconds(30))
        #expect(h.timeline(f) == ["pending@0s", "firing@30s"])
        #expect(h.transitions(of: f).allSatisfy { $0.series == renderer })
    }

    // MARK: eventbus_queue_depth > 1000 messages

    @Test func queueDepthInMessagesFiresPerLane() throws {
        var h = Harness(try seedRules())
        let q = "application_health.eventbus_queue_depth"
        h.metric("eventbus_queue_depth", 1000, unit: "messages", labels: ["lane": "security"], at: .zero)
        h.metric("eventbus_queue_depth", 1001, unit: "messages", labels: ["lane": "telemetry"], at: .seconds(5))
        h.metric("eventbus_queue_depth", 5000, unit: "bytes", labels: ["lane": "incident"], at: .seconds(5))
        h.metric("eventbus_queue_depth", 2000, labels: ["lane": "incident"], at: .seconds(10))
        #expect(h.timeline(q) == ["firing@5s", "firing@10s"])
        #expect(h.signals.map(\.fingerprint) == ["application_health.eventbus_queue_depth{lane=\"telemetry\"}",
                                                 "application_health.eventbus_queue_depth{lane=\"incident\"}"])
        #expect(h.engine.statistics.unitMismatches == 1) // bytes are not messages
    }

    // MARK: plugin_failure_rate > 10% in 5 minutes

    let rate = "application_health.plugin_failure_rate"

    @Test func failureRateIsFailuresOverAttemptsInTheWindow() throws {
        var h = Harness(try seedRules())
        let dns = ["plugin": "dns"]
        h.series("plugin_failure_rate", 0, labels: dns, from: .zero, to: .seconds(80), every: .seconds(10))
        h.metric("plugin_failure_rate", 1, labels: dns, at: .seconds(90))
        #expect(h.transitions(of: rate).isEmpty) // 1 of 10 attempts is not above 10%
        h.metric("plugin_failure_rate", 1, labels: dns, at: .seconds(100))
        #expect(h.timeline(rate) == ["firing@100s"]) // 2 of 11
        h.series("plugin_failure_rate", 0, labels: dns, from: .seconds(110), to: .seconds(200), every: .seconds(10))
        #expect(h.timeline(rate) == ["firing@100s", "resolved@190s"]) // 2 of 20 is 10% again
        #expect(h.signals.first?.value ?? 0 > 18 && h.signals.first?.unit == "%")
        #expect(h.signals.first?.fingerprint == "application_health.plugin_failure_rate{plugin=\"dns\"}")
    }

    @Test func failureRateMovesWhenAttemptsLeaveTheWindow() throws {
        var h = Harness(try seedRules())
        let web = ["plugin": "web"]
        h.signal("plugin_failure_rate", labels: web, at: .zero) // a signal is a failed attempt
        h.advance(to: .seconds(299))
        #expect(h.isFiring(rate, web))
        h.advance(to: .seconds(300))
        #expect(h.timeline(rate) == ["firing@0s", "resolved@300s"])

        let db = ["plugin": "db"]
        h.series("plugin_failure_rate", 0, labels: db, from: .seconds(1000), to: .seconds(1090), every: .seconds(10))
        h.metric("plugin_failure_rate", 100, unit: "%", labels: db, at: .seconds(1100)) // 1 of 11
        h.advance(to: .seconds(1309))
        #expect(!h.isFiring(rate, db)) // 1 of 10 once the attempt at 1000s has left
        h.advance(to: .seconds(1310))
        #expect(h.isFiring(rate, db)) // 1 of 9 once the attempt at 1010s has left too
        #expect(h.transitions(of: rate).last?.at == h.time(.seconds(1310)))
    }

    @Test func failureRateFiresOnThePluginHostsPublishedRatio() throws {
        // The plugin host publishes its own failures/attempts ratio (0…1, no unit) every 15 s; the
        // rule averages it over the window, so a crash loop at 50% fires once it outweighs the quiet.
        var h = Harness(try seedRules())
        let p = ["plugin": "flaky"]
        h.series("plugin_failure_rate", 0, labels: p, from: .seconds(15), to: .seconds(285), every: .seconds(15))
        h.series("plugin_failure_rate", 0.5, labels: p, from: .seconds(300), to: .seconds(345), every: .seconds(15))
        #expect(!h.isFiring(rate, p)) // 2/20 = 10%
        h.metric("plugin_failure_rate", 0.5, labels: p, at: .seconds(360))
        #expect(h.timeline(rate) == ["firing@360s"])
    }

    // MARK: sqlite_connection_failures > 5 in 1 minute

    let sqlite = "application_health.sqlite_connection_failures"

    @Test func sqliteFailuresAreCountedExactlyInASlidingMinute() throws {
        var h = Harness(try seedRules())
        for s in stride(from: 0, through: 40, by: 10) { h.signal("sqlite_connection_failures", at: .seconds(s)) }
        h.signal("sqlite_connection_failures", at: .seconds(60)) // the one at 0 s has just left: 5
        #expect(h.transitions(of: sqlite).isEmpty)
        h.signal("sqlite_connection_failures", at: .milliseconds(69_999)) // 10…69.999 s: 6
        #expect(h.timeline(sqlite) == ["firing@69999ms"])
        h.advance(to: .seconds(70)) // the one at 10 s leaves: 5
        #expect(h.timeline(sqlite) == ["firing@69999ms", "resolved@70s"])
        #expect(h.signals.map(\.value) == [6, 5])
    }

    @Test func sqliteFailureCountsCanArriveAsSamples() throws {
        var h = Harness(try seedRules())
        h.metric("sqlite_connection_failures", 3, at: .zero)
        h.metric("sqlite_connection_failures", 3, at: .seconds(30))
        #expect(h.timeline(sqlite) == ["firing@30s"])
    }

    // MARK: authentication_failures > 20 in 1 minute

    @Test func authenticationFailuresAcrossUsersMakeOneAlert() throws {
        var h = Harness(try seedRules())
        let a = "security_events.authentication_failures"
        for i in 0..<20 { h.signal("authentication_failures", labels: ["user": "u\(i)"], at: .seconds(i * 2)) }
        #expect(h.transitions(of: a).isEmpty)
        h.signal("authentication_failures", labels: ["user": "u20"], at: .seconds(40))
        #expect(h.timeline(a) == ["firing@40s"])
        #expect(h.signals.first?.fingerprint == a && h.signals.first?.labels == [:])
        #expect(h.signals.first?.firstHeldAt == h.time(.seconds(40)))
    }

    // MARK: the three signals

    @Test func aBreachFiresImmediatelyOnEveryOccurrenceAndNeverResolvesByItself() throws {
        var h = Harness(try seedRules())
        let b = "security_events.plugin_isolation_breach_detected"
        h.signal("plugin_isolation_breach_detected", labels: ["plugin": "dns", "syscall": "ptrace"], at: .seconds(10))
        h.signal("plugin_isolation_breach_detected", labels: ["plugin": "dns", "syscall": "mount"], at: .seconds(20))
        h.advance(to: .seconds(7200))
        #expect(h.timeline(b) == ["firing@10s", "firing@20s"])
        #expect(h.signals.map(\.fingerprint) == Array(repeating: "\(b){plugin=\"dns\"}", count: 2))
        #expect(h.signals[0].labels == ["plugin": "dns", "syscall": "ptrace"])
        #expect(h.signals[0].firstHeldAt == h.time(.seconds(10)) && h.signals[0].at == h.time(.seconds(10)))
    }

    @Test func tamperingAndUnusualSyscallsFireOnOccurrencesNotOnZeroSamples() throws {
        var h = Harness(try seedRules())
        h.metric("configuration_tampering_detected", 0, at: .zero)
        h.signal("configuration_tampering_detected", labels: ["path": "/etc/vigil/vigil.yaml"], at: .seconds(1))
        h.metric("unusual_system_call_patterns", 3, labels: ["plugin": "dns"], at: .seconds(2))
        #expect(h.timeline("security_events.configuration_tampering_detected") == ["firing@1s"])
        #expect(h.timeline("security_events.unusual_system_call_patterns") == ["firing@2s"])
        #expect(h.signals.map(\.value) == [1, 3])
    }
}
