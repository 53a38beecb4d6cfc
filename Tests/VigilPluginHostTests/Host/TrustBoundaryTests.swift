import Foundation
import Logging
import Testing
import VigilBus
import VigilCore
@testable import VigilPluginHost

/// Hostile plugins against the daemon's side of the trust boundary: what a plugin says is
/// checked against what the daemon knows (issue 16). Real plugins, real sandbox, as root.
@Suite(.serialized, .enabled(if: SandboxHarness.available, "needs root, cc and the vigil-sandbox binary"),
       .timeLimit(.minutes(2)))
struct PluginTrustTests {
    @Test func aDetectorCannotSpeakForTheDaemonOrAnotherPlugin() async throws {
        let world = try PluginWorld(policy: .noRestartsDuringATest)
        // Each impersonator sends one forgery (the daemon's names, `plugin`/`source` labels in any
        // form) behind an honest event in the same frame, then only honest events.
        let count = 12
        var manifests: [PluginManifest] = []
        for i in 0..<count { manifests.append(try world.pythonPlugin("impersonator-\(i)", mode: "impersonate")) }
        await world.start(manifests)
        for i in 0..<count {
            let name = "impersonator-\(i)"
            let stopped = await world.eventually { (await world.host.status(name)?.counters.protocolViolations ?? 0) >= 1 }
            #expect(stopped, "\(name) was not stopped")
            let cause = await world.host.status(name)?.lastCause?.description ?? ""
            #expect(cause.contains("speaks as the daemon or for another plugin"), "\(name): \(cause)")
            #expect(cause.contains("reserved") || cause.contains("the daemon's own name"), "\(name): \(cause)")
        }
        let seen = world.drained().filter { !$0.source.hasPrefix("vigild:") }
        for reserved in ["plugin_isolation_breach_detected", "plugin_quarantined", "plugin_failure_rate",
                         "unusual_system_call_patterns", "eventbus_queue_depth"] {
            #expect(!seen.contains { $0.name == reserved }, "\(reserved) came through")
        }
        #expect(!seen.contains { $0.labels.keys.contains { EventName.isReservedLabel($0) } })
        // The frame that carried a forgery is dropped whole, the honest event before it too.
        #expect(!seen.contains { $0.name == "test_signal" && $0.labels["why"] == "honest" })
        #expect(!seen.contains { $0.name == "test_metric" })
        await world.stop()
    }

    @Test func refusedButHonestMistakesAreDroppedCountedAndWarnedAbout() async throws {
        let world = try PluginWorld()
        let manifest = try world.pythonPlugin("forger", mode: "forge",
                                              emits: "[test_metric, {name: test_signal, lane: security}]")
        await world.start([manifest])
        var seen: [(name: String, value: Double, lane: Lane, labels: [String: String], source: String)] = []
        // The plugin answers the daemon's warning with a metric of its own: the warning arrived.
        let warned = await world.eventually {
            seen += world.drained()
            return seen.contains { $0.labels["series"] == "warned" }
        }
        #expect(warned)
        seen.removeAll { $0.source.hasPrefix("vigild:") }
        #expect(!seen.contains { $0.name == "undeclared_signal" })
        #expect(!seen.contains { $0.name == "test_metric" && (3...4).contains($0.value) })
        // The honest event of the same frame went through, on the lane its declaration names.
        let honest = try #require(seen.first { $0.name == "test_signal" })
        #expect(honest.lane == .security)
        #expect(honest.source == "plugin:forger")
        #expect(seen.allSatisfy { $0.source == "plugin:forger" })
        let status = try #require(await world.host.status("forger"))
        #expect(status.counters.eventsRefused == 3)
        #expect(status.state == .running)
        #expect(status.counters.failures == 0)
        await world.stop()
    }

    @Test func aDetectorThatKeepsSendingRefusedEventsIsStopped() async throws {
        var limits = ConnectionLimits()
        limits.refusedEventsTolerated = 500
        let world = try PluginWorld(limits: limits)
        await world.start([try world.pythonPlugin("insistent", mode: "refuse-flood")])
        let failed = await world.eventually { (await world.host.status("insistent")?.counters.protocolViolations ?? 0) >= 1 }
        #expect(failed)
        let status = try #require(await world.host.status("insistent"))
        #expect(status.lastCause?.description.contains("refused events") == true)
        #expect(!world.drained().contains { $0.name == "undeclared_signal" })
        await world.stop()
    }

