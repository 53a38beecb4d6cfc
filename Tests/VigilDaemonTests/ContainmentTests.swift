import Foundation
import Testing
import VigilBus
import VigilConfig
import VigilCore
import VigilDaemon
import VigilIncidents
import VigilStore
import VigilTestSupport

/// Issue 7: the seed's containment rules as the response engine runs them, over a real SQLite
/// file and a real event bus (no plugin host here: plugin-only actions report "not available";
/// the daemon suites below run them in real sandboxes).
@Suite(.serialized) struct ContainmentTests {
    struct Rig {
        let store: Store
        let incidents: IncidentService
        let engine: ResponseEngine
        let bus: EventBus
        let clock: ManualClock
        let stateDirectory: String
        let rules: [String: [String]]
    }

    static func rig(settings: (inout ContainmentSettings) -> Void = { _ in }) throws -> Rig {
        let path = try temporaryDatabasePath()
        let config = try ConfigLoader.load(path: repositoryRoot + "/Config/vigil.yaml")
        var s = config.containment
        settings(&s)
        let clock = ManualClock(monday)
        let store = try Store(path: path)
        let incidents = IncidentService(store: store, policy: config.policy, clock: clock, logger: quietLogger)
        let bus = EventBus()
        let dir = (path as NSString).deletingLastPathComponent
        let engine = ResponseEngine(store: store, incidents: incidents, host: nil, bus: bus, settings: s,
                                    rules: config.policy.containment, stateDirectory: dir, clock: clock, logger: quietLogger)
        return Rig(store: store, incidents: incidents, engine: engine, bus: bus, clock: clock, stateDirectory: dir,
                   rules: config.policy.containment)
    }

    static let typeOf = ["security_breach": "Authentication failure", "system_overload": "High CPU utilization",
                         "data_corruption": "Data corruption"]

