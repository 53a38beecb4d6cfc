import Foundation
import VigilTestSupport
import Testing

/// `vigil rules check|test` and `vigil config check` on rules, run as the real binary.
@Suite struct RulesCommandTests {
    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) { try runVigil(args) }

    func write(_ text: String, _ name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-rules-cli-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
        return dir + "/" + name
    }

    @Test func checkValidatesTheConfiguredRulesAndLocatesErrors() throws {
        let good = try run(["rules", "check", "--list"])
        #expect(good.status == 0)
        #expect(good.out.contains("system_health.cpu_usage") && good.out.contains("cpu_usage > 90% for 5 minutes"))
        #expect(good.out.contains("ok: 22 rule(s)"))
        let bad = try write("incident_detection:\n  system_health:\n    - cpu_usage > 90% for 5 mins\n", "bad.yaml")
        let r = try run(["rules", "check", bad])
        #expect(r.status == 1)
        #expect(r.err.contains("\(bad):3:27: expected a duration like `5 minutes` after `for`, found `5 mins`"))
        let config = try run(["config", "check", "Config/vigil.yaml"])
        #expect(config.status == 0 && config.out.contains("22 rule(s) in 2 file(s)"))
    }

    @Test func replayPrintsEveryTransitionAndReportsBadLinesWithoutStopping() throws {
        let samples = try write("""
            {"name":"cpu_usage","value":95,"unit":"%","labels":{"host":"web-1"},"time":"2026-01-05T09:00:00Z"}
            {"name":"cpu_usage","value":96,"unit":"%","labels":{"host":"web-1"},"time":"2026-01-05T09:04:00Z"}
            not json
            {"name":"cpu_usage","value":20,"unit":"%","labels":{"host":"web-1"},"time":"2026-01-05T09:06:00Z"}
            {"name":"plugin_isolation_breach_detected","labels":{"plugin":"dns"},"time":1767604000}
            """, "day.ndjson")
        let r = try run(["rules", "test", "--replay", samples])
        #expect(r.status == 1)
        #expect(r.out.split(separator: "\n").map(String.init) == [
            "2026-01-05T09:00:00.000Z pending system_health.cpu_usage{host=\"web-1\"} value 95%",
            "2026-01-05T09:05:00.000Z firing system_health.cpu_usage{host=\"web-1\"} value 96% since 2026-01-05T09:00:00.000Z",
            "2026-01-05T09:06:00.000Z resolved system_health.cpu_usage{host=\"web-1\"} value 20% since 2026-01-05T09:00:00.000Z",
            "2026-01-05T09:06:40.000Z firing security_events.plugin_isolation_breach_detected{plugin=\"dns\"} value 1 since 2026-01-05T09:06:40.000Z",
        ])
        #expect(r.err.contains("\(samples):3: not a JSON object"))
        #expect(r.err.contains("replayed 4 sample(s) through 22 rule(s): 4 transition(s), 1 bad line(s)"))

        let rules = try write("rules:\n  - id: hot\n    rule: cpu_usage > 50%\n", "mine.yaml")
        let only = try run(["rules", "test", "--replay", samples, "--rules", rules, "--json"])
        #expect(only.out.split(separator: "\n").first?.contains("\"rule\":\"hot\"") == true)
        #expect(only.out.contains("\"transition\":\"firing\"") && only.out.contains("\"first_held_at\":\"2026-01-05T09:00:00.000Z\""))
    }
}
