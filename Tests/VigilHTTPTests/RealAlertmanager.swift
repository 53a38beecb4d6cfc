import Foundation
import VigilTestSupport
import HummingbirdTesting
import NIOCore

/// A real Alertmanager (Debian `prometheus-alertmanager`, the oracle) on a free loopback port,
/// with its state in a scratch folder; stopped by ``stop()``.
final class RealAlertmanager: @unchecked Sendable {
    static let binary = "/usr/bin/prometheus-alertmanager"
    let port: Int
    let folder: String
    let process = Process()

    init(config: String = "route:\n  receiver: default\n  group_by: [alertname]\nreceivers:\n  - name: default\n") throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw TestFailure("\(Self.binary) is missing: install the Debian package prometheus-alertmanager (make deps does)")
        }
        folder = NSTemporaryDirectory() + "vigil-am-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
        try config.write(toFile: folder + "/am.yml", atomically: true, encoding: .utf8)
        port = try freePort()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["--config.file=\(folder)/am.yml", "--storage.path=\(folder)/data",
                             "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address="]
        let log = FileHandle(forWritingAtPath: folder + "/am.log") ?? {
            _ = FileManager.default.createFile(atPath: folder + "/am.log", contents: nil)
            return FileHandle(forWritingAtPath: folder + "/am.log") ?? .nullDevice
        }()
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    /// Waits (bounded) until it answers `/-/ready`.
    func waitUntilReady(timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw TestFailure("alertmanager exited: \(log)") }
            let ready = try? await TestClient.withClient(host: "127.0.0.1", port: port) { c in
                // Go refuses HTTP/1.1 requests without a Host header.
                try await c.execute(.init("/-/ready", method: .get, authority: "127.0.0.1:\(self.port)")).status == .ok
            }
            if ready == true { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("alertmanager did not get ready within \(timeout): \(log)")
    }

    var log: String { (try? String(contentsOfFile: folder + "/am.log", encoding: .utf8)) ?? "" }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: folder)
    }
}