    @Test func aPluginCannotAnswerAnotherPluginsRequest() async throws {
        let world = try PluginWorld()
        let victim = try world.pythonPlugin("victim", mode: "slow-echo", kind: .notifier)
        let forger = try world.pythonPlugin("result-forger", mode: "forge-results", kind: .notifier)
        await world.start([victim, forger])
        #expect(await world.eventually { await world.host.status("victim")?.state == .running })
        // The forger starts answering as soon as it is up, before and while the victim works.
        let result = try await world.host.notify("victim", incident: .null, title: "t", body: "b")
        #expect(result.ok)
        #expect(result.detail == "answered by victim")
        let caught = await world.eventually { (await world.host.status("result-forger")?.counters.protocolViolations ?? 0) >= 1 }
        #expect(caught)
        #expect(await world.host.status("result-forger")?.lastCause?.description.contains("which was not sent to it") == true)
        let victimStatus = try #require(await world.host.status("victim"))
        #expect(victimStatus.counters.failures == 0)
        #expect(victimStatus.state == .running)
        await world.stop()
    }

    @Test func requestIDsAreUnguessable() {
        let ids = (0..<1000).map { _ in PluginHost.unguessableRequestID() }
        #expect(Set(ids).count == ids.count)
        // 128 random bits, as hex: nothing like a counter or the plugin's name.
        #expect(ids.allSatisfy { $0.hasPrefix("req-") && $0.count >= 20 && !$0.contains("victim") })
    }

    @Test func aPluginsUniqueLabelValuesAreBoundedByItsBudget() async throws {
        var limits = ConnectionLimits()
        limits.internBudget = 2_000
        let world = try PluginWorld(limits: limits)
        let before = world.symbols.counts
        await world.start([try world.pythonPlugin("cardinality", mode: "unique-labels")])
        // Past its budget every new series is refused; a plugin that keeps on is stopped, and
        // its restarts do not get a fresh budget (quarantined after the crash loop).
        let stopped = await world.eventually {
            _ = world.drained()
            return await world.host.status("cardinality")?.state == .quarantined
        }
        #expect(stopped)
        #expect((await world.host.status("cardinality")?.counters.eventsRefused ?? 0) >= 3_000)
        let after = world.symbols.counts
        // Every string and label set the plugin added was paid from its budget.
        #expect((after.strings - before.strings) + (after.labelSets - before.labelSets) <= 2_000 + 64)
        await world.stop()
    }

    @Test func pingsFromAPluginThatNeverReadsAreNotQueued() async throws {
        let world = try PluginWorld()
        await world.start([try world.pythonPlugin("pinger", mode: "ping-no-read")])
        let account = await world.host.accounts["pinger"]
        let withheld = await world.eventually { (account?.pongsWithheld ?? 0) > 200 }
        #expect(withheld)
        #expect((account?.timesThrottled ?? 0) > 0)
        await world.stop()
    }
}

