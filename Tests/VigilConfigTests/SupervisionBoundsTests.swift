import Testing
import VigilConfig
import VigilCore

/// `plugins.supervision` durations have floors: a zero backoff restarts a crashing plugin in a
/// hot loop, a zero window or sampling interval divides nothing by nothing.
@Suite struct SupervisionBoundsTests {
    static func config(_ supervision: String) throws -> String {
        let text = try defaultConfigText()
        guard let r = text.range(of: "\nplugins:\n") else { throw ConfigErrors([]) }
        return String(text[..<r.upperBound]) + "  supervision:\n" + supervision + "\n" + String(text[r.upperBound...])
    }

    @Test func durationsBelowTheirFloorAreRefusedByName() throws {
        for (key, low, floor) in [("initial_backoff", "0s", "10ms"), ("maximum_backoff", "5ms", "10ms"),
                                  ("crash_loop_window", "0s", "1s"), ("stable_run", "500ms", "1s"),
                                  ("failure_rate_window", "0s", "1s"), ("failure_rate_interval", "0s", "100ms"),
                                  ("syscall_window", "0s", "1s"), ("cpu_held_at_quota", "0s", "1s")] {
            let errs = try errors(of: try Self.config("    \(key): \(low)"))
            #expect(errs.contains { $0.description.contains(key) && $0.description.contains("at least") }, "\(key): \(errs)")
            // At the floor it loads.
            let config = try ConfigLoader.load(path: writeConfig(try Self.config("    \(key): \(floor)")))
            #expect(config.plugins.supervision.initialBackoff != nil || key != "initial_backoff")
        }
    }

    @Test func shutdownGraceMayBeZero() throws {
        let config = try ConfigLoader.load(path: writeConfig(try Self.config("    shutdown_grace: 0s")))
        #expect(config.plugins.supervision.shutdownGrace == .zero)
    }
}
