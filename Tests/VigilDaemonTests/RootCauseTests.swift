import Foundation
import Testing
import VigilConfig
import VigilControl
import VigilCore
@testable import VigilDaemon
import VigilIncidents
import VigilStore
import VigilTestSupport

/// Root-cause help through the control commands over a real SQLite file: deploys posted like a
/// pipeline would, changes the daemon records itself, the post-mortem draft's ranked hypotheses,
/// people confirming and rejecting them, and hostile deploy events refused with nothing stored.
@Suite struct RootCauseTests {
    typealias View = PostMortemView
    static let deployBot = ControlCaller.http(person: "deploy-bot", role: "sender")

    static func text(_ v: View, _ key: String) -> String { v.sections.first { $0.key == key }?.text ?? "" }

    /// A deploy of api 12 minutes before an api incident, a configuration reload 3 hours before,
    /// a P3 on the database 40 minutes before, a deploy of an unrelated component, and a deploy
    /// after detection (not a cause).
    static func incidentAfterChanges() async throws -> (ControlRig, String) {
        let rig = try await ControlRig()
        let recorder = ChangeRecorder(store: rig.store, clock: rig.clock, logger: quietLogger)
        var old = VigilConfiguration(sourceFile: "Config/vigil.yaml", baseDirectory: "Config", policy: try shippedPolicy())
        old.sourceText = "log_level: info\nrules:\n  files: [a.yaml]\n"
        var new = old
        new.sourceText = "log_level: debug\n# a comment\nrules:\n  files: [a.yaml]\n"
        await recorder.configurationReloaded(from: old, to: new, actor: "SIGHUP")
        rig.clock.advance(by: minutes(60))
        _ = try await rig.run("changes.record", ["component": .string("mail"), "summary": .string("mail relay 3.2")], as: deployBot)
        rig.clock.advance(by: minutes(80))
        _ = try await rig.service.declare(ClassificationInput(title: "Slow queries", severity: "P3", components: ["database"]), actor: "dave")
        rig.clock.advance(by: minutes(40))
        // Posted after the fact: the pipeline says when it happened.
        let deploy = try await rig.run("changes.record", ["kind": .string("deploy"), "component": .string("api"),
                                                          "summary": .string("release 2026.12.7"), "at": .string("-12 minutes")],
                                       as: deployBot).decode(ChangeView.self)
        #expect(deploy.actor == "deploy-bot" && deploy.kind == "deploy" && deploy.warning == nil)
        let i = try await rig.service.declare(ClassificationInput(title: "Checkout returns 502", severity: "P1", components: ["api"]),
                                              actor: "bob")
        rig.clock.advance(by: minutes(5))
        _ = try await rig.run("changes.record", ["component": .string("api"), "summary": .string("hotfix")], as: deployBot)
        try await rig.resolve(i.id)
        return (rig, i.id)
    }

    @Test func theDraftRanksWhatPrecededTheIncident() async throws {
        let (rig, id) = try await Self.incidentAfterChanges()
        let v1 = try await rig.run("postmortem.edit", ["id": .string(id)]).decode(View.self)
        let causes = Self.text(v1, "possible_causes")
        let items = causes.split(separator: "\n").filter { $0.first?.isNumber == true }.map(String.init)
        #expect(items.count == 4)
        #expect(items[0].hasPrefix("1. [open] Deploy of api: release 2026.12.7 (by deploy-bot), 12m before detection; api is the incident's component (change 3; score"))
        #expect(items[1].hasPrefix("2. [open] Incident INC-2026-0001 (P3) of database: Slow queries, 40m before detection; database is a direct dependency of api (api → database)"))
        #expect(items[2].hasPrefix("3. [open] Configuration reloaded; changed: log_level (by SIGHUP), 3h0m before detection; daemon-wide"))
        #expect(items[3].contains("Deploy of mail") && items[3].contains("not connected to api"))
        #expect(!causes.contains("hotfix"))
        let md = try #require(try await rig.run("postmortem.show", ["id": .string(id), "format": .string("markdown")]).decode(View.self).markdown)
        #expect(md.contains("\n## Possible causes (hypotheses to confirm or reject)\n\nRanked by nearness in time"))
    }

