import Foundation
import Testing
import VigilCore
import VigilDaemon
import VigilTestSupport

/// `vigil silences add|list|expire` against a real `vigild` over its control socket.
@Suite(.serialized) struct SilenceCLITests {
    func json(_ text: String) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) }

    @Test(.timeLimit(.minutes(2))) func addListExpireAndTheTimeline() throws {
        let config = try isolatedConfig(extra: """
            maintenance_windows:
              - name: sunday-patching
                matchers: ['component="db"']
                cron: "0 4 * * sun"
                duration: 2h
            """)
        let d = try DaemonProcess(config: config)
        defer { d.stop() }
        let declared = try vigil(["incidents", "declare", "--title", "Orders table corrupted", "--type", "Data corruption",
                                  "--json"], stateDirectory: d.stateDirectory)
        let incident = try #require(try json(declared.out)["id"]?.stringValue)

        let added = try vigil(["silences", "add", "type=\"Data corruption\"", "severity=~P.", "--comment", "restoring from backup",
                               "--duration", "2h", "--author", "ana"], stateDirectory: d.stateDirectory)
        #expect(added.status == 0, "\(added.err)")
        let id = added.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(UUID(uuidString: id) != nil, "\(added.out)")

        let listed = try vigil(["silences", "list"], stateDirectory: d.stateDirectory)
        #expect(listed.out.contains(id) && listed.out.contains(#"type="Data corruption""#) && listed.out.contains("active"))
        #expect(listed.out.contains("sunday-patching") && listed.out.contains(#"cron "0 4 * * sun""#))
        let asJSON = try json(try vigil(["silences", "list", "--json"], stateDirectory: d.stateDirectory).out)
        #expect(asJSON["silences"]?.arrayValue?.first?["created_by"]?.stringValue == "ana"
            || asJSON["silences"]?.arrayValue?.first?["createdBy"]?.stringValue == "ana")

        var timeline = try vigil(["incidents", "timeline", incident], stateDirectory: d.stateDirectory)
        #expect(timeline.out.contains("Silenced by \(id) until "), "\(timeline.out)")

        let expired = try vigil(["silences", "expire", id], stateDirectory: d.stateDirectory)
        #expect(expired.status == 0 && expired.out.contains("expired \(id)"), "\(expired.err)")
        timeline = try vigil(["incidents", "timeline", incident], stateDirectory: d.stateDirectory)
        #expect(timeline.out.contains("Silence \(id) expired by "), "\(timeline.out)")
        #expect(try vigil(["silences", "list", "--expired"], stateDirectory: d.stateDirectory).out.contains(id))

        // Refusals name what is wrong, as Alertmanager words it.
        let empty = try vigil(["silences", "add", "team=", "--comment", "x"], stateDirectory: d.stateDirectory)
        #expect(empty.status != 0 && empty.err.contains("at least one matcher must not match the empty string"), "\(empty.err)")
        let badRegex = try vigil(["silences", "add", "team=~(", "--comment", "x"], stateDirectory: d.stateDirectory)
        #expect(badRegex.status != 0 && badRegex.err.contains("missing closing )"), "\(badRegex.err)")
        let unknown = try vigil(["silences", "expire", "7f4b3c0e-0000-4000-8000-000000000000"], stateDirectory: d.stateDirectory)
        #expect(unknown.status != 0 && unknown.err.contains("not found"), "\(unknown.err)")
    }

    @Test(.timeLimit(.minutes(2))) func theDaemonRecordsSilencedPagesInsteadOfSendingThem() throws {
        let d = try DaemonProcess(config: try isolatedConfig())
        defer { d.stop() }
        let added = try vigil(["silences", "add", "type=\"Data corruption\"", "--comment", "drill"], stateDirectory: d.stateDirectory)
        let id = added.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(added.status == 0, "\(added.err)")
        let declared = try vigil(["incidents", "declare", "--title", "Orders table corrupted", "--type", "Data corruption",
                                  "--json"], stateDirectory: d.stateDirectory)
        let incident = try #require(try json(declared.out)["id"]?.stringValue)
        // The outbox runs every 250 ms: wait (bounded) until it has looked at the pages.
        var shown: JSONValue = .null
        let settled = try eventually(20) {
            shown = try json(try vigil(["incidents", "show", incident, "--json"], stateDirectory: d.stateDirectory).out)
            let pages = shown["notifications"]?.arrayValue ?? []
            return !pages.isEmpty && pages.allSatisfy { $0["state"]?.stringValue == "silenced" }
        }
        #expect(settled, "\(shown["notifications"] ?? .null)")
        let timeline = try vigil(["incidents", "timeline", incident], stateDirectory: d.stateDirectory).out
        #expect(timeline.contains("silenced by \(id)"), "\(timeline)")
        #expect(timeline.contains("Automated containment (data_corruption) skipped: silenced by \(id)"), "\(timeline)")
    }

    @Test func aBadMaintenanceWindowIsRefusedWithItsLocation() throws {
        let config = try isolatedConfig(extra: """
            maintenance_windows:
              - name: broken
                matchers: ['component="db"']
                weekly: {days: [mon], start: "9am", end: "10:00"}
            """)
        let check = try runVigil(["config", "check", config])
        #expect(check.status != 0, "\(check.out)")
        #expect((check.out + check.err).contains("vigil.yaml:") && (check.out + check.err).contains("9am"), "\(check.out)\(check.err)")
    }

    /// `amtool silence add|query|expire` against a real `vigild`'s HTTP server, with a token: the
    /// token's person is who the timelines name, and a viewer token may read silences, not add them.
    @Test(.timeLimit(.minutes(2))) func amtoolSilencesAgainstVigild() throws {
        let d = try DaemonProcess(config: try isolatedConfig())
        defer { d.stop() }
        let declared = try vigil(["incidents", "declare", "--title", "Orders table corrupted", "--type", "Data corruption",
                                  "--json"], stateDirectory: d.stateDirectory)
        let incident = try #require(try json(declared.out)["id"]?.stringValue)
        let url = "--alertmanager.url=http://" + (try d.httpAddress())
        func auth(_ role: String) throws -> String {
            let file = d.stateDirectory + "/amtool-\(role).yml"
            try "authorization:\n  credentials: \(try apiToken(d, role: role))\n".write(toFile: file, atomically: true, encoding: .utf8)
            return "--http.config.file=" + file
        }
        let (responder, viewer) = (try auth("responder"), try auth("viewer"))

        let add = try runProgram("/usr/bin/amtool", [url, responder, "silence", "add", #"type="Data corruption""#,
                                                     "--comment=restoring from backup", "--duration=1h", "--author=ana"])
        #expect(add.status == 0, "\(add.out)")
        let id = add.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(UUID(uuidString: id) != nil, "\(add.out)")
        let refused = try runProgram("/usr/bin/amtool", [url, viewer, "silence", "add", "team=db", "--comment=x"], stderr: true)
        #expect(refused.status != 0, "\(refused.out)")

        let query = try runProgram("/usr/bin/amtool", [url, viewer, "silence", "query", "-q"])
        #expect(query.status == 0 && query.out.contains(id), "\(query.out)")
        var timeline = try vigil(["incidents", "timeline", incident], stateDirectory: d.stateDirectory).out
        #expect(timeline.contains("Silenced by \(id) until ") && timeline.contains("test-responder"), "\(timeline)")

        let expire = try runProgram("/usr/bin/amtool", [url, responder, "silence", "expire", id], stderr: true)
        #expect(expire.status == 0, "\(expire.out)")
        timeline = try vigil(["incidents", "timeline", incident], stateDirectory: d.stateDirectory).out
        #expect(timeline.contains("Silence \(id) expired by test-responder"), "\(timeline)")
    }
}
