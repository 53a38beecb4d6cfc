import Foundation
import Testing
import VigilConfig
import VigilCore

/// The repository root, found from this file's path (tests run from a clone).
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

let defaultConfigPath = repositoryRoot + "/Config/vigil.yaml"

/// Writes `text` as a config in a fresh folder next to copies of the default's companion files.
func writeConfig(_ text: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-config-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for f in ["detection-rules.yaml", "operator-rules.yaml", "containment-rules.yaml", "runbooks"] {
        try FileManager.default.copyItem(atPath: repositoryRoot + "/Config/" + f, toPath: dir + "/" + f)
    }
    let path = dir + "/vigil.yaml"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

func defaultConfigText() throws -> String { try String(contentsOfFile: defaultConfigPath, encoding: .utf8) }

/// Loads `text` and returns the errors it must produce.
func errors(of text: String) throws -> [ConfigError] {
    let path = try writeConfig(text)
    do {
        _ = try ConfigLoader.load(path: path)
        return []
    } catch {
        return error.errors
    }
}

/// Line and column (1-based) of the first occurrence of `needle` in `text`.
func position(of needle: String, in text: String) -> (line: Int, column: Int)? {
    for (i, line) in text.components(separatedBy: "\n").enumerated() {
        if let r = line.range(of: needle) {
            return (i + 1, line.distance(from: line.startIndex, to: r.lowerBound) + 1)
        }
    }
    return nil
}

@Suite struct DefaultConfiguration {
    @Test func loadsBothLaddersAsProfiles() throws {
        let c = try ConfigLoader.load(path: defaultConfigPath)
        #expect(c.policy.ladder.name == "p1-p4")
        let p0 = try #require(c.policy.ladders["p0-p3"])
        #expect(p0.levels.map(\.code) == ["P0", "P1", "P2", "P3"])
        #expect(p0.levels.map(\.responseTime) == [.seconds(900), .seconds(1800), .seconds(7200), .seconds(86400)])
        #expect(p0.levels.map(\.teamMobilisation) == ["Full incident response team", "Core response team + specialists",
                                                      "Primary on-call engineer", "Scheduled resolution"])
        let p1 = try #require(c.policy.ladders["p1-p4"])
        #expect(p1.levels.map(\.code) == ["P1", "P2", "P3", "P4"])
        #expect(p1.levels.map(\.responseTime) == [.seconds(900), .seconds(3600), .seconds(14400), nil])
        #expect(p1.levels.map(\.userScope) == ["All users", "Group of users", "Individual users", "None"])
        #expect(p1.levels.map(\.serviceImpact) == ["Complete Outage", "Partial Outage", "Degraded", "None"])
    }

    @Test func incidentTypeTableMatchesSeed000() throws {
        let c = try ConfigLoader.load(path: defaultConfigPath)
        let expected: [(String, String)] = [
            ("WebSocket server outage", "P1"), ("Authentication failure", "P1"), ("API quota exhaustion", "P1"),
            ("Data corruption", "P1"), ("High CPU utilization", "P2"), ("Elevated error rates", "P2"),
            ("Performance degradation", "P3"),
            // Detected by the bundled uptime checks (issue 21).
            ("Service outage", "P1"), ("TLS certificate expiry", "P3"),
            ("Minor UI issues", "P4"),
            // The daemon's own, for notifications nobody could deliver.
            ("Notification failure", "P2"),
        ]
        #expect(c.policy.incidentTypes.map { [$0.name, $0.severity] } == expected.map { [$0.0, $0.1] })
    }

    @Test func escalationPathsMatchSeed000() throws {
        let e = try ConfigLoader.load(path: defaultConfigPath).policy.escalation
        #expect(e.chain(from: "on_call_engineer", severity: "P1") == [.role("team_lead"), .role("engineering_manager"), .role("cto")])
        #expect(e.chain(from: "on_call_engineer", severity: "P2") == [.role("team_lead"), .role("engineering_manager")])
        #expect(e.chain(from: "on_call_engineer", severity: "P3") == [.role("team_lead")])
        #expect(e.chain(from: "on_call_engineer", severity: "P4") == [.backlog])
        #expect(e.chain(from: "team_lead", severity: "P1") == [.role("engineering_manager"), .role("cto")])
        #expect(e.chain(from: "team_lead", severity: "P2") == [.role("engineering_manager")])
        #expect(e.chain(from: "team_lead", severity: "P3") == [.assignToTeam])
        #expect(e.chain(from: "team_lead", severity: "P4") == [.backlog])
        #expect(e.chain(from: "engineering_manager", severity: "P1") == [.role("cto")])
        #expect(e.chain(from: "engineering_manager", severity: "P2") == [.role("cto")])
        #expect(e.chain(from: "engineering_manager", severity: "P3") == [.assignToTeam])
        #expect(e.chain(from: "engineering_manager", severity: "P4") == [.backlog])
    }

    @Test func rolesRosterAndContainmentLoad() throws {
        let c = try ConfigLoader.load(path: defaultConfigPath)
        #expect(c.policy.roles.map(\.name) == ["Incident Commander", "Technical Lead", "Communications Lead",
                                               "Operations Engineer", "Security Engineer"])
        #expect(c.policy.roster.rotations.contains { $0.role == "on_call_engineer" })
        #expect(c.policy.containment["security_breach"] == ["isolate_affected_plugins", "disable_external_connections",
                                                            "backup_current_state", "enable_enhanced_logging"])
        #expect(c.policy.containment["system_overload"] == ["implement_circuit_breakers", "reduce_eventbus_throughput",
                                                            "disable_non_critical_plugins", "scale_resources_if_available"])
        #expect(c.policy.containment["data_corruption"] == ["stop_write_operations", "backup_current_state",
                                                            "isolate_affected_storage", "enable_read_only_mode"])
        #expect(c.ruleFiles.map { ($0 as NSString).lastPathComponent } == ["detection-rules.yaml", "operator-rules.yaml"])
        // The seed's twelve, the bundled detectors' (uptime, data integrity, application), plus the
        // daemon's own rules about quarantined plugins (operator-rules.yaml).
        #expect(c.rules.rules.filter { $0.section != nil }.count == 12)
        #expect(c.rules.rules.map(\.id).filter { $0.hasPrefix("uptime.") || $0.hasPrefix("application.") || $0.hasPrefix("data_integrity.") }
            == ["uptime.websocket_down", "uptime.endpoint_down", "uptime.tls_certificate_expiring",
                "data_integrity.sqlite_corruption_detected", "application.api_quota_usage", "application.application_errors",
                "application.ui_errors", "application.ui_issue_reported"])
        #expect(c.rules.rules.map(\.id).filter { $0.hasPrefix("vigil.") } == ["vigil.critical_plugin_quarantined", "vigil.plugin_quarantined"])
        #expect(c.rules.rule(id: "system_health.cpu_usage")?.incidentType == "High CPU utilization")
        #expect(c.consistentlyDuration == .seconds(300))
    }

    /// The seed's YAML blocks are kept byte for byte: the files equal the lines between the fences.
    @Test(arguments: [("incident_detection:", "detection-rules.yaml"), ("containment_rules:", "containment-rules.yaml")])
    func seedBlocksAreKeptByteForByte(marker: String, file: String) throws {
        let seedPath = repositoryRoot + "/../shared/seeds/004_7f0a180c51e202db.txt"
        let kept = try String(contentsOfFile: repositoryRoot + "/Config/" + file, encoding: .utf8)
        guard let seed = try? String(contentsOfFile: seedPath, encoding: .utf8) else {
            // Without the seed beside the clone, at least the known first and last lines must be there.
            #expect(kept.contains("   " + marker + "\n"))
            return
        }
        let lines = seed.components(separatedBy: "\n")
        let markerIndex = try #require(lines.firstIndex { $0.trimmingWhitespace() == marker })
        let open = try #require(lines[..<markerIndex].lastIndex { $0.trimmingWhitespace() == "```yaml" })
        let close = try #require(lines[markerIndex...].firstIndex { $0.trimmingWhitespace() == "```" })
        let block = lines[(open + 1)..<close].joined(separator: "\n") + "\n"
        #expect(kept == block)
    }

    @Test func nameResolvesAcrossLadders() throws {
        let text = try defaultConfigText().replacingOccurrences(of: "active: p1-p4", with: "active: p0-p3")
        let c = try ConfigLoader.load(path: try writeConfig(text))
        #expect(c.policy.incidentType(named: "High CPU utilization")?.severity == "P1")
        #expect(c.policy.incidentType(named: "WebSocket server outage")?.severity == "P0")
        #expect(c.policy.escalation.chain(from: "on_call_engineer", severity: "P0").count == 3)
    }
}

