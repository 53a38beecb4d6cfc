import Foundation
import Testing
import VigilConfig
import VigilControl
import VigilCore
import VigilRules
import VigilStore
import VigilTestSupport
@testable import VigilDaemon

/// Issue 20, part 5, in the daemon: the detection records the samples a rule saw around each
/// incident it opened; some incidents are dismissed as false positives, and `rules suggest`'s
/// logic, replaying what `rules.samples` returns, proposes a change that avoids those and misses
/// none of the real ones. Manual clock; the writer is waited on by its stored rows, not by sleeps.
@Suite(.serialized, .timeLimit(.minutes(2))) struct RuleSuggestionDaemonTests {
    static let rule = "cpu_usage > 90% for 1 minute"

    /// The rule's incidents on four hosts: two backups at 93–94% (false positives), two real ones at 98–99%.
    static let peaks = ["backup-1": 93.0, "backup-2": 94.0, "web-1": 99.0, "web-2": 98.0]

    @Test func recordedSamplesOfDismissedIncidentsYieldAChangeThatMissesNoRealOne() async throws {
        let rig = try await ControlRig()
        let set = RuleSet(rules: [Rule(id: "cpu_high", expression: try RuleParser.parse(Self.rule), incidentType: "High CPU utilization")])
        let symbols = SymbolTable()
        let writer = RuleSampleWriter(store: rig.store, symbols: symbols, clock: rig.clock, retention: .seconds(86_400 * 30),
                                      logger: quietLogger)
        let writing = Task { await writer.run() }
        defer { writer.finish(); writing.cancel() }
        let service = rig.service
        let detection = Detection(rules: set, symbols: symbols, clock: rig.clock, logger: quietLogger) { signals in
            await service.ingest(signals)
        }
        await detection.setRecording(RuleSampleRecording(rules: set, symbols: symbols, settings: SampleRecordingSettings(),
                                                         writer: writer))
        let start = rig.clock.now()
        // Every 10 s for 6 minutes: 50% until 1 minute, the host's peak until 4 minutes, then 50% again.
        for step in 0..<36 {
            let s = step * 10
            rig.clock.set(start + .seconds(s))
            _ = await detection.tick()
            let events = Self.peaks.keys.sorted().map { host in
                Event(kind: .metric, lane: .telemetry, name: symbols.intern("cpu_usage"),
                      value: (60..<240).contains(s) ? Self.peaks[host]! : 50, unit: symbols.intern("%"),
                      source: symbols.intern("cli:root"), labels: symbols.intern(labels: ["host": host]),
                      time: start + .seconds(s))
            }
            await detection.ingest(events)
        }
        // Four episodes, each recorded from its lead-in to the sample that cleared it.
        let state = await detection.recordingState
        #expect(state.active.isEmpty, "\(state)")
        let stored = try await eventually {
            var ended = 0
            for host in Self.peaks.keys {
                ended += try await rig.store.ruleRecordings(fingerprint: "cpu_high{host=\"\(host)\"}", from: 0, to: nil)
                    .filter { $0.endedAt != nil }.count
            }
            return ended == 4
        }
        #expect(stored)

        let incidents = try await rig.store.incidents(source: "rule:cpu_high", limit: 10)
        #expect(incidents.count == 4)
        var ids: [String: String] = [:]
        for i in incidents { ids[i.labels["host"] ?? ""] = i.id }
        for host in ["backup-1", "backup-2"] {
            try await rig.run("incidents.dismiss", ["id": .string(ids[host]!), "reason": .string("nightly backup on \(host)")])
        }
        for host in ["web-1", "web-2"] { try await rig.resolve(ids[host]!) }

        // What `vigil rules test --replay incident:ID` reads: the lead-in and the episode, one host only.
        let one = try await RuleSampleQuery.handle(ControlRequest(command: "rules.samples", args: ["incident": .string(ids["web-1"]!)]),
                                                   store: rig.store, clock: rig.clock).decode(RuleSamplesView.self)
        let web1 = try #require(one.incidents.first)
        let (replayed, errors) = SampleRecording.incident(id: web1.id, title: web1.title, state: web1.state,
                                                          falsePositive: web1.falsePositive, finished: web1.finished,
                                                          end: web1.end, truncated: web1.truncated, lines: web1.samples)
        #expect(errors.isEmpty && !web1.truncated)
        #expect(replayed.samples.allSatisfy { $0.labels["host"] == "web-1" })
        // Lead-in: `for` (1 minute) + margin (1 minute) before the condition first held at 60 s.
        #expect(replayed.samples.first?.time == start && replayed.samples.last?.time == start + .seconds(240))
        #expect(replayed.samples.map(\.time) == stride(from: 0, through: 240, by: 10).map { start + .seconds($0) })
        let transitions = RuleReplay.run(rules: set, samples: replayed.samples)
        #expect(transitions.map(\.kind) == [.pending, .firing, .resolved], "\(transitions)")

        // `vigil rules suggest cpu_high`.
        let all = try await RuleSampleQuery.handle(ControlRequest(command: "rules.samples", args: ["rule": .string("cpu_high")]),
                                                   store: rig.store, clock: rig.clock).decode(RuleSamplesView.self)
        let history = all.incidents.map {
            SampleRecording.incident(id: $0.id, title: $0.title, state: $0.state, falsePositive: $0.falsePositive,
                                     finished: $0.finished, end: $0.end, truncated: $0.truncated, lines: $0.samples).0
        }
        let report = RuleSuggestion.suggest(rule: set.rules[0], in: set, incidents: history)
        #expect(Set(report.falsePositives) == [ids["backup-1"]!, ids["backup-2"]!], "\(report)")
        #expect(Set(report.real) == [ids["web-1"]!, ids["web-2"]!])
        let best = try #require(report.candidates.first)
        #expect(best.text == "cpu_usage > 94% for 1 minute", "\(report.candidates)")
        #expect(Set(best.avoided) == Set(report.falsePositives) && best.missed.isEmpty && Set(best.caught) == Set(report.real))
        // Verified by the replay: the candidate fires on neither backup and on both real incidents.
        for i in history {
            #expect(RuleSuggestion.fires(best.rule, set: set, on: i) == !i.isFalsePositive, "\(i.id)")
        }
    }

    @Test func hostileArgumentsAreRefusedClearly() async throws {
        let rig = try await ControlRig()
        func refusal(_ args: [String: JSONValue]) async -> ControlFailure? {
            do { _ = try await RuleSampleQuery.handle(ControlRequest(command: "rules.samples", args: args), store: rig.store,
                                                      clock: rig.clock); return nil } catch let f as ControlFailure { return f } catch {
                return ControlFailure("unexpected \(error)")
            }
        }
        #expect(await refusal([:])?.description.contains("exactly one of") == true)
        #expect(await refusal(["incident": .string("INC-nope")])?.kind == .notFound)
        #expect(await refusal(["incident": .string(String(repeating: "x", count: 10_000))])?.description.contains("not an incident id") == true)
        #expect(await refusal(["rule": .string("rm -rf /")])?.description.contains("not a rule id") == true)
        #expect(await refusal(["rule": .string("cpu"), "limit": .number(1e9)])?.description.contains("limit") == true)
        let declared = try await rig.run("incidents.declare", ["title": .string("Printer on fire"), "severity": .string("P3")])
        let id = try #require(declared["id"]?.stringValue)
        #expect(await refusal(["incident": .string(id)])?.description.contains("was not opened by a rule") == true)
        let empty = try await RuleSampleQuery.handle(ControlRequest(command: "rules.samples", args: ["rule": .string("no_such_rule")]),
                                                     store: rig.store, clock: rig.clock).decode(RuleSamplesView.self)
        #expect(empty.incidents.isEmpty)
    }

    /// Polls `condition` (the writer runs on its own task) for up to 10 s.
    func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<1000 {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}
