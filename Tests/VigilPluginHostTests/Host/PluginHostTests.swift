import Foundation
import Testing
import VigilBus
import VigilCore
@testable import VigilPluginHost

/// The plugin host with real plugins under the real `vigil-sandbox`, as root (as `vigild` runs).
@Suite(.serialized, .enabled(if: SandboxHarness.available, "needs root, cc and the vigil-sandbox binary"))
struct PluginHostTests {
    @Test func aPythonDetectorsEventsReachTheBusOnTheRightLanes() async throws {
        let world = try PluginWorld()
        await world.start([try world.pythonPlugin("py-detector", mode: "detector", config: "{count: 25}")])
        var seen: [(name: String, value: Double, lane: Lane, labels: [String: String], source: String)] = []
        let arrived = await world.eventually {
            seen += world.drained()
            return seen.contains { $0.name == "test_signal" }
        }
        #expect(arrived)
        let metrics = seen.filter { $0.name == "test_metric" }
        #expect(metrics.map(\.value) == (0..<25).map(Double.init))
        #expect(metrics.allSatisfy { $0.lane == .telemetry && $0.labels == ["series": "a"] && $0.source == "plugin:py-detector" })
        #expect(seen.first { $0.name == "test_signal" }?.lane == .incident)
        // The connection reports its counts to the host on its own stream; wait for them to land.
        #expect(await world.eventually { (await world.host.status("py-detector")?.counters.eventsReceived ?? 0) >= 26 })
        let status = await world.host.status("py-detector")
        #expect(status?.state == .running)
        #expect(status?.pid != nil)
        await world.stop()
        #expect(await world.host.status("py-detector")?.counters.failures == 0)
    }

    @Test func aNotifierAnswersNotifyWithItsResult() async throws {
        let world = try PluginWorld()
        await world.start([try world.pythonPlugin("echo", mode: "echo-notifier", kind: .notifier)])
        #expect(await world.eventually { await world.host.status("echo")?.state == .running })
        let result = try await world.host.notify("echo", incident: .object(["id": .string("INC-2026-0001")]),
                                                 title: "CPU saturated", body: "cpu_usage 97%")
        #expect(result.ok)
        #expect(result.detail == "delivered CPU saturated")
        #expect(result.evidence["incident"]?["id"] == .string("INC-2026-0001"))
        await world.stop()
    }

    /// Results spend no control-frame token (each answers a request the daemon sent): counted,
    /// they capped a notifier at 200 pages a second with a burst of 400.
    @Test(.timeLimit(.minutes(1))) func aNotifierAnsweringManyRequestsIsNotThrottled() async throws {
        var limits = ConnectionLimits()
        limits.controlFramesPerSecond = 5
        limits.controlFrameBurst = 10
        let world = try PluginWorld(limits: limits)
        await world.start([try world.pythonPlugin("echo", mode: "echo-notifier", kind: .notifier)])
        #expect(await world.eventually { await world.host.status("echo")?.state == .running })
        let started = ContinuousClock.now
        let answered = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<200 {
                group.addTask { try await world.host.notify("echo", incident: .null, title: "page \(i)", body: "b").ok }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(answered == 200)
        // At 5 frames a second, 200 counted results would take 38 s.
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(await world.host.accounts["echo"]?.timesThrottled == 0)
        await world.stop()
    }

    /// A late answer to a request that already timed out is dropped once; the same answer again
    /// is a protocol violation (else replaying it would be a free, unthrottled frame).
    @Test func aLateAnswerIsTakenOnce() async throws {
        let world = try PluginWorld()
        await world.host.rememberExpired("req-1", plugin: "late")
        #expect(await world.host.takeLateAnswer("req-1", plugin: "other") == false)
        #expect(await world.host.takeLateAnswer("req-1", plugin: "late"))
        #expect(await world.host.takeLateAnswer("req-1", plugin: "late") == false)
    }

    @Test func aRequestPastItsDeadlineFailsAndTheNotifierIsRestarted() async throws {
        let world = try PluginWorld()
        await world.start([try world.pythonPlugin("slow", mode: "slow-notifier", kind: .notifier, actionDeadline: "1 second")])
        #expect(await world.eventually { await world.host.status("slow")?.state == .running })
        await #expect(throws: PluginHostError.self) {
            _ = try await world.host.notify("slow", incident: .null, title: "t", body: "b")
        }
        let recovered = await world.eventually {
            let s = await world.host.status("slow")
            return s?.counters.restarts == 1 && s?.state == .running
        }
        #expect(recovered)
        #expect(await world.host.status("slow")?.counters.failuresByCategory["deadline"] == 1)
        await world.stop()
    }