    @Test func peopleConfirmAndRejectHypothesesAndARedraftKeepsTheirVerdicts() async throws {
        let (rig, id) = try await Self.incidentAfterChanges()
        _ = try await rig.run("postmortem.edit", ["id": .string(id)])
        let v2 = try await rig.run("postmortem.hypothesis", ["id": .string(id), "number": .number(1), "verdict": .string("confirmed"),
                                                             "note": .string("the release halved the pool")],
                                   as: .http(person: "carol", role: "responder")).decode(View.self)
        #expect(v2.version == 2 && v2.state == "draft")
        #expect(Self.text(v2, "possible_causes").contains("1. [confirmed] Deploy of api"))
        #expect(Self.text(v2, "possible_causes").contains("   - confirmed by carol at "))
        _ = try await rig.run("postmortem.hypothesis", ["id": .string(id), "number": .string("3"), "verdict": .string("rejected")])
        // A deploy recorded later, before detection, ranks anew; the verdicts stay with their changes.
        _ = try await rig.store.recordChange(ChangeRecord(time: try #require(try await rig.store.incident(id: id)).detectedAt - minutes(1),
                                                          kind: .featureFlag, component: "api", subject: "flag", summary: "checkout_v2 on",
                                                          actor: "alice", recordedAt: rig.clock.now()))
        let v4 = try await rig.run("postmortem.edit", ["id": .string(id), "redraft": .bool(true)]).decode(View.self)
        let verdicts = CauseHypothesesSection.verdicts(Self.text(v4, "possible_causes"))
        #expect(verdicts == [1: .open, 2: .confirmed, 3: .open, 4: .rejected, 5: .open])
        let lines = try await rig.store.timeline(incidentID: id).filter { $0.kind == .postMortem }.map(\.message)
        #expect(lines.contains("Post-mortem v2: hypothesis 1 confirmed by carol: the release halved the pool"))
        #expect(lines.contains("Post-mortem v3: hypothesis 3 rejected by alice"))
        // Bad verdicts: nothing stored.
        #expect(await rig.refusal("postmortem.hypothesis", ["id": .string(id), "number": .number(9), "verdict": .string("confirmed")])?
            .description == "no hypothesis 9; the possible causes are numbered 1, 2, 3, 4, 5")
        #expect(await rig.refusal("postmortem.hypothesis", ["id": .string(id), "number": .number(1), "verdict": .string("maybe")])?
            .description == "verdict: expected confirmed, rejected or open")
        #expect(await rig.refusal("postmortem.hypothesis", ["id": .string(id), "verdict": .string("confirmed")])?
            .description.hasPrefix("number: required") == true)
        #expect(await rig.refusal("postmortem.hypothesis", ["id": .string("INC-2026-0077"), "number": .number(1), "verdict": .string("open")])?
            .kind == .notFound)
        #expect(try await rig.store.postMortemVersions(incidentID: id).count == 4)
    }

    @Test func hostileDeployEventsAreRefusedWithNothingStored() async throws {
        let rig = try await ControlRig()
        func refusal(_ args: [String: JSONValue]) async -> String? {
            await rig.refusal("changes.record", args, as: Self.deployBot)?.description
        }
        let ok: [String: JSONValue] = ["component": .string("api"), "summary": .string("release 1")]
        func with(_ extra: [String: JSONValue]) -> [String: JSONValue] { ok.merging(extra) { $1 } }
        #expect(await refusal(with(["kind": .string("config-reload")])) == "kind: config-reload is recorded by vigild itself; a sender may post deploy, rollback, feature-flag, infrastructure")
        #expect(await refusal(with(["kind": .string("party")])) == "kind: \"party\" is not one of deploy, rollback, feature-flag, infrastructure")
        #expect(await refusal(with(["component": .string("../etc")]))?.hasPrefix("component: \"../etc\" is not a component name") == true)
        #expect(await refusal(with(["component": .string(String(repeating: "a", count: 101))])) == "component: 101 bytes; at most 100 are accepted")
        #expect(await refusal(["component": .string("api")]) == "summary: required (what changed, e.g. release 2026.12.7)")
        #expect(await refusal(["summary": .string("x")]) == "component: required (the component that changed, e.g. api)")
        #expect(await refusal(with(["summary": .string(String(repeating: "x", count: 501))])) == "summary: 501 bytes; at most 500 are accepted")
        #expect(await refusal(with(["summary": .string("a\u{1B}[2Jb")]))?.hasPrefix("summary: contains control characters") == true)
        #expect(await refusal(with(["detail": .string(String(repeating: "x", count: 4001))])) == "detail: 4001 bytes; at most 4000")
        #expect(await refusal(with(["detail": .number(1)])) == "detail: expected text")
        #expect(await refusal(with(["at": .string("+1 hour")]))?.contains("is in the future") == true)
        #expect(await refusal(with(["at": .string("1999-01-01T00:00:00Z")]))?.hasSuffix("is more than 30 days ago; too old to explain an incident") == true)
        #expect(await refusal(with(["at": .string("yesterday")]))?.hasPrefix("at \"yesterday\": expected now, an RFC 3339 time") == true)
        #expect(await refusal(with(["actor": .string("root")])) == "actor: not an argument of changes.record; it takes at, component, detail, kind, subject, summary")
        #expect(try await rig.store.changes().isEmpty)
        // Clock drift of a few minutes is not an error; an unmapped component is stored with a warning.
        let drift = try await rig.run("changes.record", with(["at": .string("+2 minutes"), "component": .string("billing")]),
                                      as: Self.deployBot).decode(ChangeView.self)
        #expect(drift.warning?.hasPrefix("component \"billing\" is not in the configured dependency map") == true)
        #expect(try await rig.store.changes().count == 1)
    }

    @Test func changesAreListedAndFiltered() async throws {
        let rig = try await ControlRig()
        _ = try await rig.run("changes.record", ["component": .string("api"), "summary": .string("r1")], as: Self.deployBot)
        rig.clock.advance(by: minutes(10))
        _ = try await rig.run("changes.record", ["kind": .string("rollback"), "component": .string("database"), "summary": .string("r0")],
                              as: Self.deployBot)
        await ChangeRecorder(store: rig.store, clock: rig.clock, logger: quietLogger).plugin(.pluginDisabled, name: "disk", actor: "alice")
        let all = try await rig.run("changes.list").decode([ChangeView].self)
        #expect(all.map(\.kind) == ["plugin-disabled", "rollback", "deploy"])
        #expect(all.first?.summary == "plugin disk disabled" && all.first?.component == nil)
        #expect(try await rig.run("changes.list", ["component": .string("api")]).decode([ChangeView].self).map(\.summary) == ["r1"])
        #expect(try await rig.run("changes.list", ["kind": .array([.string("rollback")])]).decode([ChangeView].self).count == 1)
        #expect(try await rig.run("changes.list", ["since": .string("-5 minutes")]).decode([ChangeView].self).count == 2)
        #expect(await rig.refusal("changes.list", ["kind": .string("party")])?.description.hasPrefix("kind: \"party\" is not one of deploy") == true)
        #expect(await rig.refusal("changes.list", ["limit": .number(0)])?.description == "limit: 0 is out of range; expected 1 to 1000")
    }

    @Test func aPluginWhoseFilesChangedBetweenStartsIsAnUpgrade() async throws {
        let rig = try await ControlRig()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-plugin-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "name: disk\nversion: 1.0\n".write(toFile: dir + "/plugin.yaml", atomically: true, encoding: .utf8)
        try "#!/bin/sh\necho 1\n".write(toFile: dir + "/run", atomically: true, encoding: .utf8)
        let recorder = ChangeRecorder(store: rig.store, clock: rig.clock, logger: quietLogger)
        let v1 = PluginManifest(name: "disk", kind: .detector, version: "1.0", directory: dir, executable: "run")
        await recorder.pluginsStarted([v1])
        await recorder.pluginsStarted([v1])
        #expect(try await rig.store.changes().isEmpty)
        try "#!/bin/sh\necho 2\n".write(toFile: dir + "/run", atomically: true, encoding: .utf8)
        var v2 = v1
        v2.version = "1.1"
        await recorder.pluginsStarted([v2])
        let upgrades = try await rig.store.changes(kinds: [.pluginUpgrade])
        #expect(upgrades.map(\.summary) == ["plugin disk upgraded (1.0 → 1.1)"])
        #expect(ChangeRecorder.changedSections(old: "a: 1\nb:\n  x: 1\n", new: "a: 1\n# note\nb:\n  x: 2\nc: 3\n") == ["b", "c"])
    }
}
