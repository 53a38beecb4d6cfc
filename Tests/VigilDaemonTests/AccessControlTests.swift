import Foundation
import Testing
import VigilAccess
import VigilCore
import VigilDaemon
import VigilIncidents
import VigilStore
import VigilTestSupport

/// Acknowledgement links end to end over a real store and incident service; tokens through the real CLI.
@Suite struct AckLinkServiceTests {
    @Test func aLinkAcknowledgesOnceAsItsPersonAndTheTimelineSaysSo() async throws {
        let dbPath = try temporaryDatabasePath()
        let store = try Store(path: dbPath)
        let clock = ManualClock(monday)
        let service = IncidentService(store: store, policy: try shippedPolicy(), clock: clock, logger: quietLogger)
        let id = try await service.declare(ClassificationInput(title: "Checkout down", severity: "P1"), actor: "dave").id
        let access = try AccessControl(store: store, clock: clock, stateDirectory: (dbPath as NSString).deletingLastPathComponent,
                                       incidents: service)
        let (_, token) = try access.signer.sign(incidentID: id, person: "alice", lifetime: .seconds(3600))
        let redemption = access.redemption
        #expect(redemption.confirm(token: token).status == 200)
        #expect(try await store.incident(id: id)?.acknowledgedAt == nil, "GET changes nothing")
        clock.advance(by: .seconds(60))
        let page = await redemption.redeem(token: token)
        #expect(page.status == 200, "\(page.html)")
        #expect(try await store.incident(id: id)?.acknowledgedAt == clock.now())
        let ack = try #require(try await store.timeline(incidentID: id).last { $0.kind == .acknowledged })
        #expect(ack.actor == "alice")
        #expect(ack.message.contains("from a signed acknowledgement link"))
        #expect(await redemption.redeem(token: token).status == 410, "single use")
        // A second link for an incident already acknowledged is used up but changes nothing.
        let (_, second) = try access.signer.sign(incidentID: id, person: "bob", lifetime: .seconds(3600))
        #expect(await redemption.redeem(token: second).status == 409)
        #expect(try await store.timeline(incidentID: id).filter { $0.kind == .acknowledged }.count == 1)
    }
}

/// `vigil tokens …` against a real daemon: the secret is printed once and stored nowhere.
@Suite(.serialized) struct TokenCommandTests {
    @Test func createListRevokeAndTheDatabaseNeverHoldsTheSecret() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let state = d.stateDirectory
        let created = try vigil(["tokens", "create", "--role", "responder", "--person", "alice", "--expires", "90 days"],
                                stateDirectory: state)
        #expect(created.status == 0, "\(created.err)")
        let secret = created.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let token = try #require(APIToken(parsing: secret), "printed: \(created.out)")
        #expect(created.err.contains("token \(token.id): role responder for alice"))
        let list = try vigil(["tokens", "list", "--json"], stateDirectory: state)
        #expect(list.status == 0 && list.out.contains(token.id) && list.out.contains("\"active\""))
        #expect(!list.out.contains(secret) && !list.out.contains(token.hash))
        let bad = try vigil(["tokens", "create", "--role", "root", "--person", "x"], stateDirectory: state)
        #expect(bad.status == 1 && bad.err.contains("expected one of viewer, responder, admin, sender"))
        let badExpiry = try vigil(["tokens", "create", "--role", "viewer", "--person", "x", "--expires", "soon"], stateDirectory: state)
        #expect(badExpiry.status == 1 && badExpiry.err.contains("expires \"soon\""))
        let revoked = try vigil(["tokens", "revoke", token.id], stateDirectory: state)
        #expect(revoked.status == 0 && revoked.out.contains("revoked"), "\(revoked.err)")
        #expect(try vigil(["tokens", "list"], stateDirectory: state).out.contains("revoked"))
        #expect(try vigil(["tokens", "revoke", "ffffffffffff"], stateDirectory: state).err.contains("no token ffffffffffff"))
        d.stop()
        // Neither the database nor its WAL holds the secret (or any part of it); the hash is there.
        var bytes = Data()
        for file in ["vigil.db", "vigil.db-wal"] {
            bytes.append((try? Data(contentsOf: URL(fileURLWithPath: state + "/" + file))) ?? Data())
        }
        let secretPart = String(secret.suffix(APIToken.secretLength))
        #expect(bytes.range(of: Data(secretPart.utf8)) == nil)
        #expect(bytes.range(of: Data(secretPart.prefix(16).utf8)) == nil)
        #expect(bytes.range(of: Data(token.hash.utf8)) != nil)
        let key = try FileManager.default.attributesOfItem(atPath: state + "/" + AckLinkKey.fileName)
        #expect(key[.posixPermissions] as? Int == 0o600)
    }

    @Test func ackLinksAreMadeForRosterPeopleOnOpenIncidents() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let declared = try vigil(["incidents", "declare", "--title", "API down", "--severity", "P1", "--json"],
                                 stateDirectory: d.stateDirectory)
        let id = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(declared.out.utf8))["id"]?.stringValue)
        let link = try vigil(["incidents", "ack-link", id, "--person", "alice", "--ttl", "2 hours"], stateDirectory: d.stateDirectory)
        #expect(link.status == 0 && link.out.hasPrefix("/ack/v1."), "\(link.err)")
        let stranger = try vigil(["incidents", "ack-link", id, "--person", "mallory"], stateDirectory: d.stateDirectory)
        #expect(stranger.status == 1 && stranger.err.contains("not a person in the roster"))
        let long = try vigil(["incidents", "ack-link", id, "--person", "alice", "--ttl", "90 days"], stateDirectory: d.stateDirectory)
        #expect(long.status == 1 && long.err.contains("at most 30 days"))
    }
}

/// Members of the control group may work incidents but not mint credentials.
@Suite(.serialized, .enabled(if: isRoot, "switching uid in a child needs root (CI runs as root)"))
struct TokenPeerTests {
    @Test func aGroupMemberMayNotManageTokens() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-tokgrp-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in ["vigil.yaml", "detection-rules.yaml", "operator-rules.yaml", "containment-rules.yaml", "runbooks"] {
            try FileManager.default.copyItem(atPath: repositoryRoot + "/Config/" + f, toPath: dir + "/" + f)
        }
        let config = dir + "/vigil.yaml"
        try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "allowed_group: vigil", with: "allowed_group: nogroup")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let state = "/tmp/vigil-tokgrp-state-\(UUID().uuidString.prefix(8))"
        let d = try DaemonProcess(config: config, stateDirectory: state)
        defer { d.stop() }
        let member = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        #expect(try vigil(["status"], stateDirectory: state, prefix: member).status == 0)
        let r = try vigil(["tokens", "create", "--role", "admin", "--person", "eve"], stateDirectory: state, prefix: member)
        #expect(r.status == 1 && r.err.contains("only root or the daemon's user may manage API tokens"), "\(r.err)")
        #expect(try vigil(["tokens", "list"], stateDirectory: state, prefix: member).status == 1)
        let stored = try vigil(["tokens", "list", "--json"], stateDirectory: state).out
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(stored.utf8)).arrayValue?.isEmpty == true, "\(stored)")
    }
}