    @Test func aCrashingPluginBacksOffThenIsQuarantinedAndTheFailureRateIsPublished() async throws {
        let world = try PluginWorld()
        await world.start([try world.pythonPlugin("crasher", mode: "crash")])
        let quarantined = await world.eventually { await world.host.status("crasher")?.state == .quarantined }
        #expect(quarantined)
        let status = await world.host.status("crasher")
        #expect(status?.counters.failures == 3)
        #expect(status?.counters.failuresByCategory["exit"] == 3)
        #expect(status?.lastCause?.category == "crash_loop")
        let events = world.drained()
        let rates = events.filter { $0.name == "plugin_failure_rate" && $0.labels["plugin"] == "crasher" }
        #expect(rates.contains { $0.value > 10 })
        #expect(rates.allSatisfy { $0.lane == .incident })
        #expect(events.contains { $0.name == "plugin_quarantined" && $0.labels["plugin"] == "crasher" && $0.labels["cause"] == "crash_loop" })
        await world.stop()
    }

    @Test(arguments: [("garbage", "invalid JSON"), ("huge", "exceeds the limit"), ("deep-nesting", "nesting deeper than 64 levels")])
    func aBadFrameIsAProtocolViolation(mode: String, words: String) async throws {
        let world = try PluginWorld()
        await world.start([try world.pythonPlugin(mode, mode: mode)])
        let violated = await world.eventually { (await world.host.status(mode)?.counters.protocolViolations ?? 0) >= 1 }
        #expect(violated)
        let status = await world.host.status(mode)
        #expect(status?.counters.failuresByCategory["protocol"] ?? 0 >= 1)
        #expect(status?.lastCause.map { "\($0)".contains("protocol violation") && "\($0)".contains(words) } == true)
        await world.stop()
    }

    @Test func aPluginThatNeverAnswersPingIsKilledForAMissedHeartbeat() async throws {
        let world = try PluginWorld()
        await world.start([try world.pythonPlugin("silent", mode: "silent", heartbeat: "1 second")])
        let missed = await world.eventually { (await world.host.status("silent")?.counters.failuresByCategory["heartbeat"] ?? 0) >= 1 }
        #expect(missed)
        await world.stop()
    }

    @Test func aHelloWithTheWrongNameIsRejected() async throws {
        let world = try PluginWorld()
        await world.start([try world.pythonPlugin("impostor", mode: "wrong-name")])
        let rejected = await world.eventually {
            (await world.host.status("impostor")?.counters.failuresByCategory["handshake_rejected"] ?? 0) >= 1
        }
        #expect(rejected)
        await world.stop()
    }

    @Test func disableStopsWithoutAFailureAndEnableStartsAgain() async throws {
        let world = try PluginWorld()
        await world.start([try world.pythonPlugin("toggle", mode: "detector")])
        #expect(await world.eventually { await world.host.status("toggle")?.state == .running })
        try await world.host.disable("toggle")
        #expect(await world.eventually { await world.host.status("toggle")?.state == .disabled })
        #expect(await world.host.status("toggle")?.counters.failures == 0)
        try await world.host.enable("toggle")
        #expect(await world.eventually { await world.host.status("toggle")?.state == .running })
        await #expect(throws: PluginHostError.self) { try await world.host.restart("nope") }
        await world.stop()
    }
}
