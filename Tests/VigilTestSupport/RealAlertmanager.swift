import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real Alertmanager (Debian `prometheus-alertmanager`, the oracle of API parity tests) on a
/// random loopback port with a scratch folder under /tmp and gossip off; stopped by ``stop()``
/// or when released.
public final class RealAlertmanager: @unchecked Sendable {
    public let port: Int
    public let directory: String
    let process: Process

    /// The binary: `$ALERTMANAGER`, else the Debian package's name, else upstream's.
    public static func binary() throws -> String {
        let candidates = [ProcessInfo.processInfo.environment["ALERTMANAGER"], "/usr/bin/prometheus-alertmanager",
                          "/usr/bin/alertmanager", "/usr/local/bin/alertmanager"].compactMap { $0 }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw DaemonTestError("no alertmanager binary (tried \(candidates.joined(separator: ", "))); "
                + "install the Debian package prometheus-alertmanager (the Makefile's APT_PACKAGES)")
        }
        return found
    }

    public init() throws {
        let binary = try Self.binary()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-am-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        try "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n"
            .write(toFile: directory + "/am.yml", atomically: true, encoding: .utf8)
        var lastLog = ""
        for _ in 0..<5 {
            let port = Int.random(in: 20_000...60_000)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = ["--config.file=\(directory)/am.yml", "--storage.path=\(directory)/data",
                           "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address="]
            let logPath = directory + "/am-\(port).log"
            FileManager.default.createFile(atPath: logPath, contents: nil)
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            p.standardOutput = log
            p.standardError = log
            try p.run()
            let ready = eventually(15) {
                guard p.isRunning else { return true }
                return (try? Self.request("GET", "http://127.0.0.1:\(port)/-/ready").status) == 200
            }
            if ready && p.isRunning {
                self.port = port
                self.process = p
                return
            }
            if p.isRunning { p.terminate() }
            p.waitUntilExit()
            lastLog = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        }
        throw DaemonTestError("alertmanager did not start:\n\(lastLog)")
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    public func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }

    /// One HTTP request, synchronously (bounded by a 10 s timeout); status and body.
    public static func request(_ method: String, _ url: String, body: Data? = nil,
                               contentType: String? = "application/json") throws -> (status: Int, body: Data) {
        guard let u = URL(string: url) else { throw DaemonTestError("bad URL \(url)") }
        var r = URLRequest(url: u, timeoutInterval: 10)
        r.httpMethod = method
        r.httpBody = body
        if let contentType { r.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Int, Data)?
        nonisolated(unsafe) var failure: (any Error)?
        URLSession.shared.dataTask(with: r) { data, response, error in
            if let error { failure = error } else {
                result = ((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data())
            }
            done.signal()
        }.resume()
        done.wait()
        if let failure { throw failure }
        guard let result else { throw DaemonTestError("no answer from \(url)") }
        return result
    }
}
