import Testing
import VigilConfig
import VigilCore

/// `plugin.yaml` comes with the plugin: its values are input like any frame.
@Suite struct ManifestBoundsTests {
    func manifest(_ extra: String) throws(ConfigErrors) -> PluginManifest {
        let text = """
        name: probe
        kind: detector
        exec: bin/probe
        protocol: 1
        \(extra)
        """
        return try PluginManifestFile.load(text: text, file: "/plugins/probe/plugin.yaml", directory: "/plugins/probe")
    }

    /// `n * scale` overflowed UInt64 and trapped.
    @Test(arguments: ["17179869184 GiB", "18446744073709551615 k", "99999999999 GB"])
    func memoryLimitBeyondUInt64IsAnError(size: String) {
        #expect(throws: ConfigErrors.self) {
            try manifest("sandbox:\n  limits:\n    memory: \(size)")
        }
    }

    @Test func largestMemoryLimitIsRead() throws {
        let m = try manifest("sandbox:\n  limits:\n    memory: 17179869183 GiB")
        #expect(m.sandbox.limits.memoryBytes == 17_179_869_183 << 30)
    }

    /// Nested aliases ("billion laughs"): a few hundred bytes that expanded to 10^9 values.
    @Test(.timeLimit(.minutes(1))) func aliasBombInConfigIsAnError() {
        var yaml = "config:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for k in 1...9 {
            let refs = Array(repeating: "*a\(k - 1)", count: 10).joined(separator: ", ")
            yaml += "  a\(k): &a\(k) [\(refs)]\n"
        }
        #expect(throws: ConfigErrors.self) { try manifest(yaml) }
    }

    @Test func ordinaryConfigStillLoads() throws {
        let m = try manifest("config:\n  threshold: 5\n  names: &n [a, b]\n  again: *n")
        #expect(m.config["threshold"] == .number(5))
        #expect(m.config["again"] == .array([.string("a"), .string("b")]))
    }
}
