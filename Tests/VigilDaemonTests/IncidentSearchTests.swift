import Foundation
import Testing
import VigilControl
import VigilCore
@testable import VigilDaemon
import VigilIncidents
import VigilTestSupport

/// `incidents.list` with filters, order and paging, and `incidents.count`, through the control
/// commands over a real store: what the console's incident list pages through.
@Suite struct IncidentSearchTests {
    /// Five incidents a minute apart, the second resolved.
    static func seeded() async throws -> ControlRig {
        let rig = try await ControlRig()
        let inputs = [
            ClassificationInput(title: "Disk full on db-1", severity: "P1", incidentType: "Data corruption", components: ["database"]),
            ClassificationInput(title: "CPU at 100%", summary: "job_runner spinning", severity: "P3",
                                incidentType: "High CPU utilization", components: ["plugin system"]),
            ClassificationInput(title: "Login errors", severity: "P2", components: ["authentication"]),
            ClassificationInput(title: "<script>alert(1)</script>", severity: "P4"),
            ClassificationInput(title: "Checkout 502", severity: "P1", components: ["api", "database"]),
        ]
        for (i, input) in inputs.enumerated() {
            rig.clock.set(monday + minutes(i))
            _ = try await rig.service.declare(input, actor: "bob")
        }
        try await rig.resolve("INC-2026-0002")
        return rig
    }

    func ids(_ rig: ControlRig, _ args: [String: JSONValue]) async throws -> [String] {
        try await rig.run("incidents.list", args).decode([IncidentView].self).map(\.id)
    }

    func total(_ rig: ControlRig, _ args: [String: JSONValue]) async throws -> Int? {
        try await rig.run("incidents.count", args)["total"]?.doubleValue.flatMap { Int(exactly: $0) }
    }

    @Test func filtersOrderAndPagesCombine() async throws {
        let rig = try await Self.seeded()
        #expect(try await ids(rig, [:]) == ["INC-2026-0005", "INC-2026-0004", "INC-2026-0003", "INC-2026-0002", "INC-2026-0001"])
        // A name on the ladder reads as its code; several severities as a list.
        #expect(try await ids(rig, ["severity": .string("critical")]) == ["INC-2026-0005", "INC-2026-0001"])
        #expect(try await ids(rig, ["severity": .array([.string("P3"), .string("P4")])]) == ["INC-2026-0004", "INC-2026-0002"])
        #expect(try await ids(rig, ["type": .string("high cpu utilization")]) == ["INC-2026-0002"])
        #expect(try await ids(rig, ["component": .string("Database")]) == ["INC-2026-0005", "INC-2026-0001"])
        #expect(try await ids(rig, ["text": .string("JOB_RUN")]) == ["INC-2026-0002"])
        #expect(try await ids(rig, ["text": .string("<script>")]) == ["INC-2026-0004"])
        #expect(try await ids(rig, ["order": .string("open-first")]).last == "INC-2026-0002")
        #expect(try await ids(rig, ["order": .string("open-first"), "limit": .number(2), "offset": .string("3")])
            == ["INC-2026-0001", "INC-2026-0002"])
        #expect(try await ids(rig, ["states": .array([.string("open")]), "component": .string("database"), "severity": .string("P1")])
            == ["INC-2026-0005", "INC-2026-0001"])
        // Empty form fields filter nothing.
        #expect(try await ids(rig, ["text": .string(""), "type": .string(" "), "severity": .array([])]).count == 5)
        #expect(try await total(rig, [:]) == 5)
        #expect(try await total(rig, ["component": .string("database"), "states": .array([.string("resolved")])]) == 0)
        #expect(try await total(rig, ["severity": .string("P1")]) == 2)
    }

    @Test func badArgumentsAreRefusedNamingThem() async throws {
        let rig = try await Self.seeded()
        func refusal(_ args: [String: JSONValue]) async -> String? { await rig.refusal("incidents.list", args)?.description }
        #expect(await refusal(["limit": .number(0)]) == "limit: 0 is out of range; expected 1 to 1000")
        #expect(await refusal(["limit": .number(1001)]) == "limit: 1001 is out of range; expected 1 to 1000")
        #expect(await refusal(["limit": .number(1.5)]) == "limit: expected a whole number from 1 to 1000")
        #expect(await refusal(["limit": .string("ten")]) == "limit: expected a whole number from 1 to 1000")
        #expect(await refusal(["limit": .number(1e300)]) == "limit: expected a whole number from 1 to 1000")
        #expect(await refusal(["offset": .number(-1)])?.hasPrefix("offset: -1 is out of range") == true)
        #expect(await refusal(["order": .string("oldest")]) == "order: \"oldest\" is not one of newest, open-first")
        #expect(await refusal(["severity": .string("P9")])?.hasPrefix("severity: \"P9\" is not a severity of any configured ladder") == true)
        #expect(await refusal(["severity": .number(1)]) == "severity: expected a list of texts")
        #expect(await refusal(["text": .number(3)]) == "text: expected text")
        #expect(await refusal(["text": .string(String(repeating: "a", count: 201))]) == "text: 201 bytes; at most 200 are accepted")
        #expect(await refusal(["component": .string("db\u{0}")])?.hasPrefix("component: contains control characters") == true)
        #expect(await refusal(["states": .array([.string("sleeping")])])?.hasPrefix("unknown state \"sleeping\"") == true)
        #expect(await rig.refusal("incidents.count", ["type": .bool(true)])?.description == "type: expected text")
        // A severity of the other configured ladder is accepted (incidents keep theirs across a switch).
        #expect(await refusal(["severity": .string("P0")]) == nil)
    }
}