@Suite struct ConfigErrorsAreLocated {
    @Test func invalidDuration() throws {
        let text = try defaultConfigText().replacingOccurrences(of: "response_time: 30 minutes", with: "response_time: 30 mins")
        let errs = try errors(of: text)
        let pos = try #require(position(of: "30 mins", in: text))
        #expect(errs.count == 1)
        let e = try #require(errs.first)
        #expect(e.location.line == pos.line && e.location.column == pos.column)
        #expect(e.description.hasSuffix("vigil.yaml:\(pos.line):\(pos.column): expected a duration like \"15 minutes\", \"2 hours\" or \"30 seconds\", found \"30 mins\""))
    }

    @Test func unknownSeverity() throws {
        let text = try defaultConfigText().replacingOccurrences(of: "severity: P3 - Medium\n    components: [application]\n    runbook",
                                                                with: "severity: P7 - Urgent\n    components: [application]\n    runbook")
        let errs = try errors(of: text)
        let pos = try #require(position(of: "P7 - Urgent", in: text))
        #expect(errs.count == 1)
        #expect(errs.first?.location.line == pos.line)
        #expect(errs.first?.location.column == pos.column)
        #expect(errs.first?.message == "unknown severity \"P7 - Urgent\"; the ladder has P1 (Critical), P2 (High), P3 (Medium), P4 (Low)")
    }

