import Foundation
import Testing
import VigilConfig
import VigilCore

/// `agent:` (this daemon forwards to central daemons) and `agents:` (a central daemon watching them).
@Suite struct AgentConfigTests {
    @Test func theShippedConfigurationIsNoAgentAndWatchesAgentsAtTheDefaults() throws {
        let config = try ConfigLoader.load(path: defaultConfigPath)
        #expect(config.agent == nil)
        #expect(config.agents == AgentWatchSettings())
        #expect(config.agents.missingAfter == .seconds(60))
    }

    @Test func readsAnAgentAndItsCentralDaemons() throws {
        let path = try writeConfig(try defaultConfigText() + "\n" + """
            agent:
              central: [https://vigil-a.example:9093/, "http://10.0.0.2:9093"]
              token_file: agent.token
              call_in: 30 seconds
              batch: 200
              spool_limit: 5000
              timeout: 3 seconds
            agents:
              missing_after: 2 minutes
              severity: P2
              incident_type: WebSocket server outage
              component: hosts
            """)
        let config = try ConfigLoader.load(path: path)
        let agent = try #require(config.agent)
        #expect(agent.central == ["https://vigil-a.example:9093", "http://10.0.0.2:9093"])
        // Relative to the configuration's folder, like every other path in it.
        #expect(agent.tokenFile == (path as NSString).deletingLastPathComponent + "/agent.token")
        #expect(agent.callIn == .seconds(30) && agent.batch == 200 && agent.spoolLimit == 5000 && agent.timeout == .seconds(3))
        #expect(config.agents == AgentWatchSettings(missingAfter: .seconds(120), severity: "P2",
                                                     incidentType: "WebSocket server outage", component: "hosts"))
        // One URL may be written without a list; the defaults fill the rest.
        let single = try ConfigLoader.load(path: try writeConfig(try defaultConfigText() + "\n"
            + "agent:\n  central: http://127.0.0.1:9093\n  token_file: /etc/vigil/agent.token\n"))
        #expect(single.agent == AgentModeSettings(central: ["http://127.0.0.1:9093"], tokenFile: "/etc/vigil/agent.token"))
    }

    @Test func errorsAreLocatedAndNamed() throws {
        let text = try defaultConfigText() + "\n" + """
            agent:
              central: [ftp://nowhere, "http://host:9093?x=1", "https://user:pw@host"]
              call_in: 100 milliseconds
              batch: 5000
              spool_limit: 10
              colour: blue
            agents:
              missing_after: 1 second
              severity: P9
              incident_type: No such type
            """
        let errs = try errors(of: text)
        func line(_ needle: String) -> Int? { position(of: needle, in: text)?.line }
        #expect(errs.count { $0.message.contains("a URL like http://HOST:PORT") && $0.location.line == line("ftp://nowhere") } == 3)
        #expect(errs.contains { $0.message == "missing required key \"token_file\"" })
        #expect(errs.contains { $0.message.contains("at least 1 second") && $0.location.line == line("call_in: 100") })
        #expect(errs.contains { $0.message.contains("from 1 to 1000") && $0.location.line == line("batch: 5000") })
        #expect(errs.contains { $0.message.contains("from 1000 to 100000000") && $0.location.line == line("spool_limit: 10") })
        #expect(errs.contains { $0.message.hasPrefix("unknown key \"colour\"") && $0.location.line == line("colour: blue") })
        #expect(errs.contains { $0.message.contains("at least 5 seconds") && $0.location.line == line("missing_after: 1 second") })
        #expect(errs.contains { $0.message.contains("unknown severity \"P9\"") && $0.location.line == line("severity: P9") })
        #expect(errs.contains { $0.message.contains("must be one of incident_types") && $0.location.line == line("No such type") })
    }
}
