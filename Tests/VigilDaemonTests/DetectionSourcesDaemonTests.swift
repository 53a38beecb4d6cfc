import Foundation
import Testing
import VigilControl
import VigilCore
import VigilStore
import VigilTestSupport
@testable import VigilDaemon

/// Issue 21's daemon side against a real `vigild`: what feeds each rule (`vigil rules check
/// --list`), the daemon's own store failures as `sqlite_connection_failures`, and changes to the
/// daemon's own files held for an approving reload.
@Suite(.serialized, .timeLimit(.minutes(3))) struct DetectionSourcesDaemonTests {
    /// A configuration in a folder of its own, with `rules.own_change_approval` shortened.
    static func config(approval: String = "1 minute") throws -> String {
        let path = try isolatedConfig()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard text.contains("own_change_approval: 1 minute") else { throw DaemonTestError("no own_change_approval in the config") }
        try text.replacingOccurrences(of: "own_change_approval: 1 minute", with: "own_change_approval: \(approval)")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func incidentsJSON(_ d: DaemonProcess) throws -> String {
        try vigil(["incidents", "list", "--json"], stateDirectory: d.stateDirectory).out
    }

    @Test func rulesCheckListNamesWhatFeedsEachRuleAndItsLastSample() throws {
        let d = try DaemonProcess(config: try Self.config())
        defer { d.stop() }
        let sent = try vigil(["emit", "metric", "fps", "42", "--label", "component=terminal_renderer"], stateDirectory: d.stateDirectory)
        #expect(sent.status == 0, "\(sent)")
        var views: [RuleSourceView] = []
        let seen = try eventually(10) {
            let listed = try vigil(["rules", "check", "--list", "--json", "--config", d.configPath, "--state-dir", d.stateDirectory],
                                   stateDirectory: d.stateDirectory)
            views = try JSONDecoder().decode([RuleSourceView].self, from: Data(listed.out.utf8))
            return views.first { $0.id == "application_health.terminal_renderer_fps" }?.lastSample != nil
        }
        let fps = views.first { $0.id == "application_health.terminal_renderer_fps" }
        #expect(seen, "\(views)")
        #expect(views.first { $0.id == "application_health.sqlite_connection_failures" }?.fedBy.contains("vigild") == true)
        #expect(views.first { $0.id == "security_events.plugin_isolation_breach_detected" }?.fedBy == ["vigild"])
        #expect(fps?.event == "fps" && fps?.lastSource == "cli:root", "\(String(describing: fps))")

        // The table, as a person reads it.
        let table = try vigil(["rules", "check", "--list", "--config", d.configPath, "--state-dir", d.stateDirectory],
                              stateDirectory: d.stateDirectory)
        #expect(table.out.contains("FED BY") && table.out.contains("from cli:root"), "\(table)")
        #expect(table.out.contains("nothing loaded sends authentication_failures"), "\(table)")

        // Without the daemon: the manifests' word, and a note saying so.
        d.stop()
        let offline = try vigil(["rules", "check", "--list", "--state-dir", d.stateDirectory + "-none"], stateDirectory: d.stateDirectory)
        #expect(offline.status == 0 && offline.err.contains("not answering"), "\(offline)")
        #expect(offline.out.contains("plugin:system-metrics (not running)"), "\(offline)")
    }

    /// `POST /api/v1/events` with a sender token: samples reach the rules as `vigil emit`'s do,
    /// attributed to the token's person; a bad batch is refused whole, naming the event.
    @Test func senderTokensSendSamplesToTheRules() throws {
        let d = try DaemonProcess(config: try Self.config())
        defer { d.stop() }
        let created = try vigil(["tokens", "create", "--role", "sender", "--person", "grafana"], stateDirectory: d.stateDirectory)
        let token = created.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let viewer = try vigil(["tokens", "create", "--role", "viewer", "--person", "vic"], stateDirectory: d.stateDirectory)
            .out.trimmingCharacters(in: .whitespacesAndNewlines)
        let url = "http://\(try d.httpAddress())/api/v1/events"
        func post(_ body: String, _ secret: String) throws -> (code: Int, body: String) {
            try CallbacksDaemonTests.post(url, body: body, headers: ["Authorization: Bearer \(secret)", "Content-Type: application/json"])
        }
        let bad = try post(#"{"events":[{"name":"fps","value":5},{"name":"plugin_failure_rate","value":1}]}"#, token)
        #expect(bad.code == 400 && bad.body.contains("events[1]") && bad.body.contains("daemon's own"), "\(bad)")
        let labelled = try post(#"{"events":[{"name":"fps","value":5,"labels":{"plugin":"system-metrics"}}]}"#, token)
        #expect(labelled.code == 400 && labelled.body.contains("labels.plugin"), "\(labelled)")
        let security = try post(#"{"events":[{"kind":"signal","name":"configuration_tampering_detected","labels":{"path":"/etc/passwd"}}]}"#, token)
        #expect(security.code == 400 && security.body.contains("security signal"), "\(security)")
        let store = try post(#"{"events":[{"kind":"signal","name":"sqlite_connection_failures"}]}"#, token)
        #expect(store.code == 400 && store.body.contains("daemon's own"), "\(store)")
        #expect(try post(#"{"events":[{"name":"fps","value":5}]}"#, viewer).code == 403)
        #expect(try post(#"{"events":[{"name":"fps","value":5}]}"#, "vgl_nope").code == 401)
        let good = try post(#"{"events":[{"name":"fps","value":4,"labels":{"component":"terminal_renderer"}},{"kind":"signal","name":"deploy_finished"}]}"#, token)
        #expect(good.code == 200 && good.body.contains("\"accepted\" : 2") || good.body.contains("\"accepted\":2"), "\(good)")
        var views: [RuleSourceView] = []
        #expect(try eventually(10) {
            let listed = try vigil(["rules", "check", "--list", "--json", "--config", d.configPath], stateDirectory: d.stateDirectory)
            views = (try? JSONDecoder().decode([RuleSourceView].self, from: Data(listed.out.utf8))) ?? []
            return views.contains { $0.event == "fps" && $0.lastSource == "http:grafana" }
        }, "\(views)")
    }

    /// A writer locked out of `vigil.db` (another process holds its write lock past the busy
    /// timeout) is a store failure: more than five in a minute open the seed's
    /// `sqlite_connection_failures` incident once the store answers again.
    @Test(.timeLimit(.minutes(3))) func theDaemonsOwnStoreFailuresOpenTheSeedIncident() throws {
        let d = try DaemonProcess(config: try Self.config())
        defer { d.stop() }
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = ["-c", """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
            c.execute("BEGIN IMMEDIATE")
            print("locked", flush=True)
            sys.stdin.read()
            c.execute("ROLLBACK")
            """, d.stateDirectory + "/vigil.db"]
        let input = Pipe(), output = Pipe()
        holder.standardInput = input
        holder.standardOutput = output
        try holder.run()
        defer { if holder.isRunning { holder.terminate() } }
        let first = output.fileHandleForReading.availableData
        #expect(String(decoding: first, as: UTF8.self).contains("locked"))
        // Six declarations, each refused once the store's busy timeout (5 s) runs out, two at a time.
        let group = DispatchGroup()
        for i in 0..<6 {
            DispatchQueue.global().async(group: group) {
                _ = try? vigil(["incidents", "declare", "--title", "locked out \(i)", "--severity", "P3"],
                               stateDirectory: d.stateDirectory)
            }
        }
        #expect(d.waitForLog("store failure", timeout: 60), "\(d.log)")
        group.wait()
        try input.fileHandleForWriting.close()
        holder.waitUntilExit()
        var listed = ""
        #expect(try eventually(60) {
            listed = try Self.incidentsJSON(d)
            return listed.contains("sqlite_connection_failures")
        }, "\(listed)\n\(d.log.suffix(3000))")
        #expect(d.log.contains("\"kind\": \"busy\"") || d.log.contains("kind=busy") || d.log.contains("busy"), "\(d.log.suffix(2000))")
    }

    /// Only a plugin's report of a change to the daemon's own files waits for an approving
    /// reload (Tests/Detectors/test_own_file_approval.py drives that through the real
    /// file-integrity plugin): the same signal from `vigil emit` (or HTTP) goes to the rules at once.
    @Test func reportsFromOutsidePluginsAreNotHeld() throws {
        let configPath = try Self.config(approval: "10 minutes")
        let own = (configPath as NSString).deletingLastPathComponent + "/own.yaml"
        try "a: 1\n".write(toFile: own, atomically: true, encoding: .utf8)
        let d = try DaemonProcess(config: configPath)
        defer { d.stop() }
        let r = try vigil(["emit", "signal", "configuration_tampering_detected", "--label", "path=\(own)",
                           "--label", "change=modified", "--label", "new_sha256=\(try SHA256Digest.file(own))"],
                          stateDirectory: d.stateDirectory)
        #expect(r.status == 0, "\(r)")
        var listed = ""
        #expect(try eventually(15) {
            listed = try Self.incidentsJSON(d)
            return listed.contains(own)
        }, "\(listed)\n\(d.log.suffix(3000))")
        #expect(!d.log.contains("held until a reload approves it"))
    }

    /// A host file is not the daemon's: its change goes to the rules at once.
    @Test func hostFileChangesAreNotHeld() throws {
        let d = try DaemonProcess(config: try Self.config(approval: "10 minutes"))
        defer { d.stop() }
        let r = try vigil(["emit", "signal", "configuration_tampering_detected", "--label", "path=/etc/passwd",
                           "--label", "change=modified", "--label", "new_sha256=\(String(repeating: "cd", count: 32))"],
                          stateDirectory: d.stateDirectory)
        #expect(r.status == 0, "\(r)")
        var listed = ""
        #expect(try eventually(15) {
            listed = try Self.incidentsJSON(d)
            return listed.contains("/etc/passwd")
        }, "\(listed)\n\(d.log.suffix(3000))")
        #expect(!d.log.contains("held until a reload approves it"))
    }
}

