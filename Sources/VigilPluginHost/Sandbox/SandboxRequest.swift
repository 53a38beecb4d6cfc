import Foundation
import VigilCore

/// What a plugin's manifest asks of the sandbox, plus the daemon's decisions (uid, paths).
/// `spec(profile:)` turns it into the `SandboxSpec` handed to `vigil-sandbox`.
public struct SandboxRequest: Sendable, Equatable {
    public var plugin: String
    /// The plugin's folder (absolute).
    public var pluginDirectory: String
    /// The program, absolute (the manifest's `exec` resolved against the folder).
    public var executable: String
    public var arguments: [String]
    /// Variables the manifest declares; nothing of the daemon's environment is added.
    public var declaredEnvironment: [String: String]
    public var uid: UInt32
    public var gid: UInt32
    public var network: SandboxSpec.NetworkMode
    public var tcpConnectPorts: [UInt16]
    public var capabilities: [String]
    public var readPaths: [String]
    public var writePaths: [String]
    public var limits: SandboxSpec.ResourceLimits
    /// Other programs the plugin may execute (the manifest's `executables`).
    public var executables: [String]
    /// Per-plugin syscall additions from the manifest.
    public var extraAllow: [String]
    public var extraWatch: [String]
    /// Whether the daemon watches the notify fd (false: unknown syscalls get EPERM from the kernel).
    public var useNotify: Bool
    /// Supplementary group ids (the manifest's granted `groups`, resolved by ``groupIDs(_:plugin:)``).
    public var groups: [UInt32] = []
    /// The plugin's own writable folder, made by the daemon (``PluginLaunchGuard``); bound
    /// writable and named in `VIGIL_DATA_DIR`.
    public var dataDirectory: String?

    public init(plugin: String, pluginDirectory: String, executable: String, arguments: [String] = [],
                declaredEnvironment: [String: String] = [:], uid: UInt32, gid: UInt32,
                network: SandboxSpec.NetworkMode = .none, tcpConnectPorts: [UInt16] = [], capabilities: [String] = [],
                readPaths: [String] = [], writePaths: [String] = [],
                limits: SandboxSpec.ResourceLimits = .init(memoryBytes: 512 << 20, cpuSeconds: nil, openFiles: 256, processes: 64),
                executables: [String] = [], extraAllow: [String] = [], extraWatch: [String] = [], useNotify: Bool = true) {
        self.plugin = plugin
        self.pluginDirectory = pluginDirectory
        self.executable = executable
        self.arguments = arguments
        self.declaredEnvironment = declaredEnvironment
        self.uid = uid
        self.gid = gid
        self.network = network
        self.tcpConnectPorts = tcpConnectPorts
        self.capabilities = capabilities
        self.readPaths = readPaths
        self.writePaths = writePaths
        self.limits = limits
        self.executables = executables
        self.extraAllow = extraAllow
        self.extraWatch = extraWatch
        self.useNotify = useNotify
        self.dataDirectory = nil
    }

    var limitsWithDefaults: SandboxSpec.ResourceLimits {
        var limits = limits
        if limits.fileBytes == nil { limits.fileBytes = Self.defaultFileBytes }
        return limits
    }

    /// `items` without repeats, first occurrence kept (the plugin's own program stays first).
    static func unique(_ items: [String]) -> [String] {
        var seen: Set<String> = []
        return items.filter { seen.insert($0).inserted }
    }

    /// The fixed part of every plugin's environment.
    public static let basePath = "/usr/local/bin:/usr/bin:/bin"

    /// RLIMIT_FSIZE when the manifest sets none: no single file of a plugin grows past it.
    public static let defaultFileBytes: UInt64 = 64 << 20