extension PluginTrustTests {
    @Test func anEventIsNeverDatedInTheFutureNorMoreThanADayBack() async throws {
        let world = try PluginWorld()
        let before = SystemClock().now()
        await world.start([try world.pythonPlugin("time-traveller", mode: "odd-times")])
        var events: [Event] = []
        // The frame's lanes are published one after the other: the signal can be seen before the
        // metrics of the same frame are on the bus (this test once found none under load).
        #expect(await world.eventually {
            _ = world.bus.drainAll(into: &events, max: 1 << 16)
            return events.contains { world.symbols.name($0.name) == "test_signal" }
                && events.filter { world.symbols.name($0.name) == "test_metric" }.count >= 3
        })
        let after = SystemClock().now()
        let samples = events.filter { world.symbols.name($0.name) == "test_metric" }
        #expect(samples.map(\.value) == [1, 2, 3])
        #expect(samples.allSatisfy { $0.time >= before - .seconds(86_400) && $0.time <= after })
        await world.stop()
    }

    /// A refused hello ends the conversation: the events, the log line and the second hello the
    /// plugin wrote behind it, in the same write, are dropped unread and the connection closed.
    @Test(arguments: ["imposter", "imposter-version"])
    func nothingAfterARefusedHelloIsActedOn(name: String) async throws {
        let lines = CapturedLines()
        var logger = Logger(label: "test.capture", factory: { _ in CapturingLogHandler(lines: lines) })
        logger.logLevel = .info
        let world = try PluginWorld(logger: logger)
        await world.start([try world.pythonPlugin(name, mode: "hello-then-events")])
        let rejected = await world.eventually {
            (await world.host.status(name)?.counters.failuresByCategory["handshake_rejected"] ?? 0) >= 1
        }
        #expect(rejected)
        let fromIt = world.drained().filter { $0.source == "plugin:\(name)" }
        #expect(fromIt.isEmpty, "acted on after a refused hello: \(fromIt.map(\.name))")
        #expect(!lines.relayed(from: name).contains { $0.message.contains("after-refused-hello") })
        let status = try #require(await world.host.status(name))
        #expect(status.counters.eventsReceived == 0)
        #expect(status.counters.failuresByCategory["protocol"] == nil, "a second hello was read: \(status.counters.failuresByCategory)")
        await world.stop()
    }

    @Test func aPluginsLogFloodIsCutEscapedRateLimitedAndEnded() async throws {
        let lines = CapturedLines()
        var logger = Logger(label: "test.capture", factory: { _ in CapturingLogHandler(lines: lines) })
        logger.logLevel = .info
        let world = try PluginWorld(logger: logger)
        await world.start([try world.pythonPlugin("chatty", mode: "log-flood")])
        let started = ContinuousClock.now
        // Megabyte lines as fast as it can: past 32 MiB of log frames within a minute the run ends
        // as a protocol violation (a log flood), whatever the rate limit let through.
        let stopped = await world.eventually { (await world.host.status("chatty")?.counters.protocolViolations ?? 0) >= 1 }
        #expect(stopped)
        #expect(await world.host.status("chatty")?.lastCause?.description.contains("log flood") == true)
        let relayed = lines.relayed(from: "chatty")
        let elapsed = (ContinuousClock.now - started) / .seconds(1)
        #expect(relayed.count >= 10, "\(relayed.count) lines relayed before the flood ended the run")
        // A burst of 100, then 20 a second: never the megabyte lines at the plugin's pace.
        #expect(Double(relayed.count) <= 100 + 20 * elapsed + 20)
        #expect(relayed.allSatisfy { $0.message.utf8.count < LogText.maximumBytes + 64 })
        #expect(relayed.allSatisfy { !$0.message.contains("\n") && !$0.message.contains("\u{1B}") })
        #expect(relayed.allSatisfy { $0.level <= .error })
        #expect(relayed.first?.message.hasPrefix("ok\\n2026-12-04T10:00:00+0000 critical vigild") == true)
        await world.stop()
    }

    /// Attack pass, issue 16: a fork bomb held at its process limit ran on for ever, never
    /// failed; a fork the run's pids cgroup refused now ends the run over that limit.
    @Test func aPluginHeldAtItsProcessLimitFailsOverIt() async throws {
        guard PluginCgroup.detect() != nil else { return }
        let cause = try await Self.causeOfTheFirstFailure("forker", mode: "fork-hold")
        #expect(cause.contains("process limit"), "\(cause)")
    }

    /// Attack pass, issue 16: six children looping on a watched syscall (`ioctl`) made 5 million
    /// round trips through the daemon's watcher in 70 s, a core of the daemon's outside the
    /// plugin's own quota, and were never ended; past the watcher's budget the run ends.
    @Test(.timeLimit(.minutes(1))) func aWatchedSyscallStormEndsTheRun() async throws {
        guard SandboxSupport.detect().userNotification else { return }
        let cause = try await Self.causeOfTheFirstFailure("storm", mode: "ioctl-storm", heartbeat: "10 minutes",
                                                          counted: \.protocolViolations, within: .seconds(30))
        #expect(cause.contains("watched syscall flood") && cause.contains("ioctl"), "\(cause)")
    }

    /// Attack pass, issue 16: a plugin spinning on both cores was held at its quota (one core)
    /// and ran on for ever; held there for `cpuHeldAtQuota` its run ends over the CPU limit.
    @Test(.timeLimit(.minutes(1))) func aPluginHeldAtItsCPUQuotaFailsOverIt() async throws {
        guard PluginCgroup.detect() != nil else { return }
        var policy = SupervisionPolicy.noRestartsDuringATest
        policy.cpuHeldAtQuota = .seconds(3)
        // A fifth of a core: reached by a spinning plugin however busy the machine is (at a whole
        // core, a loaded two-core machine may never let it get there).
        policy.cpuQuotaMicroseconds = 20_000
        let cause = try await Self.causeOfTheFirstFailure("spinner", mode: "spin", heartbeat: "10 minutes", policy: policy,
                                                          within: .seconds(30))
        #expect(cause.contains("CPU limit (held at its quota"), "\(cause)")
    }

    /// Attack pass, issue 16: a plugin that sent half a frame and shut its write side, then
    /// slept, was noticed only when its heartbeat ran out (30 s); now its run ends when the
    /// connection closes without the process exiting, the unread frame named.
    @Test func aPluginThatHalfClosesInsideAFrameIsEndedAtOnce() async throws {
        let cause = try await Self.causeOfTheFirstFailure("halfway", mode: "half-close", heartbeat: "10 minutes")
        #expect(cause.contains("closed its connection inside a frame"), "\(cause)")
    }

    /// Attack pass, issue 16: a plugin writing past its file size limit got EFBIG and ran on
    /// (pid 1 of its pid namespace ignores SIGXFSZ, and Python ignores it from start-up); the SDK
    /// restores the default action and the reaper reports the kill, so the run fails over the limit.
    @Test func aPluginWritingPastItsFileSizeLimitFailsOverIt() async throws {
        let cause = try await Self.causeOfTheFirstFailure("writer", mode: "fsize")
        #expect(cause.contains("file size limit (SIGXFSZ)"), "\(cause)")
    }

    /// Attack pass, issue 16: a plugin writing stderr as fast as it can (short lines, or megabytes
    /// without a newline) ran for ever at a full core of the daemon's CPU; its run now ends as a
    /// log flood, and what reached the log stayed within the rate limit.
    @Test(arguments: ["stderr-lines", "stderr-chunks"])
    func aPluginsStderrFloodIsEnded(mode: String) async throws {
        let lines = CapturedLines()
        var logger = Logger(label: "test.capture", factory: { _ in CapturingLogHandler(lines: lines) })
        logger.logLevel = .info
        let world = try PluginWorld(policy: .noRestartsDuringATest, logger: logger)
        await world.start([try world.pythonPlugin("noisy", mode: mode)])
        let started = ContinuousClock.now
        let stopped = await world.eventually { (await world.host.status("noisy")?.counters.protocolViolations ?? 0) >= 1 }
        #expect(stopped)
        let cause = await world.host.status("noisy")?.lastCause?.description ?? ""
        #expect(cause.contains("log flood") && cause.contains("on stderr"), "\(cause)")
        let elapsed = (ContinuousClock.now - started) / .seconds(1)
        let relayed = lines.relayed(from: "noisy")
        #expect(Double(relayed.count) <= 100 + 20 * elapsed + 20)
        #expect(relayed.allSatisfy { !$0.message.contains("\u{1B}") && $0.message.utf8.count <= 4 * StderrRelay.maximumLineBytes })
        await world.stop()
    }
}

