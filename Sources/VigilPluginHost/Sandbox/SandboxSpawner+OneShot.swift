import CVigilSys
import Foundation
import VigilCore

/// One-shot mode: a spec file and one `vigil-sandbox --spec PATH` per start.
extension SandboxSpawner {
    func spawnOneShot(_ spec: SandboxSpec, pluginSocketFD: Int32, egressFD: Int32?, stderrFD: Int32,
                      watcher: BreachWatcher?, cgroup: PluginCgroup?) throws(SandboxLaunchError) -> SandboxedProcess {
        let specPath = try writeSpec(spec)
        defer { unlink(specPath) }
        let (daemonEnd, launcherEnd) = try Self.notifyPair()
        defer { close(daemonEnd) }
        let launcherPID: Int32
        do {
            defer { close(launcherEnd) }
            launcherPID = try LauncherProcess.spawn(launcherPath, arguments: ["--spec", specPath],
                                                    descriptors: [stderrFD, pluginSocketFD, launcherEnd] + (egressFD.map { [$0] } ?? []))
        }
        let handOff: Message
        do {
            handOff = try receive(daemonEnd, what: "the plugin pid")
        } catch {
            kill(launcherPID, SIGKILL)
            _ = PluginExit.wait(pid: launcherPID, probe: nil)
            throw error
        }
        guard handOff.count == 5, handOff.bytes[0] == UInt8(ascii: "P"), handOff.fd < 0, handOff.sender == launcherPID else {
            if handOff.fd >= 0 { close(handOff.fd) }
            throw Self.failure(of: launcherPID, process: "launcher", received: handOff.count)
        }
        let b = handOff.bytes
        let pluginPID = Int32(bitPattern: UInt32(b[1]) | UInt32(b[2]) << 8 | UInt32(b[3]) << 16 | UInt32(b[4]) << 24)
        _ = PluginExit.wait(pid: launcherPID, probe: nil)
        return try completeHandshake(pluginPID: pluginPID, socket: daemonEnd, spec: spec, watcher: watcher, cgroup: cgroup)
    }

    private func writeSpec(_ spec: SandboxSpec) throws(SandboxLaunchError) -> String {
        let path = "\(specDirectory)/\(spec.plugin)-\(UInt64.random(in: 0...UInt64.max)).spec"
        let data: Data
        do { data = try JSONEncoder().encode(spec) } catch { throw .protocolViolation("encoding the spec: \(error)") }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw .system("open \(path)", errno) }
        defer { close(fd) }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == data.count else { throw .system("write \(path)", errno) }
        return path
    }
}