/// The pure parts: which files are the daemon's own, holding, approving and releasing.
@Suite struct OwnFileChangesTests {
    let clock = ManualClock(Timestamp(nanoseconds: 1_000_000_000_000))

    func event(_ path: String) -> Event {
        Event(kind: .signal, lane: .security, name: Symbol(id: 1), value: 1, time: clock.now())
    }

    @Test func onlyTheDaemonsOwnFilesAreHeldAndTheWindowReleasesThem() {
        var changes = OwnFileChanges(ownPaths: ["/srv/vigil/Config/", "/srv/vigil/Plugins", "/etc/vigil/rules.yaml"],
                                     window: .seconds(120))
        #expect(changes.isOwn("/srv/vigil/Config/vigil.yaml"))
        #expect(changes.isOwn("/srv/vigil/Plugins/webhook/plugin.yaml"))
        #expect(changes.isOwn("/etc/vigil/rules.yaml"))
        #expect(!changes.isOwn("/srv/vigil/Configs/x"))
        #expect(!changes.isOwn("/srv/vigil/Config/../secrets"))
        #expect(!changes.isOwn("relative/vigil.yaml"))
        let held1 = changes.hold(event("/etc/passwd"), path: "/etc/passwd", newHash: "ab", now: clock.now())
        #expect(!held1)
        let held2 = changes.hold(event("a"), path: "/srv/vigil/Config/vigil.yaml", newHash: "AB", now: clock.now())
        #expect(held2)
        let early = changes.due(now: clock.now() + .seconds(119))
        #expect(early.isEmpty)
        let due = changes.due(now: clock.now() + .seconds(120))
        #expect(due.count == 1 && due.first?.time == clock.now() + .seconds(120))
        #expect(changes.held.isEmpty && changes.nextDue == nil)
    }

