import Foundation
import Testing
import VigilCore
@testable import VigilPluginHost

/// The supervision state machine, driven by inputs and times only.
@Suite struct PluginSupervisorTests {
    let t0 = Timestamp(nanoseconds: 1_790_000_000_000_000_000)
    let policy = SupervisionPolicy(initialBackoff: .seconds(1), maximumBackoff: .seconds(60), backoffMultiplier: 2,
                                   jitter: 0.2, crashLoopFailures: 4, crashLoopWindow: .seconds(600),
                                   stableRun: .seconds(60), failureRateWindow: .seconds(300),
                                   failureRateInterval: .seconds(15), shutdownGrace: .seconds(5))

    func manifest(_ name: String = "det", critical: Bool = false) -> PluginManifest {
        PluginManifest(name: name, kind: .detector, directory: "/p/\(name)", executable: "/p/\(name)/run",
                       timeouts: PluginTimeouts(handshake: .seconds(10), heartbeat: .seconds(15), actionDeadline: .seconds(30)),
                       critical: critical)
    }

    func running(_ s: inout PluginSupervisor, _ name: String = "det", at t: Timestamp) -> Int {
        let g = s.generation(name) ?? 0
        _ = s.handle(.spawned(plugin: name, generation: g, pid: 100 + Int32(g)), now: t)
        _ = s.handle(.handshakeCompleted(plugin: name, generation: g), now: t)
        return g
    }

    func spawns(_ commands: [SupervisionCommand]) -> [Int] {
        commands.compactMap { if case .spawn(_, let g) = $0 { g } else { nil } }
    }

    @Test func anEnabledPluginStartsAtOnceAndRunsAfterItsHello() {
        var s = PluginSupervisor(policy: policy)
        #expect(s.add(manifest(), enabled: true, now: t0) == [.spawn(plugin: "det", generation: 1)])
        #expect(s.status("det", now: t0)?.state == .starting)
        _ = running(&s, at: t0 + .seconds(1))
        let status = s.status("det", now: t0 + .seconds(1))
        #expect(status?.state == .running)
        #expect(status?.pid == 101)
        #expect(status?.counters.starts == 1)
    }

    @Test func aDisabledOrQuarantinedPluginDoesNotStart() {
        var s = PluginSupervisor(policy: policy)
        #expect(s.add(manifest("a"), enabled: false, now: t0).isEmpty)
        #expect(s.add(manifest("b"), enabled: true, quarantine: "breach: ptrace", now: t0).isEmpty)
        #expect(s.status("a", now: t0)?.state == .disabled)
        #expect(s.status("b", now: t0)?.state == .quarantined)
        #expect(spawns(s.tick(now: t0 + .seconds(3600))).isEmpty)
    }

    @Test func aCrashRestartsAfterExponentialBackoffWithJitter() {
        var s = PluginSupervisor(policy: policy)
        _ = s.add(manifest(), enabled: true, now: t0)
        var g = running(&s, at: t0)
        // First failure: 1 s ± 20 %; random 1.0 gives the top of the spread.
        let c1 = s.handle(.terminated(plugin: "det", generation: g, .exited(code: 3)), now: t0 + .seconds(5), random: 1.0)
        #expect(c1 == [.recordFailure(plugin: "det", cause: .exited(code: 3))])
        #expect(s.status("det", now: t0 + .seconds(5))?.state == .backingOff(until: t0 + .seconds(5) + .milliseconds(1200)))
        #expect(spawns(s.tick(now: t0 + .seconds(5) + .milliseconds(1199))).isEmpty)
        #expect(spawns(s.tick(now: t0 + .seconds(5) + .milliseconds(1200))) == [2])
        g = running(&s, at: t0 + .seconds(7))
        // Second consecutive failure doubles the delay (random 0.5 = no jitter).
        _ = s.handle(.terminated(plugin: "det", generation: g, .killed(signal: SIGSEGV, syscall: nil)), now: t0 + .seconds(8))
        #expect(s.status("det", now: t0 + .seconds(8))?.state == .backingOff(until: t0 + .seconds(10)))
        #expect(s.status("det", now: t0 + .seconds(8))?.lastCause == .signaled(signal: SIGSEGV))
        #expect(s.status("det", now: t0 + .seconds(8))?.counters.restarts == 1)
    }

