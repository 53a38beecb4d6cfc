import VigilControl
import Foundation
import VigilCore
import VigilDaemon

/// The repository root, found from this file's path.
public let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// The folder holding the built `vigild`, `vigil` and `vigil-sandbox` (next to the test bundle).
public let productsDirectory: String = {
    if let dir = ProcessInfo.processInfo.environment["VIGIL_BIN_DIR"] { return dir }
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("vigild").path) { return url.path }
    }
    return repositoryRoot + "/.build/debug"
}()

public let isRoot = getuid() == 0

/// A real `vigild` child process with its own state folder, stopped when the test ends.
public final class DaemonProcess: @unchecked Sendable {
    public let stateDirectory: String
    public let configPath: String
    public let logPath: String
    public private(set) var process: Process

    /// Shell commands run just before `exec vigild`, in the process that becomes the daemon
    /// (`$$` is the daemon's pid).
    public let prelude: String?
    /// A command the daemon runs under (`["/usr/sbin/ip", "netns", "exec", "NAME"]`).
    public let launcher: [String]
    /// `--http-listen`: a free loopback port by default, so daemons of parallel tests (and of
    /// other checkouts on the machine) never fight over the configuration's 9093.
    public let httpListen: String

    public init(config: String = repositoryRoot + "/Config/vigil.yaml", stateDirectory: String? = nil, prelude: String? = nil,
                launcher: [String] = [], httpListen: String = "127.0.0.1:0") throws {
        self.prelude = prelude
        self.launcher = launcher
        self.httpListen = httpListen
        self.stateDirectory = stateDirectory ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("vigild-\(UUID().uuidString.prefix(8))").path
        self.configPath = config
        self.logPath = self.stateDirectory + ".log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process = Process()
        try start()
    }

    public func start() throws {
        let p = Process()
        if let prelude {
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", prelude + "\nexec \"$0\" \"$@\"", productsDirectory + "/vigild",
                           "--config", configPath, "--state-dir", stateDirectory, "--http-listen", httpListen]
        } else if let first = launcher.first {
            p.executableURL = URL(fileURLWithPath: first)
            p.arguments = Array(launcher.dropFirst()) + [productsDirectory + "/vigild", "--config", configPath,
                                                         "--state-dir", stateDirectory, "--http-listen", httpListen]
        } else {
            p.executableURL = URL(fileURLWithPath: productsDirectory + "/vigild")
            p.arguments = ["--config", configPath, "--state-dir", stateDirectory, "--http-listen", httpListen]
        }
        p.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        p.standardError = log
        p.standardOutput = log
        try p.run()
        process = p
        try waitUntilServing()
    }

    /// Polls the control socket until the daemon answers `status` (bounded; not a timing assumption).
    public func waitUntilServing(timeout: Double = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        let client = ControlClient(stateDirectory: stateDirectory)
        while Date() < deadline {
            if !process.isRunning { throw ControlFailure("vigild exited early:\n\(log)") }
            if let r = try? client.send(ControlRequest(command: "status")), r.ok { return }
            usleep(20_000)
        }
        throw ControlFailure("vigild did not start serving within \(timeout)s:\n\(log)")
    }

    /// The `HOST:PORT` the daemon's HTTP server bound, once it listens (bounded wait).
    public func httpAddress(timeout: Double = 15) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: stateDirectory + "/http.address", encoding: .utf8),
               text.hasSuffix("\n") {
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            if !process.isRunning { throw ControlFailure("vigild exited early:\n\(log)") }
            usleep(20_000)
        }
        throw ControlFailure("vigild's HTTP server did not listen within \(timeout)s:\n\(log)")
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Waits until the log contains `text` (bounded).
    public func waitForLog(_ text: String, timeout: Double = 15) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if log.contains(text) { return true }
            usleep(20_000)
        }
        return false
    }

    public func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    public func killHard() {
        signal(SIGKILL)
        process.waitUntilExit()
        releaseDataFolders()
    }

    /// Detaches the plugins' data images a killed daemon left mounted in its state folder (as a
    /// reboot would; a daemon started on it again mounts them again), so no test leaves a mount
    /// or a loop device behind.
    public func releaseDataFolders() {
        let plugins = stateDirectory + "/plugins"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: plugins)) ?? [] {
            _ = umount2(plugins + "/" + name + "/data", Int32(MNT_DETACH) | Int32(UMOUNT_NOFOLLOW))
        }
    }

    public func stop() {
        if process.isRunning {
            signal(SIGTERM)
            process.waitUntilExit()
        }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            releaseDataFolders()
        }
    }
}

