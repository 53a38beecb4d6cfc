import Testing
import VigilConfig
import VigilCore

@Suite struct HeartbeatConfigTests {
    @Test func noSectionMeansNoHeartbeats() throws {
        #expect(try ConfigLoader.load(path: defaultConfigPath).heartbeats.isEmpty)
    }

    @Test func readsHeartbeatsByName() throws {
        let config = try ConfigLoader.load(path: writeConfig(try defaultConfigText() + "\n" + """
            heartbeats:
              nightly-backup:
                interval: 24 hours
                grace: 30 minutes
                incident_type: WebSocket server outage
                severity: P2
                component: backups
                labels: {team: storage}
              watchdog:
                interval: 1 minute
            """))
        let byName = Dictionary(uniqueKeysWithValues: config.heartbeats.map { ($0.name, $0) })
        let backup = try #require(byName["nightly-backup"])
        #expect(backup.interval == .seconds(86_400) && backup.grace == .seconds(1800))
        #expect(backup.incidentType == "WebSocket server outage" && backup.severity == "P2" && backup.component == "backups")
        #expect(backup.labels == ["team": "storage"])
        let watchdog = try #require(byName["watchdog"])
        #expect(watchdog.interval == .seconds(60) && watchdog.grace == .zero && watchdog.severity == nil && watchdog.labels.isEmpty)
    }

    @Test func errorsAreLocatedAndNamed() throws {
        let text = try defaultConfigText() + "\n" + """
            heartbeats:
              "bad name/x":
                interval: 1 minute
              no-interval:
                grace: 1 minute
              zero:
                interval: 0 seconds
              odd:
                interval: 5 minutes
                severity: P9
                incident_type: No such type
                labels: {heartbeat: x, "0bad": y}
                colour: blue
            """
        let errs = try errors(of: text)
        func line(_ needle: String) -> Int? { position(of: needle, in: text)?.line }
        #expect(errs.contains { $0.message.contains("a name of letters, digits") && $0.location.line == line("bad name/x") })
        #expect(errs.contains { $0.message == "missing required key \"interval\"" && $0.location.line == line("grace: 1 minute") })
        #expect(errs.contains { $0.message.contains("longer than 0") && $0.location.line == line("interval: 0 seconds") })
        #expect(errs.contains { $0.message.contains("unknown severity \"P9\"") && $0.location.line == line("severity: P9") })
        #expect(errs.contains { $0.message.contains("must be one of incident_types") && $0.location.line == line("No such type") })
        #expect(errs.count { $0.message.contains("other than heartbeat") } == 2)
        #expect(errs.contains { $0.message.hasPrefix("unknown key \"colour\"") && $0.location.line == line("colour: blue") })
    }

    @Test func webhookLeaseIsRead() throws {
        let shipped = try defaultConfigText()
        #expect(shipped.contains("webhook_lease: 12 hours"))
        let config = try ConfigLoader.load(path: writeConfig(shipped.replacingOccurrences(of: "webhook_lease: 12 hours",
                                                                                          with: "webhook_lease: 6 hours")))
        #expect(config.http.webhookLease == .seconds(6 * 3600))
        #expect(try ConfigLoader.load(path: defaultConfigPath).http.webhookLease == .seconds(12 * 3600))
        #expect(try errors(of: shipped.replacingOccurrences(of: "webhook_lease: 12 hours", with: "webhook_lease: 0 seconds"))
            .contains { $0.message.contains("webhook_lease") })
    }
}
