import Foundation
import Testing
import VigilConfig
import VigilCore

/// The operator policy over plugin manifests (`plugins.policy`): what it admits, what it
/// refuses field by field, and how its own mistakes are reported.
@Suite struct PluginPolicyTests {
    static func manifest(_ sandbox: String, name: String = "evil", directory: String = "/opt/vigil/plugins/evil") throws -> PluginManifest {
        try PluginManifestFile.load(text: """
            name: \(name)
            kind: detector
            exec: run.py
            protocol: 1
            sandbox:
            \(sandbox.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            """, file: directory + "/plugin.yaml", directory: directory)
    }

    /// The default configuration with its `plugins.policy` replaced by `yaml`.
    static func configText(_ yaml: String) throws -> String {
        let text = try defaultConfigText()
        guard let start = text.range(of: "  policy:\n"), let end = text.range(of: "\n\n# The EventBus") else {
            throw ConfigErrors([])
        }
        let block = "  policy:\n" + yaml.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        return text.replacingCharacters(in: start.lowerBound..<end.lowerBound, with: block)
    }

    static func policy(_ yaml: String) throws -> PluginPolicy {
        try ConfigLoader.load(path: try writeConfig(try configText(yaml))).plugins.policy
    }

    @Test func theShippedPolicyAdmitsEveryBundledPlugin() throws {
        let config = try ConfigLoader.load(path: defaultConfigPath)
        var folders: [String] = []
        for root in [repositoryRoot + "/Plugins", repositoryRoot + "/Plugins/examples"] {
            for entry in try FileManager.default.contentsOfDirectory(atPath: root).sorted()
            where FileManager.default.fileExists(atPath: root + "/" + entry + "/plugin.yaml") {
                folders.append(root + "/" + entry)
            }
        }
        #expect(folders.count >= 7, "\(folders)")
        for folder in folders {
            let manifest = try PluginManifestFile.load(directory: folder)
            #expect(config.plugins.policy.violations(of: manifest).isEmpty,
                    "\(manifest.name): \(config.plugins.policy.violations(of: manifest))")
        }
        // network-containment holds no capability: vigild applies its one table for it.
        #expect(config.plugins.policy.ceiling(for: "network-containment").capabilities.isEmpty)
        #expect(config.plugins.policy.ceiling(for: "network-containment").nftables)
        #expect(!config.plugins.policy.ceiling(for: "someone-else").nftables)
        #expect(config.plugins.policy.ceiling(for: "storage-containment").capabilities == ["CAP_LINUX_IMMUTABLE", "CAP_FOWNER"])
    }

    @Test func aManifestAskingBeyondThePolicyIsRefusedFieldByField() throws {
        let m = try Self.manifest("""
            network: outbound
            capabilities: [CAP_SYS_ADMIN, CAP_NET_RAW]
            syscalls: { allow: [unshare, io_uring_setup, getrandom], watch: [memfd_create] }
            read_paths: [/etc/shadow]
            write_paths: [../webhook/json]
            limits: { memory: 8 GiB, processes: 1000, open_files: 100000 }
            """)
        let found = PluginPolicy.builtIn.violations(of: m)
        let pairs = found.map { "\($0.field)=\($0.asked)" }
        #expect(pairs == [
            "sandbox.network=outbound",
            "sandbox.capabilities=CAP_SYS_ADMIN", "sandbox.capabilities=CAP_NET_RAW",
            "sandbox.syscalls.allow=unshare", "sandbox.syscalls.allow=io_uring_setup", "sandbox.syscalls.allow=getrandom",
            "sandbox.syscalls.watch=memfd_create",
            "sandbox.read_paths=/etc/shadow", "sandbox.write_paths=/opt/vigil/plugins/webhook/json",
            "sandbox.limits.memory=8 GiB", "sandbox.limits.open_files=100000", "sandbox.limits.processes=1000",
        ])
        #expect(found.allSatisfy { $0.plugin == "evil" })
        #expect(found[1].description == "plugin evil: sandbox.capabilities asks for CAP_SYS_ADMIN; the policy allows never (no policy can grant it)")
        #expect(found[9].allowed == "at most 1 GiB")
    }

    @Test func aGrantWidensOnlyThePluginItNames() throws {
        let policy = try Self.policy("""
            default:
              limits: { memory: 256 MiB }
              read_paths: [/srv/shared]
            grants:
              evil:
                networks: [outbound]
                capabilities: [net_raw]
                syscalls: [getrandom]
                write_paths: [/srv/evil]
                limits: { memory: 2 GiB, cpu: 1 hour }
            """)
        let asking = """
            network: outbound
            capabilities: [CAP_NET_RAW]
            syscalls: { allow: [getrandom] }
            read_paths: [/srv/shared/x, /srv/evil/in]
            write_paths: [/srv/evil/out]
            limits: { memory: 1 GiB }
            """
        #expect(policy.violations(of: try Self.manifest(asking)).isEmpty)
        #expect(policy.violations(of: try Self.manifest(asking, name: "other", directory: "/opt/p/other")).count == 6)
        // An unset limit is not "unlimited" under a ceiling: it becomes the ceiling.
        #expect(policy.granted(try Self.manifest(asking)).sandbox.limits.cpuSeconds == 3600)
        // Prefixes are whole components: /srv/shared does not allow /srv/shared-secrets.
        #expect(policy.violations(of: try Self.manifest("read_paths: [/srv/shared-secrets]")).map(\.field) == ["sandbox.read_paths"])
    }

    @Test func theDataFolderSizeIsALimitUnderTheCeilingWithADefaultOfItsOwn() throws {
        // Unset: the default (64 MiB), not the ceiling: every byte is one of the state filesystem.
        #expect(PluginPolicy.builtIn.granted(try Self.manifest("network: none")).sandbox.limits.dataBytes == 64 << 20)
        #expect(try Self.manifest("limits: { data: 200 MiB }").sandbox.limits.dataBytes == 200 << 20)
        let big = try Self.manifest("limits: { data: 2 GiB }")
        #expect(PluginPolicy.builtIn.violations(of: big).map { "\($0.field)=\($0.asked) (\($0.allowed))" }
            == ["sandbox.limits.data=2 GiB (at most 1 GiB)"])
        let policy = try Self.policy("""
            default:
              limits: { data: 16 MiB }
            grants:
              evil: { limits: { data: 4 GiB } }
            """)
        #expect(policy.violations(of: big).isEmpty)
        #expect(policy.granted(try Self.manifest("network: none", name: "other", directory: "/opt/p/other")).sandbox.limits.dataBytes == 16 << 20)
        // Below what ext4 needs for its own tables and journal: an error at its place.
        do {
            _ = try Self.manifest("limits: { data: 1 MiB }")
            Issue.record("a 1 MiB data folder loaded")
        } catch let error as ConfigErrors {
            #expect(error.errors.map(\.description).joined().contains("a size from 4 MiB to 1 TiB"), "\(error)")
        }
    }

    @Test func aPolicyGrantingTheUngrantableIsAConfigurationErrorWithItsPlace() throws {
        let yaml = """
            default:
              capabilities: [CAP_SYS_ADMIN]
            grants:
              evil: { syscalls: [unshare, io_uring_setup], networks: [everywhere], colour: blue }
            """
        do {
            _ = try Self.policy(yaml)
            Issue.record("a policy granting CAP_SYS_ADMIN loaded")
        } catch let error as ConfigErrors {
            let lines = error.errors.map(\.description)
            #expect(lines.count == 5, "\(lines)")
            let at = try #require(position(of: "CAP_SYS_ADMIN", in: try Self.configText(yaml)))
            #expect(lines.contains { $0.hasSuffix("vigil.yaml:\(at.line):\(at.column): \"capabilities\" must be a capability a plugin may hold (CAP_SYS_ADMIN can never be granted), found \"CAP_SYS_ADMIN\"") }, "\(lines)")
            #expect(lines.contains { $0.contains("unshare can never be granted") })
            #expect(lines.contains { $0.contains("io_uring_setup can never be granted") })
            #expect(lines.contains { $0.contains("\"networks\" must be one of none, loopback, outbound, brokered, found \"everywhere\"") })
            #expect(lines.contains { $0.contains("unknown key \"colour\"") })
        }
    }

    /// Supplementary groups: only those the plugin's grant names, never one that is root in all
    /// but name, and a bad group name in a manifest is an error at its place.
    @Test func groupsAreGrantedByNameAndSomeNever() throws {
        let policy = try Self.policy("""
            default: {}
            grants:
              evil: { groups: [adm] }
            """)
        #expect(policy.violations(of: try Self.manifest("groups: [adm]")).isEmpty)
        #expect(policy.violations(of: try Self.manifest("groups: [adm]", name: "other")).map(\.field) == ["sandbox.groups"])
        let refused = policy.violations(of: try Self.manifest("groups: [adm, shadow, systemd-journal]"))
        #expect(refused.map(\.asked) == ["shadow", "systemd-journal"], "\(refused)")
        #expect(refused.first?.allowed == "never (no policy can grant it)")
        #expect(throws: ConfigErrors.self) { try Self.policy("grants:\n  evil: { groups: [disk] }") }
        #expect(throws: ConfigErrors.self) { try Self.manifest("groups: [\"adm; rm\"]") }
    }

    /// Optional programs, groups and read paths (`sandbox.optional_…`) need the same grant as
    /// required ones, whether the host has them or not; never-grantable groups stay never.
    @Test func optionalItemsAreGrantedLikeRequiredOnes() throws {
        let policy = try Self.policy("""
            default: {}
            grants:
              evil: { groups: [adm, systemd-journal], executables: [/usr/bin/journalctl], read_paths: [/var/log, /run/log/journal] }
            """)
        let asked = """
            groups: [adm]
            optional_groups: [systemd-journal]
            optional_executables: [/usr/bin//journalctl]
            optional_read_paths: [/run/log/journal/, /run/log/../log/journal/x]
            """
        let m = try Self.manifest(asked)
        #expect(m.sandbox.optionalGroups == ["systemd-journal"])
        #expect(m.sandbox.optionalExecutables == ["/usr/bin/journalctl"])
        #expect(m.sandbox.optionalReadPaths == ["/run/log/journal", "/run/log/journal/x"])
        #expect(policy.violations(of: m).isEmpty, "\(policy.violations(of: m))")
        let other = policy.violations(of: try Self.manifest(asked, name: "other"))
        #expect(other.map { "\($0.field)=\($0.asked)" } == [
            "sandbox.groups=adm", "sandbox.optional_groups=systemd-journal", "sandbox.optional_executables=/usr/bin/journalctl",
            "sandbox.optional_read_paths=/run/log/journal", "sandbox.optional_read_paths=/run/log/journal/x",
        ], "\(other)")
        let never = policy.violations(of: try Self.manifest("optional_groups: [shadow]"))
        #expect(never.map(\.allowed) == ["never (no policy can grant it)"])
        // What the sandbox gets where the host has only some of them.
        let resolved = m.sandbox.includingOptional { $0.field != .readPaths || $0.item.hasSuffix("/x") }
        #expect(resolved.groups == ["adm", "systemd-journal"] && resolved.executables == ["/usr/bin/journalctl"])
        #expect(resolved.readPaths == ["/run/log/journal/x"] && resolved.optionalItems.isEmpty)
    }

    /// The optional lists are checked like their required keys, bounded, and an item is
    /// required or optional, not both; each error names the file, its place and the key.
    @Test func optionalListsAreCheckedAndBounded() throws {
        let many = (0...PluginSandboxNeeds.maximumOptionalItems).map { "/usr/bin/p\($0)" }.joined(separator: ", ")
        let groups = (0..<10).map { "g\($0)" }.joined(separator: ", ")
        let optionalGroups = (10..<17).map { "g\($0)" }.joined(separator: ", ")
        for (yaml, expected) in [
            ("optional_groups: [\"adm; rm\"]", "\"optional_groups\" must be a group name like adm, found \"adm; rm\""),
            ("optional_executables: [journalctl]", "\"optional_executables\" must be an absolute path of a program, found \"journalctl\""),
            ("optional_read_paths: [/]", "\"optional_read_paths\" must be a path below /"),
            ("optional_read_paths: {a: b}", "optional_read_paths"),
            ("groups: [adm]\noptional_groups: [adm]", "must be an item not also under groups (an item is required or optional), found \"adm\""),
            ("executables: [/usr/bin/x]\noptional_executables: [/usr/bin/x]", "not also under executables"),
            ("optional_executables: [\(many)]", "\"optional_executables\" must be at most \(PluginSandboxNeeds.maximumOptionalItems), found \"33 items\""),
            ("groups: [\(groups)]\noptional_groups: [\(optionalGroups)]", "must be at most 16 in all, found \"17 groups with those under groups\""),
        ] {
            do {
                _ = try Self.manifest(yaml)
                Issue.record("accepted: \(yaml)")
            } catch let error as ConfigErrors {
                let text = error.errors.map(\.description).joined(separator: "\n")
                #expect(text.contains("/opt/vigil/plugins/evil/plugin.yaml:") && text.contains(expected), "\(yaml): \(text)")
            }
        }
    }

    @Test func withoutAPolicySectionEverythingBeyondTheDefaultsIsDenied() throws {
        let policy = try Self.policy("{}")
        #expect(policy.defaultCeiling == PluginPolicy.builtIn.defaultCeiling && policy.grants.isEmpty)
        #expect(policy.violations(of: try Self.manifest("network: none")).isEmpty)
        #expect(policy.violations(of: try Self.manifest("network: loopback")).map(\.field) == ["sandbox.network"])
        #expect(policy.violations(of: try Self.manifest("executables: [/bin/sh]")).map(\.field) == ["sandbox.executables"])
    }

    static func detector(emits: String, name: String = "evil") throws -> PluginManifest {
        try PluginManifestFile.load(text: """
            name: \(name)
            kind: detector
            exec: run.py
            protocol: 1
            emits: \(emits)
            """, file: "/opt/vigil/plugins/\(name)/plugin.yaml", directory: "/opt/vigil/plugins/\(name)")
    }

    /// Issue 16's attack pass: `emits: [{name: "*", lane: security}]` passed `vigil plugins
    /// check`, and the plugin raised P1 incidents from the seed's rule signals. The shipped policy
    /// refuses it, and every way around it, field `emits`.
    @Test func aDetectorMayNotDeclareTheSecurityLaneOrTheRulesNamesWithoutAGrant() throws {
        let policy = try ConfigLoader.load(path: defaultConfigPath).plugins.policy
        // What the configuration's rules listen for, and the seed's security signals.
        #expect(policy.grantOnlyNames.isSuperset(of: ["cpu_usage", "authentication_failures", "configuration_tampering_detected",
                                                       "sqlite_connection_failures", "fps"]))
        #expect(!policy.grantOnlyNames.contains("plugin_failure_rate"), "the daemon's own names are refused outright")
        func refused(_ emits: String, name: String = "evil") throws -> [String] {
            policy.violations(of: try Self.detector(emits: emits, name: name)).map { "\($0.field)=\($0.asked)" }
        }
        #expect(try refused(#"[{name: "*", lane: security}]"#) == ["emits=* (lane security)"])
        #expect(try refused(#"["*"]"#) == ["emits=*"])
        #expect(try refused("[authentication_failures, configuration_tampering_detected, cpu_usage]")
            == ["emits=authentication_failures", "emits=configuration_tampering_detected", "emits=cpu_usage"])
        // A prefix that could reach one of them, and the security lane for a name of its own.
        #expect(try refused("[auth*, cpu_*, {name: my_signal, lane: security}]")
            == ["emits=auth*", "emits=cpu_*", "emits=my_signal (lane security)"])
        // Names and prefixes no rule listens for are the default ceiling's.
        #expect(try refused("[my_signal, app_*, {name: other_signal, lane: incident}]").isEmpty)
        let v = try #require(policy.violations(of: try Self.detector(emits: "[auth*]")).first)
        #expect(v.allowed.contains("authentication_failures") && v.allowed.contains("grants.evil.emits lists nothing"), "\(v)")
        // The shipped grants: each bundled detector its own rules' names, and nobody else's.
        #expect(try refused("[cpu_usage, memory_usage, disk_space, network_latency]", name: "system-metrics").isEmpty)
        #expect(try refused("[authentication_failures]", name: "auth-watch").isEmpty)
        #expect(try refused("[authentication_failures]", name: "system-metrics") == ["emits=authentication_failures"])
        #expect(try refused("[cpu_*]", name: "auth-watch") == ["emits=cpu_*"])
    }

    @Test func anEmitsGrantCoversNamesPrefixesAndTheSecurityLane() throws {
        let policy = try Self.policy("""
            default: { emits: [app_*] }
            grants:
              watcher: { emits: [authentication_failures, sec_*] }
            """)
        func refused(_ emits: String, name: String = "watcher") throws -> [String] {
            policy.violations(of: try Self.detector(emits: emits, name: name)).map { "\($0.field)=\($0.asked)" }
        }
        #expect(try refused("[authentication_failures, sec_login, sec_x_*, {name: sec_alarm, lane: security}, app_ok]").isEmpty)
        // A prefix wider than the grant's, and a name outside the default ceiling.
        #expect(try refused("[sec*, other]") == ["emits=sec*", "emits=other"])
        // The grant is the watcher's alone; the default ceiling narrows what anyone else declares.
        #expect(try refused("[authentication_failures, app_ok, other]", name: "bystander")
            == ["emits=authentication_failures", "emits=other"])
        do {
            _ = try Self.policy("grants:\n  watcher: { emits: [plugin_quarantined, \"bad name\"] }")
            Issue.record("a grant of the daemon's own name loaded")
        } catch let error as ConfigErrors {
            let lines = error.errors.map(\.description)
            #expect(lines.count == 2, "\(lines)")
            #expect(lines.contains { $0.contains("plugin_quarantined can never be granted") }, "\(lines)")
        }
    }

    @Test func manifestPathsAreNormalizedWithoutTheFilesystemAndCannotClimbAboveRoot() throws {
        #expect(PolicyPath.normalize("/a/./b/../c//d") == "/a/c/d")
        #expect(PolicyPath.normalize("/../etc") == nil)
        #expect(PolicyPath.normalize("relative") == nil)
        #expect(PolicyPath.resolve("../sdk/python", against: "/opt/p/webhook") == "/opt/p/sdk/python")
        #expect(PolicyPath.isInside("/var/log/auth.log", "/var/log"))
        #expect(!PolicyPath.isInside("/var/logs", "/var/log"))
        #expect(PolicyPath.overlaps("/var/lib", "/var/lib/vigil"), "a parent of a protected folder shows it")
        do {
            _ = try Self.manifest("read_paths: [../../../../../../../..]")
            Issue.record("a path climbing above / loaded")
        } catch let error as ConfigErrors {
            #expect(error.errors.first?.description.contains("\"read_paths\" must be a path below /") == true, "\(error)")
        }
    }
}
