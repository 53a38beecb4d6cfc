import CVigilSys
import Foundation
import VigilCore

/// Zygote mode: one request per start to the long-lived `vigil-sandbox --serve`.
extension SandboxSpawner {
    /// The largest request the zygote accepts (`ZygoteServer.maximumRequestBytes`).
    static let maximumZygoteRequest = 128 << 10

    func spawnThroughZygote(_ zygote: LauncherZygote, _ spec: SandboxSpec, pluginSocketFD: Int32, egressFD: Int32?, stderrFD: Int32,
                            watcher: BreachWatcher?, cgroup: PluginCgroup?) throws(SandboxLaunchError) -> SandboxedProcess {
        let request = [UInt8(ascii: "S")] + spec.binaryEncoded()
        guard request.count <= Self.maximumZygoteRequest else {
            throw .system("spec of \(request.count) bytes exceeds the zygote's \(Self.maximumZygoteRequest)-byte request", EMSGSIZE)
        }
        var loss = ""
        // A zygote that ended during a request is replaced and the request sent once more: no
        // plugin code has run (a plugin it may have cloned is killed before its ack).
        for _ in 0..<2 {
            let (daemonEnd, launcherEnd) = try Self.notifyPair()
            let answer: LauncherZygote.Answer
            do {
                defer { close(launcherEnd) }
                answer = try zygote.request(request, descriptors: [stderrFD, pluginSocketFD, launcherEnd] + (egressFD.map { [$0] } ?? []))
            } catch {
                close(daemonEnd)
                throw error
            }
            switch answer {
            case .started(let pid):
                defer { close(daemonEnd) }
                return try completeHandshake(pluginPID: pid, socket: daemonEnd, spec: spec, watcher: watcher, cgroup: cgroup)
            case .refused(let code):
                close(daemonEnd)
                throw .setupFailed(process: "launcher", exitCode: code, signal: nil)
            case .lost(let why):
                reclaimOrphan(daemonEnd)
                close(daemonEnd)
                loss = why
            }
        }
        throw .zygoteFailed(loss)
    }

    /// The zygote ended between its clone and its answer: the plugin process it may have made
    /// sends its notify fd all the same, and the message's credentials name it, so it can be
    /// killed and reaped. EOF means there is none (every copy of its end is closed). A process
    /// that failed its setup before sending stays unnamed, and a zombie until the daemon exits.
    private func reclaimOrphan(_ socket: Int32) {
        guard let message = try? receive(socket, what: "an orphaned plugin"), message.count > 0 else { return }
        if message.fd >= 0 { close(message.fd) }
        guard message.sender > 0 else { return }
        kill(message.sender, SIGKILL)
        _ = PluginExit.wait(pid: message.sender, probe: nil)
    }
}