/// Keeps what the plugin host logged, for tests that read the daemon's own log.
final class CapturedLines: @unchecked Sendable {
    struct Line { var level: Logger.Level; var message: String; var plugin: String? }
    private let lock = NSLock()
    private var lines: [Line] = []
    func append(_ line: Line) { lock.withLock { lines.append(line) } }
    func relayed(from plugin: String) -> [Line] {
        lock.withLock { lines.filter { $0.plugin == plugin && !$0.message.isEmpty && $0.level >= .info } }
            .filter { !$0.message.hasPrefix("vigil-sandbox") }
    }
}

struct CapturingLogHandler: LogHandler {
    let lines: CapturedLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        let plugin = metadata?["plugin"].map { "\($0)" }
        // Only the plugin's own words: its log frames (no "stream" key, no daemon message).
        guard metadata?["stream"] == nil, metadata?["cause"] == nil, metadata?["generation"] == nil,
              metadata?["kind"] == nil, metadata?["reason"] == nil, metadata?["version"] == nil else { return }
        lines.append(.init(level: level, message: "\(message)", plugin: plugin))
    }
}

@Suite struct LogTextTests {
    @Test func aPluginsTextBecomesOneEscapedBoundedLine() {
        let forged = "ok\n2026-12-04T10:00:00Z critical vigild: plugin quarantined\r\u{1B}[2J\u{202E}evil\\"
        let line = LogText.sanitized(forged)
        #expect(!line.contains("\n") && !line.contains("\r") && !line.contains("\u{1B}") && !line.contains("\u{202E}"))
        #expect(line.hasPrefix("ok\\n2026-12-04T10:00:00Z critical vigild"))
        #expect(line.contains("\\u{1B}[2J") && line.hasSuffix("evil\\\\"))
        let long = LogText.sanitized(String(repeating: "é", count: 1_000_000))
        #expect(long.utf8.count < LogText.maximumBytes + 64)
        #expect(long.hasSuffix("(2000000 bytes, cut)"))
    }
}