    /// The complete spec: profile lists, the clean environment and the programs it may execute.
    public func spec(profile: SandboxProfile) -> SandboxSpec {
        let resolved = profile.adding(allow: extraAllow, watch: extraWatch)
        var environment = declaredEnvironment
        environment["PATH"] = Self.basePath
        environment["HOME"] = "/tmp"
        environment["TMPDIR"] = "/tmp"
        if let dataDirectory { environment[PluginLaunchGuard.dataEnvironmentKey] = dataDirectory }
        var spec = SandboxSpec(
            plugin: plugin, executable: executable, arguments: arguments, environment: environment,
            workingDirectory: pluginDirectory, uid: uid, gid: gid,
            namespaces: .init(mount: true, pid: true, ipc: true, uts: true, net: network.ownNamespace),
            limits: limitsWithDefaults, capabilities: capabilities, network: network, tcpConnectPorts: tcpConnectPorts,
            seccomp: .init(allow: resolved.allow, watch: resolved.watch, kill: resolved.kill,
                           errno: resolved.errno, useNotify: useNotify),
            filesystem: .init(pluginDirectory: pluginDirectory, runtimePaths: resolved.runtimePaths,
                              readPaths: readPaths + executables.filter { program in
                                  !resolved.runtimePaths.contains { program.hasPrefix($0 + "/") }
                              },
                              writePaths: writePaths + (dataDirectory.map { [$0] } ?? []),
                              executables: Self.unique(([executable] + executables).flatMap(ExecutableChain.resolve))),
            landlock: true)
        spec.groups = groups
        return spec
    }

    /// The gids of group `names` on this host (`getgrnam_r`: an NSS look-up, so called on the
    /// launch thread, never on the cooperative pool). A name the host does not know, or one
    /// that is root's group, refuses the start.
    public static func groupIDs(_ names: [String], plugin: String) throws(PathRefusal) -> [UInt32] {
        var out: [UInt32] = []
        for name in names {
            let gid: UInt32
            switch lookUpGroup(name) {
            case .found(let id): gid = id
            case .absent:
                throw PathRefusal(plugin: plugin, field: "sandbox.groups", path: name, reason: "is not a group on this host")
            case .failed(let rc):
                throw PathRefusal(plugin: plugin, field: "sandbox.groups", path: name, reason: "could not be looked up (error \(rc))")
            }
            guard gid != 0 else {
                throw PathRefusal(plugin: plugin, field: "sandbox.groups", path: name, reason: "is root's group")
            }
            if !out.contains(gid) { out.append(gid) }
        }
        return out
    }

    /// What the host says of a group name (`getgrnam_r`, blocking: an NSS look-up).
    enum GroupLookup: Equatable {
        case found(UInt32)
        /// The host has no group of that name.
        case absent
        /// The look-up itself failed (the `getgrnam_r` error): neither found nor known absent.
        case failed(Int32)
    }

    static func lookUpGroup(_ name: String) -> GroupLookup {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        let rc = getgrnam_r(name, &entry, &buffer, buffer.count, &result)
        guard rc == 0 else { return .failed(rc) }
        return result == nil ? .absent : .found(entry.gr_gid)
    }
}

/// The programs an `execve` of a plugin really runs: the program, its `#!` interpreter (and, for
/// `#!/usr/bin/env NAME`, NAME found on the plugin's PATH) and the dynamic loader. Landlock's
/// execute right is granted to these and nothing else, so `execve("/bin/sh")` fails.
public enum ExecutableChain {
    /// Landlock checks the ELF interpreter for execute too (measured: without it every dynamic program fails with 133).
    static let loaders = ["/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"]

    public static func resolve(_ executable: String) -> [String] {
        var chain = [executable]
        if let interpreter = shebang(of: executable) {
            chain.append(interpreter.program)
            if interpreter.program.hasSuffix("/env"), let name = interpreter.argument,
               let found = SandboxRequest.basePath.split(separator: ":").map({ "\($0)/\(name)" })
                   .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
                chain.append(found)
            }
        }
        chain += loaders.filter { FileManager.default.fileExists(atPath: $0) }
        return chain
    }

    static func shebang(of path: String) -> (program: String, argument: String?)? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 256), head.starts(with: Array("#!".utf8)) else { return nil }
        let line = String(decoding: head.dropFirst(2).prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let program = words.first else { return nil }
        return (program, words.count > 1 ? words[1] : nil)
    }
}