    @Test func aReloadApprovesOnlyTheContentItFound() {
        var changes = OwnFileChanges(ownPaths: ["/c"], window: .seconds(60))
        let aa = String(repeating: "a", count: 64), bb = String(repeating: "b", count: 64)
        _ = changes.hold(event("x"), path: "/c/a.yaml", newHash: aa.uppercased(), now: clock.now())
        _ = changes.hold(event("y"), path: "/c/b.yaml", newHash: bb, now: clock.now())
        _ = changes.hold(event("z"), path: "/c/gone.yaml", newHash: "-", now: clock.now())
        _ = changes.hold(event("w"), path: "/c/dir", newHash: "-", now: clock.now())
        _ = changes.hold(event("v"), path: "/c/odd.yaml", newHash: "unknown", now: clock.now())
        let approved = changes.approve(current: ["/c/a.yaml": .file(aa), "/c/b.yaml": .file(aa), "/c/gone.yaml": .absent,
                                                 "/c/dir": .other, "/c/odd.yaml": .other])
        #expect(approved == ["/c/a.yaml", "/c/gone.yaml"])
        #expect(changes.held.keys.sorted() == ["/c/b.yaml", "/c/dir", "/c/odd.yaml"])
    }

    @Test func aLaterReportKeepsTheFirstDeadline() {
        var changes = OwnFileChanges(ownPaths: ["/c"], window: .seconds(60))
        _ = changes.hold(event("1"), path: "/c/a", newHash: "1", now: clock.now())
        _ = changes.hold(event("2"), path: "/c/a", newHash: "2", now: clock.now() + .seconds(50))
        #expect(changes.held["/c/a"]?.newHash == "2")
        let due = changes.due(now: clock.now() + .seconds(60))
        #expect(due.count == 1, "a path reported again and again is still released when its first window ends")
    }

