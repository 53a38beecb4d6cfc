import VigilControl
import Foundation
import VigilTestSupport
import Testing
import VigilCore
import VigilDaemon

@Suite(.serialized) struct DaemonLifecycleTests {
    @Test func statusReachesARunningDaemon() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let r = try vigil(["status"], stateDirectory: d.stateDirectory)
        #expect(r.status == 0)
        #expect(r.out.contains("vigild \(VigilVersion.current) (pid \(d.process.processIdentifier))"))
        #expect(r.out.contains("ladder:    p1-p4"))
        let json = try vigil(["status", "--json"], stateDirectory: d.stateDirectory)
        let status = try JSONDecoder().decode(JSONValue.self, from: Data(json.out.utf8))
        #expect(status["pid"]?.doubleValue == Double(d.process.processIdentifier))
        #expect(status["open_incidents"]?.doubleValue == 0)
        // The state folder may also come before the subcommand, as with most CLIs.
        let before = try runVigil(["--state-dir", d.stateDirectory, "status"])
        #expect(before.status == 0)
        #expect(before.out.contains("vigild \(VigilVersion.current) (pid \(d.process.processIdentifier))"))
        let joined = try runVigil(["--state-dir=" + d.stateDirectory, "status", "--json"])
        #expect(joined.status == 0)
        #expect(joined.out.contains("\"open_incidents\""))
    }

    @Test func declaredIncidentSurvivesKillDashNine() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let declared = try vigil(["incidents", "declare", "--title", "Checkout returns 502", "--severity", "P2",
                                  "--summary", "support reports", "--json"], stateDirectory: d.stateDirectory)
        #expect(declared.status == 0, "\(declared.err)")
        let view = try JSONDecoder().decode(JSONValue.self, from: Data(declared.out.utf8))
        let id = try #require(view["id"]?.stringValue)
        d.killHard()
        #expect(d.process.terminationReason == .uncaughtSignal)
        try d.start()
        let shown = try vigil(["incidents", "show", id, "--json"], stateDirectory: d.stateDirectory)
        #expect(shown.status == 0, "\(shown.err)")
        let incident = try JSONDecoder().decode(JSONValue.self, from: Data(shown.out.utf8))
        #expect(incident["title"]?.stringValue == "Checkout returns 502")
        #expect(incident["severity"]?.stringValue == "P2")
        #expect(incident["sla"]?["deadline"] == view["sla"]?["deadline"])
        let kinds = incident["timeline"]?.arrayValue?.compactMap { $0["kind"]?.stringValue }
        #expect(kinds?.prefix(2) == ["declared", "classified"])
        #expect(kinds?.contains("transition") == true)
        let listed = try vigil(["incidents", "list"], stateDirectory: d.stateDirectory)
        #expect(listed.out.contains(id))
    }

    @Test func badRequestsGetClearErrors() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let r = try vigil(["incidents", "declare", "--title", "x", "--severity", "P9"], stateDirectory: d.stateDirectory)
        #expect(r.status == 1)
        #expect(r.err.contains("unknown severity \"P9\"; the p1-p4 ladder has P1 (Critical), P2 (High), P3 (Medium), P4 (Low)"))
        let t = try vigil(["incidents", "declare", "--title", "x", "--type", "Gremlins"], stateDirectory: d.stateDirectory)
        #expect(t.err.contains("unknown incident type \"Gremlins\""))
        let s = try vigil(["incidents", "show", "INC-1999-0001"], stateDirectory: d.stateDirectory)
        #expect(s.status == 1 && s.err.contains("no incident INC-1999-0001"))
        // A count no Int can hold is refused, not trapped on (the daemon used to die here).
        let client = ControlClient(stateDirectory: d.stateDirectory)
        let huge = try client.send(ControlRequest(command: "emit", args: [
            "event": .object(["kind": .number(1), "name": .string("x"), "value": .number(1), "unit": .string(""),
                              "labels": .object([:]), "source": .string("cli")]),
            "count": .number(1e300)]))
        #expect(!huge.ok)
        #expect(huge.error?.contains("count must be a whole number") == true)
        #expect(try vigil(["status"], stateDirectory: d.stateDirectory).status == 0)
    }

    @Test func noDaemonSaysWhatToDo() throws {
        let r = try vigil(["status"], stateDirectory: "/tmp/vigil-nothing-\(UUID().uuidString.prefix(6))")
        #expect(r.status == 69)
        #expect(r.err.contains("no daemon is running at"))
    }

    @Test func sigtermShutsDownGracefully() throws {
        let d = try DaemonProcess()
        d.signal(SIGTERM)
        d.process.waitUntilExit()
        #expect(d.process.terminationStatus == 0)
        #expect(d.log.contains("vigild stopped cleanly"))
        #expect(!FileManager.default.fileExists(atPath: d.stateDirectory + "/control.sock"))
    }

    @Test func secondDaemonOnTheSameStateFolderIsRefused() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: productsDirectory + "/vigild")
        p.arguments = ["--config", d.configPath, "--state-dir", d.stateDirectory, "--http-listen", "127.0.0.1:0"]
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 75)
    }

    @Test func sighupRefusesABadConfigAndKeepsRunning() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-hup-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in ["vigil.yaml", "detection-rules.yaml", "operator-rules.yaml", "containment-rules.yaml", "runbooks"] {
            try FileManager.default.copyItem(atPath: repositoryRoot + "/Config/" + f, toPath: dir + "/" + f)
        }
        let config = dir + "/vigil.yaml"
        let good = try String(contentsOfFile: config, encoding: .utf8)
        let d = try DaemonProcess(config: config)
        defer { d.stop() }
        try good.replacingOccurrences(of: "response_time: 4 hours", with: "response_time: 4 hourz")
            .write(toFile: config, atomically: true, encoding: .utf8)
        d.signal(SIGHUP)
        #expect(d.waitForLog("configuration reload refused"))
        #expect(d.log.contains("expected a duration like"))
        #expect(try vigil(["status"], stateDirectory: d.stateDirectory).status == 0)
        try good.replacingOccurrences(of: "active: p1-p4", with: "active: p0-p3")
            .write(toFile: config, atomically: true, encoding: .utf8)
        d.signal(SIGHUP)
        #expect(d.waitForLog("configuration reloaded"))
        #expect(try vigil(["status"], stateDirectory: d.stateDirectory).out.contains("ladder:    p0-p3"))
    }
}