    @Test func theSeedBlockLoadsAsWritten() throws {
        let config = try ConfigLoader.load(path: repositoryRoot + "/Config/vigil.yaml")
        #expect(config.policy.containment == [
            "security_breach": ["isolate_affected_plugins", "disable_external_connections", "backup_current_state",
                                "enable_enhanced_logging"],
            "system_overload": ["implement_circuit_breakers", "reduce_eventbus_throughput", "disable_non_critical_plugins",
                                "scale_resources_if_available"],
            "data_corruption": ["stop_write_operations", "backup_current_state", "isolate_affected_storage",
                                "enable_read_only_mode"],
        ])
        // Every action the seed names is known to the daemon, with a documented default mode.
        for name in config.policy.containment.values.joined() {
            #expect(ContainmentCatalog.info(name) != nil, "\(name) is not in the catalog")
        }
        #expect(config.containment.mode(of: "disable_external_connections") == .approve)
        #expect(config.containment.mode(of: "backup_current_state") == .auto)
    }

    @Test func badContainmentSettingsAreLocated() throws {
        let path = repositoryRoot + "/Config/vigil.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(
            of: "  file: containment-rules.yaml\n",
            with: "  file: containment-rules.yaml\n  actions:\n    backup_current_state: { mode: sometimes }\n    launch_missiles: { mode: auto }\n")
        #expect(throws: ConfigErrors.self) { try ConfigLoader.load(text: text, file: path) }
        do { _ = try ConfigLoader.load(text: text, file: path) } catch {
            let lines = error.errors.map(\.description)
            #expect(lines.contains { $0.contains("vigil.yaml:") && $0.contains("mode") && $0.contains("sometimes") })
            #expect(lines.contains { $0.contains("launch_missiles") })
        }
    }

    /// Each category runs its actions in order: every request is in the timeline before any
    /// result, results follow in the category's order, and five verification checks close it.
    @Test(arguments: ["security_breach", "system_overload", "data_corruption"])
    func eachCategoryRunsItsActionsInOrder(category: String) async throws {
        let rig = try Self.rig { s in
            for name in ContainmentCatalog.actions.map(\.name) { s.actions[name] = ActionSettings(mode: .auto) }
        }
        let type = try #require(Self.typeOf[category])
        let incident = try await rig.incidents.declare(ClassificationInput(title: "drill \(category)", incidentType: type),
                                                       actor: "dave")
        #expect(incident.containmentCategory == category)
        await rig.engine.observe([incident])

        let expected = try #require(rig.rules[category])
        let actions = try await rig.store.actions(incidentID: incident.id)
        #expect(actions.map(\.name) == expected)
        #expect(actions.allSatisfy { $0.actionState.isSettled })
        let timeline = try await rig.store.timeline(incidentID: incident.id)
        let actionEntries = timeline.filter { $0.kind == .action }
        let requests = actionEntries.filter { $0.message.hasPrefix("Requested ") }
        #expect(requests.map { $0.data["action"] } == expected)
        #expect(requests.map { $0.data["position"] } == (1...expected.count).map { "\($0)/\(expected.count)" })
        let results = actionEntries.filter { !$0.message.hasPrefix("Requested ") }
        #expect(results.map { $0.data["action"] } == expected)
        let lastRequest = try #require(requests.last?.sequence)
        #expect(results.allSatisfy { $0.sequence > lastRequest })
        // Built-ins succeed; the plugin-only ones have no plugin here.
        for a in actions {
            let builtIn = ContainmentCatalog.info(a.name)?.builtIn == true
            if builtIn && a.name != "isolate_affected_plugins" && a.name != "disable_non_critical_plugins" {
                #expect(a.actionState == .succeeded, "\(a.name): \(a.result?["detail"]?.stringValue ?? "")")
            } else {
                #expect(a.actionState == .unavailable, "\(a.name)")
            }
        }
        let checks = timeline.filter { $0.kind == .verification && $0.data["check"] != nil }
        #expect(checks.map { $0.data["check"] } == ResponseEngine.checkNames.map(Optional.some))
        #expect(checks.allSatisfy { $0.data["passed"] == "true" }, "\(checks.map(\.message))")
        let final = try #require(try await rig.store.incident(id: incident.id))
        #expect(final.state == .contained)
        #expect(timeline.contains { $0.kind == .transition && $0.message.hasPrefix("containing → contained") })
        // The evidence of each action is attached to the incident.
        let evidence = try await rig.store.evidence(incidentID: incident.id)
        let performed = actions.filter { ($0.result?["performers"]?.arrayValue?.count ?? 0) > 0 }
        #expect(evidence.filter { $0.kind == "containment" }.count == performed.count)
        // Resolution lists what is still in effect, with the undo commands.
        var resolved = final
        resolved.state = .resolved
        await rig.engine.observe([resolved])
        let reversible = actions.filter { $0.actionState == .succeeded && $0.undo != nil && $0.name != "enable_enhanced_logging" }
        let reminder = try await rig.store.timeline(incidentID: incident.id).last
        if reversible.isEmpty {
            #expect(reminder?.message.hasPrefix("Resolved with containment still in effect") == false)
        } else {
            #expect(reminder?.message.hasPrefix("Resolved with containment still in effect") == true)
            for a in reversible { #expect(reminder?.message.contains("\(a.name) (vigil actions undo \(a.id ?? 0))") == true) }
        }
        // Undo what the drill changed on the shared log level / bus / store gate, newest first.
        for a in actions.reversed() where a.undo != nil { _ = try await rig.engine.undo(try #require(a.id), actor: "test") }
        #expect(rig.store.writeGate == .open)
        #expect(rig.bus.telemetryAdmission == 1)
    }

    /// Closed as a false positive: the actions still waiting are skipped (and can no longer be
    /// approved), what already took effect is listed for undoing.
    @Test func aFalsePositiveStandsContainmentDown() async throws {
        let rig = try Self.rig()
        let incident = try await rig.incidents.declare(
            ClassificationInput(title: "corrupt pages", incidentType: "Data corruption"), actor: "dave")
        await rig.engine.observe([incident])
        let before = try await rig.store.actions(incidentID: incident.id)
        #expect(before.map(\.actionState) == [.awaitingApproval, .succeeded, .awaitingApproval, .awaitingApproval])
        let closed = try await rig.incidents.dismiss(incident.id, reason: "a restore drill", actor: "dave")
        await rig.engine.observe([closed])
        let after = try await rig.store.actions(incidentID: incident.id)
        #expect(after.map(\.actionState) == [.skipped, .succeeded, .skipped, .skipped])
        #expect(after[0].result == .object(["detail": .string("skipped: the incident was closed as a false positive")]))
        await #expect(throws: ResponseError.self) { try await rig.engine.approve(try #require(before[0].id), actor: "x", note: nil) }
        let lines = try await rig.store.timeline(incidentID: incident.id).map(\.message)
        #expect(lines.contains { $0.hasPrefix("stop_write_operations skipped: the incident was closed as a false positive") }, "\(lines)")
        if before[1].undo != nil {
            #expect(lines.last?.hasPrefix("Closed as a false positive with containment still in effect") == true, "\(lines)")
        }
        for a in after.reversed() where a.actionState == .succeeded && a.undo != nil {
            _ = try await rig.engine.undo(try #require(a.id), actor: "test")
        }
    }

    @Test func destructiveActionsWaitForApprovalAndDenialLetsTheRestFinish() async throws {
        let rig = try Self.rig()
        let incident = try await rig.incidents.declare(
            ClassificationInput(title: "corrupt pages", incidentType: "Data corruption"), actor: "dave")
        await rig.engine.observe([incident])
        var actions = try await rig.store.actions(incidentID: incident.id)
        #expect(actions.map(\.actionState) == [.awaitingApproval, .succeeded, .awaitingApproval, .awaitingApproval])
        #expect(try await rig.store.incident(id: incident.id)?.state == .containing)
        #expect(rig.store.writeGate == .open)

        let stop = try #require(actions[0].id)
        let approved = try await rig.engine.approve(stop, actor: "dave", note: "go")
        #expect(approved.actionState == .succeeded)
        #expect(rig.store.writeGate == .holding)
        _ = try await rig.engine.deny(try #require(actions[2].id), actor: "dave", reason: "copy not needed")
        #expect(try await rig.store.incident(id: incident.id)?.state == .containing)
        _ = try await rig.engine.deny(try #require(actions[3].id), actor: "dave", reason: "holding is enough")
        #expect(try await rig.store.incident(id: incident.id)?.state == .contained)
        await #expect(throws: ResponseError.self) { try await rig.engine.approve(try #require(actions[3].id), actor: "x", note: nil) }

        // Held writes are written by the undo: nothing is lost.
        try rig.store.savePlugin(PluginRecord(name: "p", uid: 61_000, enabled: false, state: "stopped", quarantineReason: nil,
                                              quarantinedAt: nil, restarts: 0, updatedAt: 1))
        #expect(rig.store.heldWrites == 1)
        let undone = try await rig.engine.undo(stop, actor: "dave")
        #expect(undone.actionState == .undone)
        #expect(rig.store.writeGate == .open)
        #expect(try rig.store.plugins().map(\.name) == ["p"])
        await #expect(throws: ResponseError.self) { try await rig.engine.undo(stop, actor: "dave") }
        actions = try await rig.store.actions(incidentID: incident.id)
        let timeline = try await rig.store.timeline(incidentID: incident.id)
        #expect(timeline.contains { $0.message.hasPrefix("stop_write_operations approved by dave") })
        #expect(timeline.contains { $0.message.hasPrefix("enable_read_only_mode denied by dave: holding is enough") })
        #expect(timeline.contains { $0.message.hasPrefix("stop_write_operations undone by dave") })
    }

    @Test func readOnlyModeRefusesNonIncidentWritesButKeepsIncidents() async throws {
        let rig = try Self.rig()
        let incident = try await rig.incidents.declare(ClassificationInput(title: "x", incidentType: "Data corruption"), actor: "dave")
        let r = try await rig.engine.run("enable_read_only_mode", incidentID: incident.id, dryRun: false, params: [:], actor: "dave")
        #expect(r.actionState == .succeeded)
        #expect(throws: StoreError.self) {
            try rig.store.savePlugin(PluginRecord(name: "p", uid: 61_000, enabled: true, state: "running",
                                                  quarantineReason: nil, quarantinedAt: nil, restarts: 0, updatedAt: 1))
        }
        // Incidents are still recorded.
        let second = try await rig.incidents.declare(ClassificationInput(title: "still recorded", severity: "P3"), actor: "dave")
        #expect(try await rig.store.incident(id: second.id) != nil)
        _ = try await rig.engine.undo(try #require(r.id), actor: "dave")
        #expect(rig.store.writeGate == .open)
    }

    @Test func dryRunChangesNothing() async throws {
        let rig = try Self.rig { $0.dryRun = true }
        let incident = try await rig.incidents.declare(ClassificationInput(title: "x", incidentType: "High CPU utilization"),
                                                       actor: "dave")
        for name in ["reduce_eventbus_throughput", "enable_read_only_mode", "backup_current_state"] {
            let r = try await rig.engine.run(name, incidentID: incident.id, dryRun: nil, params: [:], actor: "dave")
            #expect(r.actionState == .simulated, "\(name)")
            #expect(r.undo == nil)
            #expect(r.result?["detail"]?.stringValue?.contains("would") == true)
        }
        #expect(rig.bus.telemetryAdmission == 1)
        #expect(rig.store.writeGate == .open)
        let backups = (try? FileManager.default.contentsOfDirectory(atPath: rig.stateDirectory + "/backups")) ?? []
        #expect(backups.isEmpty)
    }

    /// A flapping incident (same fingerprint, reopened again and again) runs its actions at most
    /// `loop_breaker.max_runs` times within the window; the rest are held back and say so.
    @Test func theLoopBreakerStopsAFlappingIncident() async throws {
        let rig = try Self.rig { s in
            s.loopMaxRuns = 2
            s.actions["reduce_eventbus_throughput"] = ActionSettings(mode: .auto)
        }
        var states: [ActionState] = []
        for round in 0..<4 {
            rig.clock.set(monday + minutes(round * 2))
            let incident = try await rig.incidents.declare(
                ClassificationInput(title: "cpu", incidentType: "High CPU utilization"), actor: "dave", key: "cpu-flap-\(round)")
            // The same fingerprint each round: declared with a key, then resolved-and-reopened style.
            try await rig.store.write { tx in
                guard var i = try tx.incident(id: incident.id) else { return }
                i.fingerprint = "cpu{host=web-1}"
                try tx.commit(StoreChange(incident: i))
            }
            let current = try #require(try await rig.store.incident(id: incident.id))
            await rig.engine.observe([current])
            let a = try await rig.store.actions(incidentID: incident.id).first { $0.name == "reduce_eventbus_throughput" }
            states.append(try #require(a).actionState)
            for x in try await rig.store.actions(incidentID: incident.id) where x.undo != nil {
                _ = try await rig.engine.undo(try #require(x.id), actor: "test")
            }
        }
        #expect(states == [.succeeded, .succeeded, .suppressed, .suppressed])
        // Outside the window it may run again.
        rig.clock.set(monday + .seconds(3 * 3600))
        let later = try await rig.incidents.declare(ClassificationInput(title: "cpu", incidentType: "High CPU utilization"), actor: "dave")
        try await rig.store.write { tx in
            guard var i = try tx.incident(id: later.id) else { return }
            i.fingerprint = "cpu{host=web-1}"
            try tx.commit(StoreChange(incident: i))
        }
        await rig.engine.observe([try #require(try await rig.store.incident(id: later.id))])
        let again = try await rig.store.actions(incidentID: later.id).first { $0.name == "reduce_eventbus_throughput" }
        #expect(again?.actionState == .succeeded)
        for x in try await rig.store.actions(incidentID: later.id) where x.undo != nil {
            _ = try await rig.engine.undo(try #require(x.id), actor: "test")
        }
    }

    /// backup_current_state's file restores to an identical store.
    @Test func theBackupRestoresToAnIdenticalStore() async throws {
        let rig = try Self.rig()
        for n in 0..<5 {
            _ = try await rig.incidents.declare(ClassificationInput(title: "incident \(n)", severity: n % 2 == 0 ? "P2" : "P3"),
                                                actor: "dave")
        }
        let target = try await rig.incidents.declare(ClassificationInput(title: "the one", severity: "P1"), actor: "dave")
        let before = try rig.store.rowCounts()
        let r = try await rig.engine.run("backup_current_state", incidentID: target.id, dryRun: false, params: [:], actor: "dave")
        #expect(r.actionState == .succeeded)
        let evidence = try #require(r.result?["performers"]?.arrayValue?.first?["evidence"])
        let file = try #require(evidence["file"]?.stringValue)
        let sha = try #require(evidence["sha256"]?.stringValue)
        #expect(try SHA256Digest.file(file) == sha)
        #expect(try String(contentsOfFile: file + ".sha256", encoding: .utf8).hasPrefix(sha + "  "))

        // Restore: a copy of the backup opened as the daemon would open its database.
        let restoredPath = rig.stateDirectory + "/restored.db"
        try FileManager.default.copyItem(atPath: file, toPath: restoredPath)
        let restored = try Store(path: restoredPath)
        #expect(try restored.integrityCheck() == "ok")
        var expected = before
        expected["timeline", default: 0] += 1  // "dave ran backup_current_state", written before it ran
        expected["action", default: 0] += 1
        #expect(try restored.rowCounts() == expected)
        for incident in try await rig.store.incidents() {
            let copy = try #require(try await restored.incident(id: incident.id))
            #expect(copy.title == incident.title)
            #expect(copy.severity == incident.severity)
            let liveTimeline = try await rig.store.timeline(incidentID: incident.id)
            let restoredTimeline = try await restored.timeline(incidentID: incident.id)
            #expect(Array(liveTimeline.prefix(restoredTimeline.count)) == restoredTimeline)
        }
        #expect(try await restored.appliedMigrations() == (try await rig.store.appliedMigrations()))
    }

    /// A burst of incidents makes one backup, not one each; a person's run always makes a new one.
    @Test func automaticBackupsWithinTheReuseWindowShareOneFile() async throws {
        let rig = try Self.rig()
        var files: [String] = []
        for n in 0..<3 {
            rig.clock.set(monday + .seconds(n * 10))
            let i = try await rig.incidents.declare(ClassificationInput(title: "corrupt \(n)", incidentType: "Data corruption"),
                                                    actor: "dave")
            await rig.engine.observe([i])
            let backup = try #require(try await rig.store.actions(incidentID: i.id).first { $0.name == "backup_current_state" })
            #expect(backup.actionState == .succeeded)
            let evidence = backup.result?["performers"]?.arrayValue?.first?["evidence"]
            files.append(evidence?["file"]?.stringValue ?? "")
            #expect(evidence?["reused"]?.boolValue == (n > 0 ? true : nil))
        }
        #expect(Set(files).count == 1)
        rig.clock.set(monday + .seconds(45))
        let later = try await rig.incidents.declare(ClassificationInput(title: "later", incidentType: "Data corruption"), actor: "dave")
        await rig.engine.observe([later])
        let fresh = try #require(try await rig.store.actions(incidentID: later.id).first { $0.name == "backup_current_state" })
        #expect(fresh.result?["performers"]?.arrayValue?.first?["evidence"]?["reused"] == nil)
        let manual = try await rig.engine.run("backup_current_state", incidentID: later.id, dryRun: false, params: [:], actor: "dave")
        #expect(manual.result?["performers"]?.arrayValue?.first?["evidence"]?["reused"] == nil)
        let dbs = try FileManager.default.contentsOfDirectory(atPath: rig.stateDirectory + "/backups").filter { $0.hasSuffix(".db") }
        #expect(dbs.count == 3)
    }

    /// A daemon that stopped mid-sequence: the action that was running is recorded as interrupted
    /// (failed), the rest go on under the new daemon, and the failure keeps the incident containing.
    @Test func aRestartedDaemonContinuesAResponseWhereItStood() async throws {
        let rig = try Self.rig()
        let incident = try await rig.incidents.declare(ClassificationInput(title: "corrupt", incidentType: "Data corruption"),
                                                       actor: "dave")
        await rig.engine.observe([incident])
        var stored = try await rig.store.actions(incidentID: incident.id)
        var interrupted = stored[2]
        interrupted.state = ActionState.running.rawValue
        let crashed = interrupted
        try await rig.store.write { tx in
            var r = crashed
            try tx.save(&r)
        }
        // A new daemon over the same database.
        let store = try Store(path: rig.store.path)
        let config = try ConfigLoader.load(path: repositoryRoot + "/Config/vigil.yaml")
        let incidents = IncidentService(store: store, policy: config.policy, clock: rig.clock, logger: quietLogger)
        let engine = ResponseEngine(store: store, incidents: incidents, host: nil, bus: rig.bus, settings: config.containment,
                                    rules: config.policy.containment, stateDirectory: rig.stateDirectory, clock: rig.clock,
                                    logger: quietLogger)
        await engine.resume()
        stored = try await store.actions(incidentID: incident.id)
        #expect(stored.map(\.actionState) == [.awaitingApproval, .succeeded, .failed, .awaitingApproval])
        #expect(stored[2].result?["detail"]?.stringValue?.contains("interrupted") == true)
        for r in [stored[0], stored[3]] { _ = try await engine.approve(try #require(r.id), actor: "dave", note: nil) }
        #expect(try await store.incident(id: incident.id)?.state == .containing)
        let checks = try await engine.verify(incident.id, actor: "dave")
        #expect(checks.first { $0.name == "threat_contained" }?.passed == false)
        #expect(checks.first { $0.name == "threat_contained" }?.detail.contains("isolate_affected_storage") == true)
        for r in try await store.actions(incidentID: incident.id).reversed() where r.undo != nil {
            _ = try await engine.undo(try #require(r.id), actor: "test")
        }
        #expect(store.writeGate == .open)
    }

    /// enable_enhanced_logging reverts itself: nothing changes before its time, and the first tick
    /// after it puts the log level back and records the action as undone.
    @Test func enhancedLoggingRevertsItselfWhenItsTimeIsUp() async throws {
        let rig = try Self.rig()
        let before = AdjustableLogLevel.shared.level
        defer { AdjustableLogLevel.shared.level = before }
        let incident = try await rig.incidents.declare(ClassificationInput(title: "noisy", incidentType: "Authentication failure"),
                                                       actor: "dave")
        let ran = try await rig.engine.run("enable_enhanced_logging", incidentID: incident.id, dryRun: false, params: [:],
                                           actor: "dave")
        let id = try #require(ran.id)
        #expect(ran.actionState == .succeeded, "\(ran.result ?? .null)")
        let raised = AdjustableLogLevel.shared.level
        #expect(raised < before)
        let lasts = try ConfigLoader.load(path: repositoryRoot + "/Config/vigil.yaml").containment.enhancedLoggingFor
        rig.clock.advance(by: lasts - .seconds(1))
        await rig.engine.tick()
        #expect(try await rig.store.action(id: id)?.actionState == .succeeded)
        #expect(AdjustableLogLevel.shared.level == raised)
        rig.clock.advance(by: .seconds(1))
        await rig.engine.tick()
        #expect(try await rig.store.action(id: id)?.actionState == .undone)
        #expect(AdjustableLogLevel.shared.level == before)
    }

    @Test func circuitBreakerOpensHalfOpensAndCloses() {
        var b = CircuitBreaker()
        let t0 = monday
        do { let ok = b.allow(now: t0, openFor: .seconds(60)); #expect(ok) }
        for _ in 0..<2 { b.failed(now: t0, threshold: 3, reason: "timeout") }
        #expect(b.state == .closed)
        b.failed(now: t0, threshold: 3, reason: "timeout")
        #expect(b.state == .open)
        do { let ok = b.allow(now: t0 + .seconds(59), openFor: .seconds(60)); #expect(!ok) }
        do { let ok = b.allow(now: t0 + .seconds(60), openFor: .seconds(60)); #expect(ok) }
        #expect(b.state == .halfOpen)
        do { let ok = b.allow(now: t0 + .seconds(61), openFor: .seconds(60)); #expect(!ok) }  // one trial at a time
        b.failed(now: t0 + .seconds(62), threshold: 3, reason: "still down")
        #expect(b.state == .open)
        do { let ok = b.allow(now: t0 + .seconds(122), openFor: .seconds(60)); #expect(ok) }
        b.succeeded()
        #expect(b.state == .closed)
        #expect(b.consecutiveFailures == 0)
    }

    @Test func telemetryAdmissionShedsAndCountsPerSource() {
        let bus = EventBus()
        let symbols = SymbolTable()
        let source = symbols.intern("flood")
        let name = symbols.intern("m")
        bus.setTelemetryAdmission(keepOneIn: 4)
        let events = (0..<400).map { i in
            Event(kind: .metric, lane: .telemetry, name: name, value: Double(i), source: source, time: monday)
        }
        // Offered in batches smaller than the ring, so only admission sheds.
        var outcome = PublishOutcome()
        for start in stride(from: 0, to: 400, by: 50) {
            let o = events[start..<start + 50].withUnsafeBufferPointer { bus.offer($0, lane: .telemetry) }
            outcome.accepted += o.accepted
            outcome.shed += o.shed
            var sink: [Event] = []
            _ = bus.drainAll(into: &sink, max: 1000)
        }
        #expect(outcome.accepted == 100)
        #expect(outcome.shed == 300)
        #expect(bus.throttledTelemetry == 300)
        #expect(bus.shedBySourceSymbol().first { $0.source == source }?.shed == 300)
        // Never-drop lanes are not touched.
        let signals = (0..<8).map { _ in Event(kind: .signal, lane: .incident, name: name, value: 1, source: source, time: monday) }
        #expect(signals.withUnsafeBufferPointer { bus.offer($0, lane: .incident) }.accepted == 8)
        bus.setTelemetryAdmission(keepOneIn: 1)
        let all = events[0..<50].withUnsafeBufferPointer { bus.offer($0, lane: .telemetry) }
        #expect(all.accepted == 50 && all.shed == 0)
    }
}
