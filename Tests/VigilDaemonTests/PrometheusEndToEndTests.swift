import Foundation
import Testing
import VigilCore
import VigilTestSupport

/// A real Prometheus (Debian `prometheus`) with an alerting rule and `alerting.alertmanagers`
/// pointed at vigild: the rule firing opens an incident, the rule clearing resolves it.
///
/// The rule watches `up` of a file-discovered target. The target starts as a closed port
/// (`up == 0`: the rule fires), then the file is rewritten to Prometheus' own address
/// (`up == 1`: the rule clears, and Prometheus sends the alert resolved at once).
@Suite(.serialized) struct PrometheusEndToEndTests {
    static let binary = "/usr/bin/prometheus"

    @Test(.timeLimit(.minutes(3))) func ruleFiringOpensAnIncidentAndClearingResolvesIt() throws {
        let d = try DaemonProcess(config: try alertingConfig())
        defer { d.stop() }
        try Self.fireAndClear(d, vigil: try d.httpAddress(), authorization: "")
    }

    /// Off loopback every post needs a token: Prometheus sends a `sender` token through its own
    /// `authorization` setting (`Authorization: Bearer …`), unchanged.
    @Test(.timeLimit(.minutes(3))) func aSenderTokenFromPrometheusOffLoopback() throws {
        let d = try DaemonProcess(config: try alertingConfig(), httpListen: "0.0.0.0:0")
        defer { d.stop() }
        let port = try d.httpAddress().split(separator: ":").last.map(String.init) ?? ""
        let token = try apiToken(d, role: "sender")
        #expect(try curl("POST", "http://127.0.0.1:\(port)/api/v2/alerts", json: "[]").code == 401)
        try Self.fireAndClear(d, vigil: "127.0.0.1:\(port)",
                              authorization: "\n      authorization: { type: Bearer, credentials: \"\(token)\" }")
    }

    /// Runs Prometheus with a rule that fires, then clears; `authorization` is appended to its
    /// alertmanager entry.
    static func fireAndClear(_ d: DaemonProcess, vigil: String, authorization: String) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-prom-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let promPort = try freeLoopbackPort()
        let deadPort = try freeLoopbackPort()
        try """
            global: { scrape_interval: 1s, evaluation_interval: 1s }
            rule_files: [rules.yml]
            scrape_configs:
              - job_name: flaky
                file_sd_configs: [{ files: [targets.json], refresh_interval: 1s }]
            alerting:
              alertmanagers:
                - api_version: v2
                  static_configs: [{ targets: ["\(vigil)"] }]\(authorization)
            """.write(toFile: folder + "/prometheus.yml", atomically: true, encoding: .utf8)
        try """
            groups:
              - name: vigil-e2e
                rules:
                  - alert: FlakyTargetDown
                    expr: up{job="flaky"} == 0
                    labels: { severity: warning }
                    annotations: { summary: "The flaky target does not answer scrapes" }
            """.write(toFile: folder + "/rules.yml", atomically: true, encoding: .utf8)
        try #"[{"targets":["127.0.0.1:\#(deadPort)"]}]"#.write(toFile: folder + "/targets.json", atomically: true, encoding: .utf8)
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw DaemonTestError("\(Self.binary) is missing: install the Debian package prometheus (make deps does)")
        }
        let prometheus = Process()
        prometheus.executableURL = URL(fileURLWithPath: Self.binary)
        prometheus.arguments = ["--config.file=\(folder)/prometheus.yml", "--storage.tsdb.path=\(folder)/data",
                                "--web.listen-address=127.0.0.1:\(promPort)"]
        prometheus.currentDirectoryURL = URL(fileURLWithPath: folder)
        FileManager.default.createFile(atPath: folder + "/prometheus.log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/prometheus.log"))
        prometheus.standardOutput = log
        prometheus.standardError = log
        try prometheus.run()
        defer {
            prometheus.terminate()
            prometheus.waitUntilExit()
        }
        func promLog() -> String { (try? String(contentsOfFile: folder + "/prometheus.log", encoding: .utf8)) ?? "" }

        let key = "alertmanager:{}:{alertname=\"FlakyTargetDown\"}"
        func incident() throws -> JSONValue? { try incidentList(d).first { $0["fingerprint"]?.stringValue == key } }
        #expect(try eventually(60) { try incident() != nil }, "no incident; prometheus log:\n\(promLog())\nvigild log:\n\(d.log)")
        let opened = try #require(try incident())
        #expect(opened["severity"]?.stringValue == "P3")  // warning → Medium (P3 on the p1-p4 ladder)
        #expect(opened["title"]?.stringValue == "The flaky target does not answer scrapes")

        // The target comes back: the rule clears, Prometheus sends the alert resolved.
        try #"[{"targets":["127.0.0.1:\#(promPort)"]}]"#.write(toFile: folder + "/targets.json", atomically: true, encoding: .utf8)
        #expect(try eventually(60) { try incident()?["state"]?.stringValue == "resolved" },
                "\(String(describing: try? incident()))\nprometheus log:\n\(promLog())")
    }
}

/// A loopback port nothing listens on right now.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw DaemonTestError("socket() failed") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw DaemonTestError("bind() failed") }
    return Int(UInt16(bigEndian: addr.sin_port))
}