/// Runs the real `vigil` CLI against the daemon of `stateDirectory`; returns exit status, stdout and stderr.
/// `prefix` runs it through another program (`setpriv …`).
@discardableResult
public func vigil(_ args: [String], stateDirectory: String, prefix: [String] = []) throws -> (status: Int32, out: String, err: String) {
    try runVigil(args + ["--state-dir", stateDirectory], prefix: prefix)
}

/// Runs the real `vigil` CLI with exactly `args` (no daemon needed: `rules`, `config check`),
/// from the repository root; returns exit status, stdout and stderr.
@discardableResult
public func runVigil(_ args: [String], prefix: [String] = []) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    let out = Pipe(), err = Pipe()
    let program = [productsDirectory + "/vigil"] + args
    if prefix.isEmpty {
        p.executableURL = URL(fileURLWithPath: program[0])
        p.arguments = Array(program.dropFirst())
    } else {
        p.executableURL = URL(fileURLWithPath: prefix[0])
        p.arguments = Array(prefix.dropFirst()) + program
    }
    p.standardOutput = out
    p.standardError = err
    p.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// The text of the default configuration with every relative path made absolute (so it can be
/// written anywhere), loading plugins only from `pluginDirectories`.
public func defaultConfigText(pluginDirectories: [String] = []) throws -> String {
    let config = repositoryRoot + "/Config"
    var text = try String(contentsOfFile: config + "/vigil.yaml", encoding: .utf8)
    let replacements = [
        "files: [detection-rules.yaml, operator-rules.yaml]":
            "files: [\(config)/detection-rules.yaml, \(config)/operator-rules.yaml]",
        "file: containment-rules.yaml": "file: \(config)/containment-rules.yaml",
        "directory: templates": "directory: \(config)/templates",
        "directory: runbooks": "directory: \(config)/runbooks",
        "directories: [../Plugins]": "directories: [\(pluginDirectories.joined(separator: ", "))]",
        "sandbox_profiles: ../Sandbox": "sandbox_profiles: \(repositoryRoot)/Sandbox",
        // The SDK the plugins import: the repository's, or the copy beside the test's plugins.
        "read_paths: [../Plugins/sdk]": "read_paths: [\(([repositoryRoot + "/Plugins"] + pluginDirectories).map { $0 + "/sdk" }.joined(separator: ", "))]",
    ]
    for (old, new) in replacements {
        guard text.contains(old) else { throw DaemonTestError("Config/vigil.yaml no longer contains \"\(old)\"") }
        text = text.replacingOccurrences(of: old, with: new)
    }
    return text
}

/// A copy of the default configuration in a temporary folder with every relative path made
/// absolute, loading plugins only from `pluginDirectories` (none by default), for tests that
/// must know everything that runs.
/// `grants` are lines added under `plugins.policy.grants` (e.g. `overreach: { capabilities: [CAP_NET_ADMIN] }`).
public func isolatedConfig(pluginDirectories: [String] = [], extra: String = "", grants: [String] = []) throws -> String {
    var text = try defaultConfigText(pluginDirectories: pluginDirectories)
    if !grants.isEmpty {
        let anchor = "\n    grants:\n"
        guard text.contains(anchor) else { throw DaemonTestError("Config/vigil.yaml no longer has plugins.policy.grants") }
        text = text.replacingOccurrences(of: anchor, with: anchor + grants.map { "      " + $0 + "\n" }.joined())
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-config-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try (text + "\n" + extra).write(toFile: dir + "/vigil.yaml", atomically: true, encoding: .utf8)
    return dir + "/vigil.yaml"
}

/// Makes a plugin folder at `path`: its files copied from `copy` (source → name, executable)
/// and its `plugin.yaml`, readable by the plugin's own uid.
public func installPlugin(at path: String, manifest: String, copy: [String: String]) throws {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    chmod(path, 0o755)
    for (source, name) in copy {
        try FileManager.default.copyItem(atPath: source, toPath: path + "/" + name)
        chmod(path + "/" + name, 0o755)
    }
    try manifest.write(toFile: path + "/plugin.yaml", atomically: true, encoding: .utf8)
}

public struct DaemonTestError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Polls `condition` every 100 ms until it holds or `seconds` pass: bounded waiting for a real
/// daemon to get somewhere, not a timing assumption.
public func eventually(_ seconds: Double = 30, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(100_000)
    }
    return try condition()
}

/// A loopback port nothing listens on right now (bound and released).
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw DaemonTestError("socket() failed") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Bool in
            bind(fd, p, len) == 0 && getsockname(fd, p, &len) == 0
        }
    }
    guard bound else { throw DaemonTestError("bind() failed") }
    return Int(UInt16(bigEndian: addr.sin_port))
}
