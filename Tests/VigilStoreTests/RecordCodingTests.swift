import Foundation
import GRDB
import Testing
import VigilCore
@testable import VigilStore

/// Strings that JSON writers escape in different ways.
private let awkward = ["", "plain", "a/b", "quote\"d", "back\\slash", "tab\there", "line\nbreak", "\u{0}\u{1}\u{8}\u{c}\u{1f}",
                       "é ü 中文", "emoji 🚨", "\u{2028}\u{7f}", "{\"nested\":\"json\"}", "  spaced  "]

@Suite struct RecordCodingTests {
    @Test func flatJSONReadsWhatEveryWriterWrites() throws {
        var map: [String: String] = [:]
        for (i, s) in awkward.enumerated() { map["k\(i)\(s)"] = awkward[(i + 3) % awkward.count] + s }
        let sorted = JSONEncoder()
        sorted.outputFormatting = .sortedKeys
        let pretty = JSONEncoder()
        pretty.outputFormatting = [.prettyPrinted, .sortedKeys]
        let texts = [CompactJSON.object(map), String(decoding: try JSONEncoder().encode(map), as: UTF8.self),
                     String(decoding: try sorted.encode(map), as: UTF8.self), String(decoding: try pretty.encode(map), as: UTF8.self),
                     #"{"a":"\u00e9\ud83d\udea8\/"}"#]
        for text in texts.prefix(4) { #expect(FlatJSON.object(text) == map, "\(text)") }
        #expect(FlatJSON.object(texts[4]) == ["a": "é🚨/"])
        #expect(FlatJSON.object("{}") == [:])
        #expect(FlatJSON.object(" { } ") == [:])
    }

    @Test func flatJSONLeavesOtherShapesToTheFullDecoder() {
        for text in [#"{"a":1}"#, #"{"a":"b","a":"c"}"#, "[]", #"{"a":"b"} x"#, #"{"a":"b""#, #"{"a":"\ud800"}"#,
                     #"{"a":"\q"}"#, "{\"a\":\"\u{1}\"}", #"{"a":"b",}"#, "", #"{"a":"\u12"}"#] {
            #expect(FlatJSON.object(text) == nil, "\(text)")
        }
    }

    @Test func flatJSONReadsStringArraysAndRefusesOtherShapes() throws {
        let texts = [CompactJSON.array(awkward), String(decoding: try JSONEncoder().encode(awkward), as: UTF8.self),
                     String(decoding: try { let e = JSONEncoder(); e.outputFormatting = .prettyPrinted; return e }().encode(awkward), as: UTF8.self)]
        for text in texts { #expect(FlatJSON.array(text) == awkward, "\(text)") }
        #expect(FlatJSON.array("[]") == [] && FlatJSON.array(" [ ] ") == [])
        for text in ["[1]", "{}", #"["a",]"#, #"["a""#, #"["a"] x"#, #"["\ud800"]"#, "", #"[null]"#] {
            #expect(FlatJSON.array(text) == nil, "\(text)")
        }
    }

    @Test func notificationsRoundTripThroughHandWrittenRowCoding() async throws {
        let store = try Store(path: try temporaryDatabase())
        var c = change("INC-2026-0001")
        c.notifications = [NotificationRecord(incidentID: "INC-2026-0001", createdAt: t0, channel: "email",
                                              recipients: awkward, people: ["alice", "bob \"b\""], subject: "s\n", body: "b")]
        let opening = c
        _ = try await store.openIncident(year: 2026, prefix: "INC") { _ in opening }
        var read = try #require(try await store.pendingNotifications().first)
        #expect(read.recipients == awkward && read.people == ["alice", "bob \"b\""] && read.subject == "s\n")
        read.state = "sent"
        read.attempts = 1
        read.lastError = "x"
        let sent = read
        try await store.write { tx in try tx.update(sent) }
        #expect(try await store.notifications(incidentID: "INC-2026-0001") == [sent])
        #expect(try await store.pendingNotifications(after: nil).isEmpty)
    }

    /// A person's page keeps its purpose, person, methods still to try and chain through a
    /// write and a read (the outbox moves the methods on to the next notification it queues).
    @Test func notificationRoutingRoundTrips() async throws {
        let store = try Store(path: try temporaryDatabase())
        let methods = awkward.enumerated().map { ContactMethod(channel: "c\($0.offset)", address: $0.element) }
        var c = change("INC-2026-0001")
        c.notifications = [NotificationRecord(incidentID: "INC-2026-0001", createdAt: t0, channel: "slack", recipients: ["@alice"],
                                              people: ["alice"], subject: "s", body: "b", purpose: "page", person: "alice",
                                              fallbacks: methods),
                           NotificationRecord(incidentID: "INC-2026-0001", createdAt: t0, channel: "chat", recipients: ["#inc"],
                                              subject: "s", body: "b", purpose: "channel")]
        let opening = c
        _ = try await store.openIncident(year: 2026, prefix: "INC") { _ in opening }
        let read = try await store.pendingNotifications()
        #expect(read.map(\.purpose) == ["page", "channel"] && read.map(\.person) == ["alice", nil])
        #expect(read[0].fallbacks == methods && read[1].fallbacks.isEmpty)
        #expect(read[0].chain == nil && read[0].chainRoot == read[0].id)
        // The next method, in the first one's chain; the first keeps nothing left to try.
        var first = read[0]
        first.fallbacks = []
        let next = NotificationRecord(incidentID: "INC-2026-0001", createdAt: t0, channel: methods[0].channel,
                                      recipients: [methods[0].address], people: ["alice"], subject: "s", body: "b",
                                      purpose: "page", person: "alice", fallbacks: Array(methods.dropFirst()), chain: first.id)
        let updated = first
        try await store.write { tx in
            try tx.update(updated)
            let incident = try #require(try tx.incident(id: "INC-2026-0001"))
            _ = try tx.record(StoreChange(incident: incident, notifications: [next]))
        }
        let chain = try await store.write { tx in try tx.notificationChain(root: updated.id ?? -1) }
        #expect(chain.map(\.channel) == ["slack", methods[0].channel])
        #expect(chain[0].fallbacks.isEmpty && chain[1].fallbacks == Array(methods.dropFirst()) && chain[1].chain == updated.id)
        // A hand-written list of methods with other spacing still reads.
        try await store.write { tx in
            try tx.db.execute(sql: "UPDATE notification SET fallbacks = ? WHERE id = ?",
                              arguments: [#"[ {"channel": "sms", "address": "+1 555"} ]"#, updated.id])
        }
        #expect(try await store.notifications(incidentID: "INC-2026-0001").first?.fallbacks
            == [ContactMethod(channel: "sms", address: "+1 555")])
    }

    @Test func incidentsRoundTripThroughHandWrittenRowCoding() async throws {
        let store = try Store(path: try temporaryDatabase())
        var c = change("INC-2026-0001")
        c.incident.labels = Dictionary(uniqueKeysWithValues: awkward.enumerated().map { ("l\($0.offset)", $0.element) })
        c.incident.roles = ["incident_commander": "alice/ops", "communications_lead": "bob \"b\""]
        c.incident.classification = Classification(impact: "major", affectedComponents: ["eventbus"], rationale: ["a/b"],
                                                    security: true)
        c.incident.resolution = IncidentResolution(verification: "ok\n", summary: "fixed", actions: ["x"], resolvedBy: "alice")
        c.incident.acknowledgedAt = t0 + .seconds(5)
        c.incident.backlog = true
        c.timeline[0].data = ["path": "/etc/passwd", "note": awkward.joined(separator: "|")]
        let opening = c
        let (opened, _) = try await store.openIncident(year: 2026, prefix: "INC") { _ in opening }
        let read = try #require(try await store.incident(id: opened.id))
        #expect(read == opened)
        #expect(try await store.timeline(incidentID: opened.id).map(\.data) == [c.timeline[0].data])
    }

    @Test func classificationTextIsItsCodableForm() throws {
        let sorted = JSONEncoder()
        sorted.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let cases = [Classification(), Classification(impact: "major", userScope: "all", serviceImpact: "partial outage",
                                                      affectedComponents: ["eventbus", "a/b"], initialTeam: ["sre"],
                                                      rationale: awkward, security: true, dataIntegrity: false, userImpacting: true,
                                                      mobilisation: "Full incident response team")]
        for c in cases {
            #expect(RowJSON.text(c) == String(decoding: try sorted.encode(c), as: UTF8.self))
            #expect(try JSONDecoder().decode(Classification.self, from: Data(RowJSON.text(c).utf8)) == c)
        }
    }

    @Test func rowsWrittenByGRDBsCodablePathStillRead() async throws {
        // Before the hand-written coding, JSON columns were JSONEncoder text (slashes escaped).
        let path = try temporaryDatabase()
        let store = try Store(path: path)
        let opening = change("INC-2026-0001")
        let (opened, _) = try await store.openIncident(year: 2026, prefix: "INC") { _ in opening }
        let labels = ["a/b": "c/d", "q": "\"", "e": "é"]
        let classification = Classification(impact: "minor", userScope: "group")
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(sql: "UPDATE incident SET labels = ?, classification = ? WHERE id = ?", arguments: [
                String(decoding: try JSONEncoder().encode(labels), as: UTF8.self),
                String(decoding: try JSONEncoder().encode(classification), as: UTF8.self), opened.id])
        }
        let read = try #require(try await store.incident(id: opened.id))
        #expect(read.labels == labels)
        #expect(read.classification == classification)
    }

    @Test func aCorruptJSONColumnNamesTheRowAndColumn() async throws {
        let path = try temporaryDatabase()
        let store = try Store(path: path)
        let opening = change("INC-2026-0001")
        let (opened, _) = try await store.openIncident(year: 2026, prefix: "INC") { _ in opening }
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in try db.execute(sql: "UPDATE incident SET roles = '{\"a\": 1}' WHERE id = ?", arguments: [opened.id]) }
        do {
            _ = try await store.incident(id: opened.id)
            Issue.record("a corrupt row was read")
        } catch let StoreError.corruptRow(table, id, reason) {
            #expect(table == "incident")
            #expect(id == opened.id)
            #expect(reason.contains("roles"))
        }
    }
}