    @Test func aStableRunResetsTheBackoff() {
        var s = PluginSupervisor(policy: policy)
        _ = s.add(manifest(), enabled: true, now: t0)
        var g = running(&s, at: t0)
        _ = s.handle(.terminated(plugin: "det", generation: g, .exited(code: 1)), now: t0 + .seconds(1))
        _ = s.tick(now: t0 + .seconds(3))
        g = running(&s, at: t0 + .seconds(3))
        // Ran for two minutes, longer than stableRun: the next delay is the initial one again.
        _ = s.handle(.terminated(plugin: "det", generation: g, .exited(code: 1)), now: t0 + .seconds(123))
        #expect(s.status("det", now: t0 + .seconds(123))?.state == .backingOff(until: t0 + .seconds(124)))
    }

    @Test func aCrashLoopIsQuarantinedAndNotRestarted() {
        var s = PluginSupervisor(policy: policy)
        _ = s.add(manifest(critical: true), enabled: true, now: t0)
        var t = t0
        var quarantined: [SupervisionCommand] = []
        var quarantinedAt: Timestamp?
        for _ in 0..<4 {
            let g = running(&s, at: t)
            t = t + .seconds(1)
            let c = s.handle(.terminated(plugin: "det", generation: g, .exited(code: 1)), now: t)
            quarantined += c.filter { if case .quarantined = $0 { true } else { false } }
            if quarantinedAt == nil, !quarantined.isEmpty { quarantinedAt = t }
            t = t + .seconds(60)
            _ = s.tick(now: t)
        }
        #expect(quarantined.count == 1)
        // `since` is when it entered its state: the quarantine, not its last start.
        #expect(quarantinedAt != nil && s.status("det", now: t)?.since == quarantinedAt)
        if case .quarantined(_, let cause, let critical)? = quarantined.first {
            #expect(critical)
            #expect(cause.category == "crash_loop")
        }
        #expect(s.status("det", now: t)?.state == .quarantined)
        #expect(spawns(s.tick(now: t + .seconds(86_400))).isEmpty)
        // An operator re-enables it: it starts again with a clean slate.
        #expect(spawns(s.handle(.enable(plugin: "det"), now: t)) == [5])
    }

    @Test func aBreachKillsAndQuarantinesAtOnceAndCountsOneFailure() {
        var s = PluginSupervisor(policy: policy)
        _ = s.add(manifest(), enabled: true, now: t0)
        let g = running(&s, at: t0)
        let c = s.handle(.breach(plugin: "det", syscall: "socket"), now: t0 + .seconds(2))
        #expect(c.contains(.kill(plugin: "det", generation: g, cause: .breach(syscall: "socket"))))
        #expect(c.contains(.quarantined(plugin: "det", cause: .breach(syscall: "socket"), critical: false)))
        let after = s.handle(.terminated(plugin: "det", generation: g, .killed(signal: SIGKILL, syscall: nil)),
                             now: t0 + .seconds(2))
        #expect(after.isEmpty)
        let status = s.status("det", now: t0 + .seconds(3))
        #expect(status?.state == .quarantined)
        #expect(status?.counters.failures == 1)
        #expect(status?.counters.breaches == 1)
        #expect(status?.lastCause == .breach(syscall: "socket"))
        #expect(spawns(s.tick(now: t0 + .seconds(3600))).isEmpty)
    }

    @Test func aSIGSYSKillIsABreachAndQuarantines() {
        var s = PluginSupervisor(policy: policy)
        _ = s.add(manifest(), enabled: true, now: t0)
        let g = running(&s, at: t0)
        let c = s.handle(.terminated(plugin: "det", generation: g, .killed(signal: SIGSYS, syscall: "ptrace")), now: t0)
        #expect(c.contains(.quarantined(plugin: "det", cause: .seccompKilled(syscall: "ptrace"), critical: false)))
        #expect(s.status("det", now: t0)?.state == .quarantined)
    }

