import Foundation
import Testing
import VigilControl
import VigilCore
@testable import VigilDaemon
import VigilIncidents
import VigilSilences
import VigilStore
import VigilTestSupport

/// `silences.preview`: what a silence would mute now, matched as the silences match, before
/// anyone creates it.
@Suite struct SilencePreviewTests {
    struct Rig {
        let incidents: ControlRig
        let silences: SilenceService
        let control: SilenceControl

        func preview(_ matchers: [String], limit: Int? = nil) async throws -> SilencePreviewView {
            var args: [String: JSONValue] = ["matchers": .array(matchers.map { .string($0) })]
            if let limit { args["limit"] = .number(Double(limit)) }
            return try await control.handle(ControlRequest(command: "silences.preview", args: args), actor: "ana")
                .decode(SilencePreviewView.self)
        }

        func refusal(_ args: [String: JSONValue]) async -> String? {
            do { _ = try await control.handle(ControlRequest(command: "silences.preview", args: args), actor: "ana") } catch {
                return "\(error)"
            }
            return nil
        }
    }

    static func rig() async throws -> Rig {
        let incidents = try await ControlRig()
        let clock = incidents.clock
        let firing: [Alert] = [
            Alert(labels: ["alertname": "DiskFull", "team": "db", "instance": "db-1"], startsAt: monday - minutes(5),
                  endsAt: monday + minutes(60), updatedAt: monday),
            Alert(labels: ["alertname": "DiskFull", "team": "db", "instance": "db-2"], startsAt: monday - minutes(9),
                  endsAt: monday + minutes(60), updatedAt: monday),
            Alert(labels: ["alertname": "HighLatency", "team": "web"], startsAt: monday, endsAt: monday + minutes(60),
                  updatedAt: monday),
            // Resolved: its lease ran out; a silence would not mute it now.
            Alert(labels: ["alertname": "DiskFull", "team": "db", "instance": "db-3"], startsAt: monday - minutes(60),
                  endsAt: monday - minutes(1), updatedAt: monday),
        ]
        let silences = try await SilenceService(store: incidents.store, clock: clock, logger: quietLogger)
        let control = SilenceControl(service: silences, clock: clock, activeAlerts: { firing })
        _ = try await incidents.service.declare(ClassificationInput(title: "Orders corrupted", severity: "P2",
                                                                    incidentType: "Data corruption", components: ["db"]),
                                                actor: "bob")
        _ = try await incidents.service.declare(ClassificationInput(title: "Slow pages", severity: "P3", components: ["web"]),
                                                actor: "bob")
        let closed = try await incidents.service.declare(ClassificationInput(title: "Old db issue", severity: "P3",
                                                                             components: ["db"]), actor: "bob")
        try await incidents.resolve(closed.id)
        return Rig(incidents: incidents, silences: silences, control: control)
    }

    @Test func firingAlertsAndOpenIncidentsAreMatchedAsASilenceMatchesThem() async throws {
        let rig = try await Self.rig()
        let db = try await rig.preview([#"team="db""#])
        #expect(db.matchers == #"{team="db"}"#)
        #expect(db.alertCount == 2 && db.alerts.map { $0.labels["instance"] } == ["db-2", "db-1"])
        // Incidents by their labels and the daemon's: the classified component, type, severity.
        #expect(db.incidentCount == 0)
        let component = try await rig.preview([#"component="web""#])
        #expect(component.incidents.map(\.title) == ["Slow pages"] && component.alertCount == 0)
        // The type adds its own component: the label is "db,storage", as a silence sees it.
        #expect(try await rig.preview([#"component="db""#]).incidentCount == 0)
        #expect(try await rig.preview([#"component=~"(.+,)?db(,.+)?""#]).incidents.map(\.title) == ["Orders corrupted"])
        let some = try await rig.preview([#"severity=~"P[23]""#, "type!=Data corruption"])
        #expect(some.incidents.map(\.title) == ["Slow pages"])
        #expect(some.incidents.first?.mutedBy == nil && some.incidents.first?.state == "mobilised")
        // Several matchers in one text, as amtool joins them, and one cut in two at a comma.
        #expect(try await rig.preview([#"alertname="DiskFull",instance=~"db-(1|9)""#]).alertCount == 1)
        #expect(try await rig.preview([#"instance=~"db-[12]{1"#, #"2}""#]).alertCount == 2)
        #expect(try await rig.preview([#"alertname=~".+""#], limit: 1).alerts.count == 1)
    }

    @Test func whatIsAlreadyMutedSaysByWhat() async throws {
        let rig = try await Self.rig()
        let clock = rig.incidents.clock
        let change = try await rig.silences.set(SilenceDraft(matchers: try LabelMatchersText.parse(#"instance="db-1""#),
                                                             startsAt: clock.now(), endsAt: clock.now() + minutes(60),
                                                             createdBy: "ana", comment: "disk swap"), actor: "ana")
        let muted = try await rig.silences.set(SilenceDraft(matchers: try LabelMatchersText.parse(#"type="Data corruption""#),
                                                            startsAt: clock.now(), endsAt: clock.now() + minutes(60),
                                                            createdBy: "ana", comment: "restore running"), actor: "ana")
        let alerts = try await rig.preview([#"team="db""#])
        #expect(alerts.alerts.first { $0.labels["instance"] == "db-1" }?.silencedBy == [change.silence.idText])
        #expect(alerts.alerts.first { $0.labels["instance"] == "db-2" }?.silencedBy == [])
        let incidents = try await rig.preview([#"severity=~"P[23]""#])
        #expect(incidents.incidents.map(\.title) == ["Slow pages", "Orders corrupted"])
        #expect(incidents.incidents.map(\.mutedBy) == [nil, muted.silence.idText])
    }

    @Test func badMatchersAreRefusedNamingTheMatcher() async throws {
        let rig = try await Self.rig()
        #expect(await rig.refusal([:]) == "matchers: missing; at least one matcher like alertname=\"Disk\"")
        #expect(await rig.refusal(["matchers": .array([])]) == "matchers: missing; at least one matcher like alertname=\"Disk\"")
        #expect(await rig.refusal(["matchers": .array([.string(#"team="db""#), .string("=oops")])])
            == "matchers: \"=oops\": bad matcher format: =oops")
        #expect(await rig.refusal(["matchers": .array([.string(#"job=~"(""#)])])?.hasPrefix(#"matchers: "job=~"("": invalid regular expression"#) == true)
        #expect(await rig.refusal(["matchers": .array([.string(#"team="""#)])])
            == "matchers: silence invalid: at least one matcher must not match the empty string")
        #expect(await rig.refusal(["matchers": .number(1)]) == "matchers: expected a list of texts")
        #expect(await rig.refusal(["matchers": .array([.string(#"a="b""#)]), "limit": .number(0)])
            == "limit: 0 is out of range; expected 1 to 1000")
    }
}