/// A plugin writing lines in a loop: 20 of them a second reach the log, and what was dropped is
/// reported as one count every 10 seconds — not a warning per admitted line (issue 16).
@Suite struct LineRateLimitTests {
    @Test func aFloodCostsTwentyLinesASecondAndOneCountEveryTenSeconds() {
        var limit = LineRateLimit(now: Timestamp(nanoseconds: 0))
        var written = 0
        var reports: [Int] = []
        // 1,000 lines a second for 60 seconds.
        for i in 0..<60_000 {
            let (write, dropped) = limit.admit(now: Timestamp(nanoseconds: Int64(i) * 1_000_000))
            if write { written += 1 }
            if let dropped { reports.append(dropped) }
        }
        #expect(written >= 1_250 && written <= 1_301, "burst 100 + 20/s for 60 s: \(written)")
        #expect(reports.count >= 5 && reports.count <= 6, "one report per 10 s: \(reports)")
        let unreported = limit.unreported() ?? 0
        #expect(written + reports.reduce(0, +) + unreported == 60_000, "every dropped line is counted once")
        #expect(limit.unreported() == nil)
    }

    @Test func quietTextIsNeverDroppedNorReported() {
        var limit = LineRateLimit(now: Timestamp(nanoseconds: 0))
        for i in 0..<1_000 {
            let (write, dropped) = limit.admit(now: Timestamp(nanoseconds: Int64(i) * 100_000_000))
            #expect(write && dropped == nil)
        }
        #expect(limit.unreported() == nil)
    }

    @Test func aClockThatGoesBackDoesNotMintLines() {
        var limit = LineRateLimit(now: Timestamp(nanoseconds: 10_000_000_000))
        var written = 0
        for _ in 0..<1_000 where limit.admit(now: Timestamp(nanoseconds: 0)).write { written += 1 }
        #expect(written == 100)
    }
}

extension PluginTrustTests {
    /// Starts one behave.py plugin (not restarted), waits until `counted` shows its run ended,
    /// and returns the recorded cause ("" when it never ended: the caller's expectation fails).
    static func causeOfTheFirstFailure(_ name: String, mode: String, heartbeat: String = "15 seconds",
                                       policy: SupervisionPolicy = .noRestartsDuringATest,
                                       counted: KeyPath<PluginCounters, Int> = \.failures,
                                       within timeout: Duration = .seconds(20)) async throws -> String {
        let world = try PluginWorld(policy: policy)
        await world.start([try world.pythonPlugin(name, mode: mode, heartbeat: heartbeat)])
        let ended = await world.eventually(timeout) { (await world.host.status(name)?.counters[keyPath: counted] ?? 0) >= 1 }
        let cause = ended ? await world.host.status(name)?.lastCause?.description ?? "" : ""
        await world.stop()
        return cause
    }
}