    @Test func noHelloBeforeTheHandshakeTimeoutKillsTheRun() {
        var s = PluginSupervisor(policy: policy)
        _ = s.add(manifest(), enabled: true, now: t0)
        _ = s.handle(.spawned(plugin: "det", generation: 1, pid: 7), now: t0)
        #expect(s.tick(now: t0 + .milliseconds(9999)).allSatisfy { if case .kill = $0 { false } else { true } })
        let c = s.tick(now: t0 + .seconds(10))
        #expect(c.contains(.kill(plugin: "det", generation: 1, cause: .handshakeTimeout)))
        _ = s.handle(.terminated(plugin: "det", generation: 1, .killed(signal: SIGKILL, syscall: nil)), now: t0 + .seconds(10))
        let status = s.status("det", now: t0 + .seconds(10))
        #expect(status?.lastCause == .handshakeTimeout)
        #expect(status?.counters.failures == 1)
        #expect(status?.counters.timeouts == 1)
    }

    @Test func pingsAreSentAndAMissedPongKillsTheRun() {
        var s = PluginSupervisor(policy: policy)
        _ = s.add(manifest(), enabled: true, now: t0)
        let g = running(&s, at: t0)
        let first = s.tick(now: t0 + .seconds(15))
        #expect(first.contains(.ping(plugin: "det", generation: g, seq: 1)))
        _ = s.handle(.pong(plugin: "det", generation: g, seq: 1), now: t0 + .seconds(16))
        let second = s.tick(now: t0 + .seconds(30))
        #expect(second.contains(.ping(plugin: "det", generation: g, seq: 2)))
        // No pong for seq 2 within one heartbeat interval.
        #expect(!s.tick(now: t0 + .seconds(44)).contains { if case .kill = $0 { true } else { false } })
        #expect(s.tick(now: t0 + .seconds(45)).contains(.kill(plugin: "det", generation: g, cause: .heartbeatMissed)))
    }

    @Test func aPluginHeldBackByTheBusIsNotKilledForItsUnreadPong() {
        var s = PluginSupervisor(policy: policy)
        _ = s.add(manifest(), enabled: true, now: t0)
        let g = running(&s, at: t0)
        #expect(s.tick(now: t0 + .seconds(15)).contains(.ping(plugin: "det", generation: g, seq: 1)))
        // The daemon stops reading the plugin's socket (a lane is full): its pong waits unread.
        _ = s.handle(.backpressure(plugin: "det", generation: g, paused: true), now: t0 + .seconds(16))
        let whilePaused = s.tick(now: t0 + .seconds(120))
        #expect(!whilePaused.contains { if case .kill = $0 { true } else { false } })
        #expect(!whilePaused.contains { if case .ping = $0 { true } else { false } })
        // Reading resumes: the heartbeat is judged again, from then on.
        _ = s.handle(.backpressure(plugin: "det", generation: g, paused: false), now: t0 + .seconds(121))
        #expect(!s.tick(now: t0 + .seconds(135)).contains { if case .kill = $0 { true } else { false } })
        #expect(s.tick(now: t0 + .seconds(136)).contains(.kill(plugin: "det", generation: g, cause: .heartbeatMissed)))
    }

    @Test func aRequestPastItsDeadlineFailsAndKillsTheRun() {
        var s = PluginSupervisor(policy: policy)
        _ = s.add(manifest(), enabled: true, now: t0)
        let g = running(&s, at: t0)
        _ = s.handle(.requestSent(plugin: "det", generation: g, id: "n1", deadline: t0 + .seconds(5)), now: t0)
        _ = s.handle(.requestSent(plugin: "det", generation: g, id: "n2", deadline: t0 + .seconds(50)), now: t0)
        _ = s.handle(.requestCompleted(plugin: "det", id: "n2"), now: t0 + .seconds(1))
        let c = s.tick(now: t0 + .seconds(5))
        #expect(c.contains(.failRequest(plugin: "det", id: "n1", reason: "the plugin was stopped: missed the deadline of request n1")))
        #expect(c.contains(.kill(plugin: "det", generation: g, cause: .deadlineMissed(requestID: "n1"))))
    }