    @Test func brokenYAML() throws {
        let text = try defaultConfigText().replacingOccurrences(of: "log_level: info", with: "log_level: [info")
        let errs = try errors(of: text)
        #expect(errs.count == 1)
        guard case .syntax(let loc, let problem)? = errs.first else {
            Issue.record("expected a syntax error, got \(errs)")
            return
        }
        #expect(loc.file.hasSuffix("vigil.yaml"))
        #expect(loc.line > 1)
        #expect(!problem.isEmpty)
        #expect(errs.first?.description.contains("vigil.yaml:\(loc.line):\(loc.column): the YAML does not parse") == true)
    }

    @Test func unknownKeyIsNamedWithTheAllowedOnes() throws {
        let text = try defaultConfigText().replacingOccurrences(of: "log_level: info", with: "log_levle: info")
        let errs = try errors(of: text)
        #expect(errs.count == 1)
        #expect(errs.first?.message.hasPrefix("unknown key \"log_levle\"; expected one of state_dir, log_level") == true)
    }

    @Test func everyErrorIsReportedAtOnce() throws {
        let text = try defaultConfigText()
            .replacingOccurrences(of: "response_time: 2 hours", with: "response_time: two hours")
            .replacingOccurrences(of: "period: 2 weeks", with: "period: fortnight")
        #expect(try errors(of: text).count == 2)
    }

    @Test func missingFileIsAnError() throws {
        do {
            _ = try ConfigLoader.load(path: "/nonexistent/vigil.yaml")
            Issue.record("loading a missing file must fail")
        } catch {
            #expect(error.description.hasPrefix("/nonexistent/vigil.yaml:1:1: cannot read /nonexistent/vigil.yaml"))
        }
    }
}

@Suite struct RunbookFiles {
    static let actions = Set(try! ConfigLoader.load(path: defaultConfigPath).policy.containment.values.joined())

    @Test func theSeedsFiveRunbooksLoadAndEveryIncidentTypesRunbookExists() throws {
        let c = try ConfigLoader.load(path: defaultConfigPath)
        #expect(c.runbooks.keys.sorted() == ["api-quota-exhaustion", "authentication-failure", "data-corruption",
                                             "performance-degradation", "websocket-outage"])
        #expect(c.policy.runbooks == c.runbooks)
        for type in c.policy.incidentTypes {
            if let r = type.runbook { #expect(c.runbooks[r] != nil, "incident type \(type.name) names runbook \(r)") }
        }
        let data = try #require(c.runbooks["data-corruption"])
        #expect(data.steps.first == .action("stop_write_operations"))
        #expect(data.steps.contains { if case .check = $0 { true } else { false } })
        for r in c.runbooks.values {
            for case .action(let a) in r.steps { #expect(Self.actions.contains(a), "\(r.name): \(a)") }
        }
    }

    func problems(_ text: String, name: String = "demo") -> [String] {
        let d = Diagnostics()
        _ = RunbookLoader.parse(text: text, file: "runbooks/\(name).yaml", name: name, actions: Self.actions, diagnostics: d)
        return d.errors.map(\.description)
    }

    @Test func anIncidentTypeOrRuleNamingAMissingRunbookIsRefusedWhereItSaysSo() throws {
        let text = try defaultConfigText().replacingOccurrences(of: "runbook: websocket-outage", with: "runbook: websocket-outgae")
        let pos = try #require(position(of: "websocket-outgae", in: text))
        let errs = try errors(of: text)
        #expect(errs.count == 1)
        #expect(errs.first?.description.contains("vigil.yaml:\(pos.line):\(pos.column):") == true)
        #expect(errs.first?.description.contains("websocket-outgae") == true)
        let policy = try ConfigLoader.load(path: defaultConfigPath).policy
        #expect {
            _ = try RuleFileLoader.load(text: "rules:\n  - rule: cpu_usage > 95%\n    runbook: perf\n", file: "ops.yaml",
                                        policy: policy)
        } throws: { error in
            (error as? ConfigErrors)?.errors.first?.description.hasPrefix("ops.yaml:3:14:") == true
        }
    }

    @Test func mistakesAreLocatedAndNamed() {
        let unknownAction = problems("runbook: demo\ntitle: Demo\nsteps:\n  - action: reboot_everything\n")
        #expect(unknownAction.count == 1)
        #expect(unknownAction.first?.hasPrefix("runbooks/demo.yaml:4:13:") == true)
        #expect(unknownAction.first?.contains("reboot_everything") == true)
        let both = problems("runbook: demo\ntitle: Demo\nsteps:\n  - action: backup_current_state\n    check: twice\n")
        #expect(both.first?.hasPrefix("runbooks/demo.yaml:4:5:") == true)
        #expect(both.first?.contains("exactly one of") == true)
        let renamed = problems("runbook: other\ntitle: Demo\nsteps:\n  - check: look\n")
        #expect(renamed.first?.hasPrefix("runbooks/demo.yaml:1:10:") == true)
        let noSteps = problems("runbook: demo\ntitle: Demo\n")
        #expect(noSteps.first?.contains("steps") == true)
        #expect(problems("runbook: demo\ntitle: Demo\nsteps:\n  - check: look\n  - action: backup_current_state\n").isEmpty)
    }
}

