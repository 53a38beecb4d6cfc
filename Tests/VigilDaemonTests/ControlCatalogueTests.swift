import Testing
import VigilControl
import VigilDaemon

/// The catalogue the HTTP routes and the CLI's `--url` transport are made from names only
/// commands the daemon's executor knows.
@Suite struct ControlCatalogueTests {
    @Test func everyRoutedCommandIsOneTheDaemonRuns() {
        let known = Set(["status", "events.send", "rules.sources", "rules.samples", "agents.list", "plugins.list", "plugins.show", "plugins.enable", "plugins.disable"]
            + IncidentControl.commands + ActionControl.commands + AccessControl.commands + ["silences.preview"])
        for route in ControlCatalogue.routes {
            #expect(known.contains(route.command), "\(route.method) \(route.path) → unknown \(route.command)")
            #expect(route.path.hasPrefix("/api/v1/"))
        }
        // What the CLI can do to incidents is all reachable remotely (ack links stay local).
        let routed = Set(ControlCatalogue.routes.map(\.command))
        for command in IncidentControl.commands + ActionControl.commands {
            #expect(routed.contains(command), "\(command) has no /api/v1 route")
        }
        // Of the silences, only the preview: their changes go through Alertmanager's /api/v2.
        #expect(SilenceControl.commands.filter(routed.contains) == ["silences.preview"])
    }
}