    @Test func disablingStopsWithoutCountingAFailureAndEnablingStartsAgain() {
        var s = PluginSupervisor(policy: policy)
        _ = s.add(manifest(), enabled: true, now: t0)
        let g = running(&s, at: t0)
        #expect(s.handle(.disable(plugin: "det"), now: t0 + .seconds(1)) == [.shutdown(plugin: "det", generation: g)])
        #expect(s.status("det", now: t0 + .seconds(1))?.state == .stopping)
        _ = s.handle(.terminated(plugin: "det", generation: g, .exited(code: 0)), now: t0 + .seconds(2))
        let status = s.status("det", now: t0 + .seconds(2))
        #expect(status?.state == .disabled)
        #expect(status?.counters.failures == 0)
        #expect(spawns(s.handle(.enable(plugin: "det"), now: t0 + .seconds(3))) == [g + 1])
    }

    @Test func aPluginIgnoringShutdownIsKilledAfterTheGracePeriod() {
        var s = PluginSupervisor(policy: policy)
        _ = s.add(manifest(), enabled: true, now: t0)
        let g = running(&s, at: t0)
        _ = s.handle(.restart(plugin: "det"), now: t0)
        let c = s.tick(now: t0 + .seconds(5))
        #expect(c.contains { if case .kill(_, g, _) = $0 { true } else { false } })
        let restarted = s.handle(.terminated(plugin: "det", generation: g, .killed(signal: SIGKILL, syscall: nil)), now: t0 + .seconds(5))
        #expect(spawns(restarted) == [g + 1])
        #expect(s.status("det", now: t0 + .seconds(5))?.counters.failures == 0)
    }

    @Test func messagesOfAnOldRunAreIgnored() {
        var s = PluginSupervisor(policy: policy)
        _ = s.add(manifest(), enabled: true, now: t0)
        let g = running(&s, at: t0)
        _ = s.handle(.terminated(plugin: "det", generation: g, .exited(code: 1)), now: t0)
        _ = s.tick(now: t0 + .seconds(5))
        #expect(s.handle(.protocolViolation(plugin: "det", generation: g, description: "late"), now: t0 + .seconds(5)).isEmpty)
        #expect(s.handle(.terminated(plugin: "det", generation: g, .exited(code: 9)), now: t0 + .seconds(5)).isEmpty)
        #expect(s.status("det", now: t0 + .seconds(5))?.state == .starting)
    }

    @Test func theFailureRateIsFailuresOverAttemptsInTheWindowAndIsPublished() {
        var s = PluginSupervisor(policy: policy)
        _ = s.add(manifest(), enabled: true, now: t0)
        var g = running(&s, at: t0)
        for i in 0..<8 {
            _ = s.handle(.requestSent(plugin: "det", generation: g, id: "r\(i)", deadline: t0 + .seconds(100)), now: t0)
            _ = s.handle(.requestCompleted(plugin: "det", id: "r\(i)"), now: t0)
        }
        _ = s.handle(.terminated(plugin: "det", generation: g, .exited(code: 1)), now: t0 + .seconds(1))
        _ = s.tick(now: t0 + .seconds(3))
        g = running(&s, at: t0 + .seconds(3))
        // 1 start + 8 requests + 1 restart = 10 attempts, 1 failure.
        let published = s.tick(now: t0 + .seconds(4)).compactMap { c -> Double? in
            if case .publishFailureRate(_, let rate) = c { rate } else { nil }
        }
        #expect(published == [0.1])
        #expect(s.status("det", now: t0 + .seconds(4))?.failureRate == 0.1)
        // Outside the window the failure no longer counts.
        #expect(s.status("det", now: t0 + .seconds(302))?.failureRate == 0)
    }
}
