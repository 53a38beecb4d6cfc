import VigilControl
import Foundation
import VigilBus
import VigilCore
import VigilPluginHost
import VigilStore

extension ResponseEngine {
    public static let checkNames = ["threat_contained", "system_stable", "no_collateral_impact", "monitoring_working",
                                    "backups_operational"]

    /// Verifies once no action of the incident is waiting or running; moves it to `contained`
    /// when all five checks pass, or tries again after `verify_every`.
    func verifyIfSettled(_ id: String) async {
        do {
            guard let incident = try await store.incident(id: id), incident.state == .containing else {
                verifyAgainAt[id] = nil
                lastVerification[id] = nil
                return
            }
            // The five checks look at this host; an agent's incident is contained on its host.
            guard AgentService.host(of: incident) == nil else {
                verifyAgainAt[id] = nil
                return
            }
            let actions = try await store.actions(incidentID: id)
            guard actions.allSatisfy(\.actionState.isSettled) else {
                verifyAgainAt[id] = nil
                return
            }
            _ = try await verify(id, actor: Self.actor, incident: incident, actions: actions)
        } catch {
            logger.error("containment verification failed to run", metadata: ["id": "\(id)", "error": "\(error)"])
        }
    }

    /// Runs the five checks now and records each in the timeline (a retry records them only
    /// when a result changed); all passing moves a `containing` incident to `contained`.
    public func verify(_ id: String, actor: String) async throws -> [VerificationCheck] {
        guard let incident = try await store.incident(id: id) else { throw ResponseError("no incident \(id)") }
        if let agent = AgentService.host(of: incident) {
            throw ResponseError("incident \(id) is on host agent \(agent): its containment is not checked from this host; "
                + "check the host and move the incident on with vigil incidents transition \(id) contained")
        }
        lastVerification[id] = nil
        return try await verify(id, actor: actor, incident: incident, actions: try await store.actions(incidentID: id))
    }

    private func verify(_ id: String, actor: String, incident: Incident, actions: [ActionRecord]) async throws
        -> [VerificationCheck] {
        let checks = await runChecks(incident, actions: actions)
        let results = Dictionary(uniqueKeysWithValues: checks.map { ($0.name, $0.passed) })
        let allPassed = checks.allSatisfy(\.passed)
        if lastVerification[id] != results {
            lastVerification[id] = results
            let now = clock.now()
            let every = DurationText.format(settings.verifyEvery)
            try await store.write { tx in
                guard let current = try tx.incident(id: id) else { return }
                var entries = checks.map { c in
                    TimelineEntry(incidentID: id, time: now, actor: actor, kind: .verification,
                                  message: "\(c.passed ? "✓" : "✗") \(c.name.replacingOccurrences(of: "_", with: " ")): \(c.detail)",
                                  data: ["check": c.name, "passed": "\(c.passed)"])
                }
                entries.append(TimelineEntry(
                    incidentID: id, time: now, actor: actor, kind: .verification,
                    message: allPassed ? "Containment verified: 5 of 5 checks passed"
                        : "Containment not verified: \(checks.filter { !$0.passed }.count) of 5 checks failed; "
                        + (current.state == .containing ? "checking again every \(every)" : ""),
                    data: ["passed": "\(allPassed)"]))
                try tx.commit(StoreChange(incident: current, timeline: entries))
            }
        }
        if allPassed, incident.state == .containing {
            verifyAgainAt[id] = nil
            lastVerification[id] = nil
            _ = try await incidents.transition(id, to: .contained, reason: "containment verified (5 of 5 checks passed)",
                                               actor: Self.actor)
        } else if incident.state == .containing {
            verifyAgainAt[id] = clock.now() + settings.verifyEvery
        }
        return checks
    }

