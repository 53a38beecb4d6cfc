import Testing
import VigilCore

/// What a plugin may name its events and labels, and what an error about a bad name says.
@Suite struct EventNameTests {
    @Test(arguments: ["plugin", "source", "Plugin", "PLUGIN", "Source", "plugin_name", "Plugin_Id", "source_host", "__name__", "__x"])
    func theDaemonsLabelsAreReservedInEveryForm(_ name: String) {
        #expect(EventName.isReservedLabel(name))
    }

    @Test(arguments: ["plugins", "pluginname", "resource", "sources", "host", "_private", "my_plugin"])
    func otherLabelsAreNot(_ name: String) {
        #expect(!EventName.isReservedLabel(name))
    }

    @Test func anOverlongNameIsToldItsLengthAndTheLimit() {
        let long = String(repeating: "a", count: 500_000)
        #expect(!EventName.isValidLabel(long))
        let problem = EventName.problem(with: long, label: true)
        #expect(problem.contains("500000 bytes") && problem.contains("at most \(EventName.maximumNameBytes)"), "\(problem)")
        #expect(EventName.problem(with: "", label: true) == "it is empty")
        #expect(EventName.problem(with: "9lives", label: true).contains("do not start with a digit"))
        #expect(EventName.problem(with: "a:b", label: false).contains("':'"))
    }
}
