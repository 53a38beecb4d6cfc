import Foundation
import Testing
import VigilCore
@testable import VigilPluginHost

/// The same hostile plugin under `vigil-sandbox`, `bwrap --unshare-all --ro-bind / /` and
/// `firejail --quiet --seccomp --net=none`, all started by root as `vigild` would start them.
/// Asserts that Vigil stops every attempt; with `VIGIL_SANDBOX_COMPARISON=FILE` it also writes the
/// Markdown table that `Docs/security.md` shows.
@Suite(.serialized, .enabled(if: SandboxHarness.available && SandboxHarness.peersInstalled,
                             "needs root, cc, vigil-sandbox, bwrap and firejail"))
struct SandboxComparisonTests {
    struct Attempt {
        var label: String
        var name: String
        var argument: String?
    }

    func attempts(_ world: SandboxHarness.World, loopbackPort: UInt16, controlSocket: String) -> [Attempt] {
        [
            Attempt(label: "open a TCP socket (no network declared)", name: "tcp-socket"),
            Attempt(label: "connect to a TCP server on the host's 127.0.0.1", name: "tcp-connect", argument: "\(loopbackPort)"),
            Attempt(label: "connect to the daemon's control socket", name: "unix-connect", argument: controlSocket),
            Attempt(label: "read /etc/shadow", name: "read", argument: "/etc/shadow"),
            Attempt(label: "read the daemon's 0600 database", name: "read", argument: world.stateDirectory.appendingPathComponent("vigil.db").path),
            Attempt(label: "signal the daemon's pid", name: "kill", argument: "\(getpid())"),
            Attempt(label: "write into another plugin's folder", name: "write", argument: world.otherPluginDirectory.appendingPathComponent("plugin.yaml").path),
            Attempt(label: "write outside write_paths (own folder)", name: "write", argument: world.pluginDirectory.appendingPathComponent("evil").path),
            Attempt(label: "ptrace", name: "ptrace"),
            Attempt(label: "mount", name: "mount"),
            Attempt(label: "unshare (user + mount namespaces)", name: "unshare"),
            Attempt(label: "setuid(0)", name: "setuid0"),
            Attempt(label: "bpf (create a map)", name: "bpf"),
            Attempt(label: "keyctl", name: "keyctl"),
            Attempt(label: "process_vm_readv", name: "process-vm-readv"),
            Attempt(label: "load a kernel module (finit_module)", name: "init-module"),
            Attempt(label: "execve(\"/bin/sh\")", name: "exec-sh"),
            Attempt(label: "fork bomb (stops at 2,000 children)", name: "fork-bomb"),
            Attempt(label: "allocate 512 MiB (limit 256 MiB)", name: "memory", argument: "512"),
            Attempt(label: "x32 syscall (nr with bit 30 set)", name: "x32"),
        ]
    }

    /// One cell: whether the attempt was stopped and how.
    static func verdict(attempt: String, output: String, signal: Int32?, detail: String = "") -> (stopped: Bool, text: String) {
        if let signal {
            let name = signal == SIGSYS ? "SIGSYS" : signal == SIGKILL ? "SIGKILL" : "signal \(signal)"
            return (true, "stopped: killed by \(name)\(detail)")
        }
        if output.contains("ESCAPED") || output.contains("shell") { return (false, "**not stopped**") }
        guard let range = output.range(of: "errno="), let errno = Int32(output[range.upperBound...].prefix { $0.isNumber }) else {
            return (false, "**not stopped** (no answer: \(output.prefix(40)))")
        }
        let name = String(cString: strerror(errno))
        // finit_module(0, ...) failing with EBADF/ENOEXEC means the call reached the module loader.
        if attempt == "init-module", errno == ENOSYS { return (true, "stopped by the kernel (built without modules)") }
        if attempt == "init-module", errno != EPERM { return (false, "**not stopped** (reached the kernel: \(name))") }
        if attempt == "x32", errno == ENOSYS { return (true, "stopped by the kernel (no x32 ABI built in)") }
        return (true, "stopped: \(name)\(detail)")
    }

    func runPeer(_ command: [String], _ program: String, _ attempt: Attempt) throws -> (stopped: Bool, text: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst()) + [program, attempt.name] + (attempt.argument.map { [$0] } ?? [])
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.environment = ["PATH": "/usr/bin:/bin"]
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let signal: Int32? = process.terminationReason == .uncaughtSignal ? process.terminationStatus
            : (process.terminationStatus > 128 && !text.contains("errno") && !text.contains("ESCAPED") ? process.terminationStatus - 128 : nil)
        return Self.verdict(attempt: attempt.name, output: text, signal: signal)
    }

    @Test func vigilStopsEveryAttemptAndTheTableIsWritten() throws {
        let world = try SandboxHarness.World(base: "/run")
        let loopback = try LoopbackListener()
        let controlSocket = world.stateDirectory.appendingPathComponent("control.sock").path
        let control = try UnixListener(path: controlSocket)
        let profile = try world.profile()
        var rows = ["| attempt | vigil-sandbox | bwrap --unshare-all --ro-bind / / | firejail --seccomp --net=none |",
                    "|---|---|---|---|"]
        for attempt in attempts(world, loopbackPort: loopback.port, controlSocket: controlSocket) {
            let outcome = try SandboxHarness.run(world.request(attempt.name, attempt.argument), profile: profile,
                                                 stateDirectory: world.stateDirectory)
            var signal: Int32?
            var detail = outcome.breaches.isEmpty ? "" : " + breach `\(outcome.breaches.map(\.syscall).joined(separator: ","))`"
            if case .killed(let s, let probed) = outcome.exit {
                signal = s
                if let probed { detail += " in `\(probed.name)`" }
            }
            let vigil = Self.verdict(attempt: attempt.name, output: outcome.output, signal: signal, detail: detail)
            #expect(vigil.stopped, "\(attempt.label): \(vigil.text)")
            let bwrap = try runPeer(["/usr/bin/bwrap", "--unshare-all", "--ro-bind", "/", "/"], world.hostile, attempt)
            let firejail = try runPeer(["/usr/bin/firejail", "--quiet", "--seccomp", "--net=none"], world.hostile, attempt)
            rows.append("| \(attempt.label) | \(vigil.text) | \(bwrap.text) | \(firejail.text) |")
        }
        _ = control
        if let path = ProcessInfo.processInfo.environment["VIGIL_SANDBOX_COMPARISON"] {
            try (rows.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
    }
}
