import Foundation
import Testing
import VigilCore
import VigilDaemon
import VigilTestSupport

/// `vigil report metrics`, `vigil action-items` and `vigil postmortem` against a real `vigild`
/// over its control socket: the text, CSV and exports people read and import.
@Suite(.serialized) struct AfterIncidentCLITests {
    @Test(.timeLimit(.minutes(2))) func reportsItemsAndPostMortemsFromTheCommandLine() throws {
        let d = try DaemonProcess(config: try isolatedConfig())
        defer { d.stop() }
        func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
            try vigil(args, stateDirectory: d.stateDirectory)
        }
        // A title a spreadsheet would run as a formula, and one with a comma and quotes.
        let formula = try run(["incidents", "declare", "--title", "=HYPERLINK(\"http://x\")", "--severity", "P2", "--json"])
        #expect(formula.status == 0, "\(formula.err)")
        let id = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(formula.out.utf8))["id"]?.stringValue)
        let dismissed = try run(["incidents", "declare", "--title", "Staging noise", "--severity", "P3", "--json"])
        let noise = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(dismissed.out.utf8))["id"]?.stringValue)
        #expect(try run(["incidents", "dismiss", noise, "--reason", "staging, not production"]).out.contains("closed as a false positive"))

        let text = try run(["report", "metrics", "--since", "1 day"])
        #expect(text.status == 0, "\(text.err)")
        // (The daemon may have opened its own incidents too: notifiers without a destination here.)
        #expect(text.out.contains("incident(s) by severity (mean / 90th percentile)") && text.out.contains("false positives: 1"), "\(text.out)")
        #expect(text.out.contains("target MTTD under 5 minutes for P1/P2: mean time to detect for P1/P2"), "\(text.out)")
        let byRule = try run(["report", "metrics", "--since", "1 day", "--by", "rule", "--csv"])
        let rows = byRule.out.components(separatedBy: "\r\n")
        #expect(rows.first?.hasPrefix("by,key,name,count,occurrences,detect_count,detect_mean_seconds") == true)
        #expect(rows.contains { $0.hasPrefix("rule,user-report,,2,2,") }, "\(byRule.out)")
        #expect(rows.last == "" && rows.dropLast().last?.hasPrefix("rule,all,,") == true, "the all row, then the final CRLF: \(rows)")
        #expect(try run(["report", "metrics", "--by", "week"]).err.contains("by: \"week\" is not one of severity, type, component, rule, plugin"))

        // An action item whose title is a formula: quoted and defused in the CSV export.
        let added = try run(["action-items", "add", id, "--title", "=cmd|' /C calc'!A0", "--owner", "carol", "--due", "in 7 days",
                             "--category", "process"])
        #expect(added.status == 0 && added.out.contains("action item #1 added to \(id)"), "\(added.err)")
        let csv = try run(["action-items", "list", "--csv"]).out.components(separatedBy: "\r\n")
        #expect(csv.first == "id,state,title,owner,due_at,overdue,category,success_criteria,depends_on,incident,tracker_url,created_at,updated_at")
        #expect(csv.dropFirst().first?.hasPrefix("1,open,'=cmd|' /C calc'!A0,carol,") == true, "\(csv)")
        #expect(try run(["action-items", "update", "1", "--state", "verified"]).err.contains("cannot go from open to verified"))

        // The post-mortem, drafted and exported.
        #expect(try run(["postmortem", "edit", id]).out.contains("\(id) post-mortem v1 (draft)"))
        let md = try run(["postmortem", "show", id]).out
        #expect(md.hasPrefix("# Post-mortem: \(id) — =HYPERLINK(\"http://x\")") && md.contains("\n## Five whys\n\n_(to be written)_"), "\(md)")
        let html = try run(["postmortem", "show", id, "--html"]).out
        #expect(html.contains("<title>Post-mortem: \(id) — =HYPERLINK(&quot;http://x&quot;)</title>")
            || html.contains("<title>Post-mortem: \(id) — =HYPERLINK(&#34;http://x&#34;)</title>"), "\(html.prefix(400))")
    }
}