/// SO_PEERCRED checks: a child that switched to another uid is refused, a member of the allowed group is not.
@Suite(.serialized, .enabled(if: isRoot, "switching uid in a child needs root (CI runs as root)"))
struct ControlSocketPeerTests {
    /// `setpriv` (util-linux) switches uid/gid in the child before exec'ing `vigil`.
    @Test func foreignUIDIsRefusedAndLogged() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        // gid 0 keeps filesystem access to the root-owned 0660 socket, so only SO_PEERCRED can refuse.
        let r = try vigil(["status"], stateDirectory: d.stateDirectory,
                          prefix: ["/usr/bin/setpriv", "--reuid=65534", "--regid=0", "--clear-groups"])
        #expect(r.status == 1)
        #expect(r.err.contains("permission denied: uid 65534"))
        #expect(d.waitForLog("control connection refused"))
        #expect(d.log.contains("peer_uid=65534"))
    }

    @Test func memberOfTheAllowedGroupIsServed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-grp-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in ["vigil.yaml", "detection-rules.yaml", "operator-rules.yaml", "containment-rules.yaml", "runbooks"] {
            try FileManager.default.copyItem(atPath: repositoryRoot + "/Config/" + f, toPath: dir + "/" + f)
        }
        let config = dir + "/vigil.yaml"
        try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "allowed_group: vigil", with: "allowed_group: nogroup")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let state = "/tmp/vigil-grp-state-\(UUID().uuidString.prefix(8))"
        let d = try DaemonProcess(config: config, stateDirectory: state)
        defer { d.stop() }
        let r = try vigil(["status"], stateDirectory: state,
                          prefix: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
        #expect(r.status == 0, "\(r.err)")
        // Someone neither root nor in the group cannot even reach the socket file.
        let other = try vigil(["status"], stateDirectory: state,
                              prefix: ["/usr/bin/setpriv", "--reuid=65533", "--regid=65533", "--clear-groups"])
        #expect(other.status != 0)
    }
}