    /// What a reload finds: never following a symlink, never blocking on a FIFO.
    @Test(.timeLimit(.minutes(1))) func whatAReloadFindsOnDisk() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("own-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "rules: []\n".write(toFile: dir + "/f.yaml", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.yaml", withDestinationPath: dir + "/f.yaml")
        #expect(mkfifo(dir + "/fifo", 0o600) == 0)
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: false)
        #expect(OwnFileChanges.found(at: dir + "/f.yaml") == .file(try SHA256Digest.file(dir + "/f.yaml")))
        #expect(OwnFileChanges.found(at: dir + "/link.yaml") == .other)
        #expect(OwnFileChanges.found(at: dir + "/fifo") == .other)
        #expect(OwnFileChanges.found(at: dir + "/sub") == .other)
        #expect(OwnFileChanges.found(at: dir + "/none") == .absent)
    }

    @Test func theHoldIsBounded() {
        var changes = OwnFileChanges(ownPaths: ["/c"], window: .seconds(60))
        changes.capacity = 2
        let held3 = changes.hold(event("1"), path: "/c/1", newHash: "1", now: clock.now())
        #expect(held3)
        let held4 = changes.hold(event("2"), path: "/c/2", newHash: "2", now: clock.now())
        #expect(held4)
        let held5 = changes.hold(event("3"), path: "/c/3", newHash: "3", now: clock.now())
        #expect(!held5)
        let held6 = changes.hold(event("2"), path: "/c/2", newHash: "22", now: clock.now())
        #expect(held6, "a held path may be reported again")
    }
}

@Suite struct RuleSourcesTests {
    @Test func emitsCoverExactNamesAndPrefixes() {
        #expect(RuleSources.covers("fps", "fps"))
        #expect(RuleSources.covers("app_*", "app_errors"))
        #expect(!RuleSources.covers("app_*", "apps"))
        #expect(!RuleSources.covers("fps", "fps_total"))
        let views = RuleSources.views(
            rules: [.init(id: "r1", kind: "count", text: "sqlite_connection_failures > 5 in 1 minute", event: "sqlite_connection_failures"),
                    .init(id: "r2", kind: "threshold", text: "app_latency > 5", event: "app_latency"),
                    .init(id: "r3", kind: "occurrence", text: "orphan", event: "orphan")],
            plugins: [.init(name: "zeta", state: "running", emits: ["app_*"]),
                      .init(name: "alpha", state: "backing off", emits: ["sqlite_connection_failures"])],
            samples: ["app_latency": (Timestamp(nanoseconds: 0), "plugin:zeta")])
        #expect(views[0].fedBy == ["vigild", "plugin:alpha (backing off)"])
        #expect(views[1].fedBy == ["plugin:zeta (running)"] && views[1].lastSample == "1970-01-01T00:00:00.000Z")
        #expect(views[2].fedBy.isEmpty && views[2].lastSample == nil)
    }

    @Test func storeFailureKindsAreTheConnectionsNotTheProgramsErrors() {
        #expect(StoreFailure.kind(code: 5) == .busy)
        #expect(StoreFailure.kind(code: 5 | (2 << 8)) == .busy)       // SQLITE_BUSY_SNAPSHOT
        #expect(StoreFailure.kind(code: 10 | (3 << 8)) == .io)        // SQLITE_IOERR_WRITE
        #expect(StoreFailure.kind(code: 11) == .corrupt)
        #expect(StoreFailure.kind(code: 26) == .notADatabase)
        #expect(StoreFailure.kind(code: 19) == nil)                   // a constraint: the program's
        #expect(StoreFailure.kind(code: 1) == nil)                    // an SQL error
        #expect(StoreFailure.kind(code: 27 | (1 << 8)) == nil)        // SQLITE_NOTICE_RECOVER_WAL
        #expect(StoreFailure.kind(code: 28) == nil)                   // a warning
    }

    @Test func theStoreFailureEventIsWhatTheSeedRuleCounts() {
        let e = StoreFailureReports.event(StoreFailure(kind: .corrupt, code: 11, message: "database disk image is malformed"))
        #expect(e.name == "sqlite_connection_failures" && e.kind == .signal)
        #expect(e.labels == ["database": "vigil", "kind": "corrupt"] && e.source == "vigild:store")
    }
}
