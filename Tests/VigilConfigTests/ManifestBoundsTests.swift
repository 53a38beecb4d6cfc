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

    /// Attack pass: Docs/sandbox.md gives the data folder's range up to 1 TiB, which the
    /// parser refused ("1024 GiB" was needed); TiB is a unit like the others, and still checked.
    @Test func terabytesAreASize() throws {
        let m = try manifest("sandbox:\n  limits:\n    data: 1 TiB\n    memory: 2 T")
        #expect(m.sandbox.limits.dataBytes == 1 << 40)
        #expect(m.sandbox.limits.memoryBytes == 2 << 40)
        #expect(throws: ConfigErrors.self) { try manifest("sandbox:\n  limits:\n    memory: 16777216 TiB") }
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

/// Found by reading Yams: its duplicate-key check hashes whole keys, so an alias bomb used as a
/// mapping key hung the load (measured: still running after 2 minutes) before any loader ran.
@Suite struct YAMLExpansionTests {
    static func bomb(levels: Int) -> String {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for k in 1...levels {
            yaml += "a\(k): &a\(k) [\(Array(repeating: "*a\(k - 1)", count: 10).joined(separator: ", "))]\n"
        }
        return yaml + "? *a\(levels)\n: v\n"
    }

    @Test(.timeLimit(.minutes(1))) func aliasBombAsAKeyIsRefusedEverywhere() {
        let text = Self.bomb(levels: 8)
        #expect(throws: ConfigErrors.self) { try ConfigLoader.load(text: text, file: "/nowhere/vigil.yaml") }
        #expect(throws: ConfigErrors.self) { try RuleFileLoader.load(text: text, file: "/nowhere/rules.yaml") }
        #expect(throws: ConfigErrors.self) {
            try PluginManifestFile.load(text: text, file: "/nowhere/p/plugin.yaml", directory: "/nowhere/p")
        }
    }

    @Test func ordinaryAliasesAndLargeFilesStillLoad() throws {
        let small = Self.bomb(levels: 3)  // 10^4 values: fine
        do {
            _ = try ConfigLoader.load(text: small, file: "/nowhere/vigil.yaml")
        } catch {
            #expect(!error.description.contains("expands to more than"))
        }
        let rules = "rules:\n" + (0..<5000).map { "  - id: r\($0)\n    rule: cpu_usage > \($0)% for 5 minutes\n" }.joined()
        #expect(try RuleFileLoader.load(text: rules, file: "/nowhere/rules.yaml").rules.count == 5000)
    }
}