    func runChecks(_ incident: Incident, actions: [ActionRecord]) async -> [VerificationCheck] {
        let statuses = await host?.statuses() ?? []
        let evidence = (try? await store.evidence(incidentID: incident.id)) ?? []
        let affected = BuiltInActions.affectedPlugins(incident, evidence: evidence, loaded: Set(statuses.map(\.name)))
        // Plugins the response stopped on purpose are not collateral damage.
        var stoppedOnPurpose = Set(affected)
        for a in actions where a.actionState == .succeeded {
            for p in a.result?["performers"]?.arrayValue ?? [] {
                for key in ["quarantined", "disabled"] {
                    for n in p["evidence"]?[key]?.arrayValue ?? [] { if let s = n.stringValue { stoppedOnPurpose.insert(s) } }
                }
                for o in p["evidence"]?["opened"]?.arrayValue ?? [] {
                    if let s = o["plugin"]?.stringValue { stoppedOnPurpose.insert(s) }
                }
            }
        }
        var checks: [VerificationCheck] = []

        // 1. Threat contained: the offending plugins are stopped, or the rule stopped firing.
        let failedActions = actions.filter { $0.actionState == .failed }
        if !affected.isEmpty {
            let still = affected.filter { n in
                guard let s = statuses.first(where: { $0.name == n }) else { return false }
                return s.state != .quarantined && s.state != .disabled
            }
            checks.append(VerificationCheck(name: "threat_contained", passed: still.isEmpty,
                                            detail: still.isEmpty ? "offending plugin(s) \(affected.joined(separator: ", ")) stopped"
                                                : "still running: \(still.joined(separator: ", "))"))
        } else if incident.source.hasPrefix("rule:") {
            let cleared = incident.conditionClearedAt != nil
            checks.append(VerificationCheck(name: "threat_contained", passed: cleared,
                                            detail: cleared ? "\(incident.source) no longer fires (since \(incident.conditionClearedAt?.rfc3339 ?? ""))"
                                                : "\(incident.source) is still firing"))
        } else {
            checks.append(VerificationCheck(name: "threat_contained", passed: failedActions.isEmpty,
                                            detail: failedActions.isEmpty ? "no rule or plugin to watch; every containment action settled without failure"
                                                : "failed: \(failedActions.map(\.name).joined(separator: ", "))"))
        }

        // 2. System stable: no lane above its high watermark, the store sound.
        let lanes = bus?.statistics() ?? []
        let hot = lanes.filter(\.aboveHighWatermark).map { "\($0.lane)" }
        let store = self.store
        let integrity = (try? await BuiltInActions.offPool { try store.quickCheck() }) ?? "unreadable"
        checks.append(VerificationCheck(name: "system_stable", passed: hot.isEmpty && integrity == "ok",
                                        detail: (hot.isEmpty ? "no bus lane above its high watermark" : "above the high watermark: \(hot.joined(separator: ", "))")
                                            + "; store quick_check \(integrity)"))

        // 3. No collateral impact: every other plugin healthy.
        let unhealthy = statuses.filter { s in
            guard !stoppedOnPurpose.contains(s.name) else { return false }
            switch s.state {
            case .backingOff, .quarantined: return true
            case .disabled, .running, .starting, .stopping: return false
            }
        }.map { "\($0.name) (\($0.state.name))" }
        checks.append(VerificationCheck(name: "no_collateral_impact", passed: unhealthy.isEmpty,
                                        detail: unhealthy.isEmpty ? "\(statuses.count - stoppedOnPurpose.intersection(statuses.map(\.name)).count) other plugin(s) healthy"
                                            : "unhealthy: \(unhealthy.joined(separator: ", "))"))

        // 4. Monitoring still working: the bus is drained and detectors run.
        let detectors = statuses.filter { $0.kind == .detector && !stoppedOnPurpose.contains($0.name) }
        let runningDetectors = detectors.filter { $0.state == .running }
        let busOK = bus != nil && hot.isEmpty
        let monitoring = busOK && (detectors.isEmpty || !runningDetectors.isEmpty)
        checks.append(VerificationCheck(name: "monitoring_working", passed: monitoring,
                                        detail: (busOK ? "the bus consumer keeps up" : "the bus is not draining")
                                            + "; \(runningDetectors.count) of \(detectors.count) detector(s) running"))

        // 5. Backups operational: the newest backup verifies against its checksum.
        let dir = builtIns.backupDirectory
        let now = clock.now()
        checks.append((try? await BuiltInActions.offPool { Self.backupCheck(dir, now: now) })
            ?? VerificationCheck(name: "backups_operational", passed: false, detail: "the check did not run"))
        return checks
    }

    nonisolated static func backupCheck(_ dir: String, now: Timestamp) -> VerificationCheck {
        let fm = FileManager.default
        guard let newest = Store.backups(in: dir).last else {
            let writable = (try? fm.createDirectory(atPath: dir, withIntermediateDirectories: true)) != nil
                && fm.isWritableFile(atPath: dir)
            return VerificationCheck(name: "backups_operational", passed: writable,
                                     detail: writable ? "no backup taken yet; \(dir) is writable" : "\(dir) is not writable")
        }
        let file = (dir as NSString).appendingPathComponent(newest)
        do {
            let m = try Store.verifyBackup(file, createdAt: now)
            let recorded = (try? String(contentsOfFile: file + ".sha256", encoding: .utf8))?.split(separator: " ").first.map(String.init)
            let matches = recorded == nil || recorded == m.sha256
            let ok = m.integrity == "ok" && matches
            return VerificationCheck(name: "backups_operational", passed: ok,
                                     detail: "\(newest): integrity \(m.integrity), checksum "
                                         + (recorded == nil ? "not recorded" : matches ? "matches" : "DOES NOT MATCH")
                                         + ", \(m.rowCounts["incident"] ?? 0) incident(s)")
        } catch {
            return VerificationCheck(name: "backups_operational", passed: false, detail: "\(newest) is not readable: \(error)")
        }
    }
}
