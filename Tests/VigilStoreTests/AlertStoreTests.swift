import Foundation
import GRDB
import Testing
import VigilCore
@testable import VigilStore

/// Alerts are written through one cached upsert and read back exactly, whatever their labels hold.
@Suite struct AlertStoreTests {
    @Test func alertsRoundTripAndAReSaveReplaces() async throws {
        let store = try Store(path: try temporaryDatabase())
        let awkward: [String: String] = [
            "alertname": "Disk \"full\"", "path": "/var/lib\\x", "unicode": "é 日本 🚨", "control": "a\u{01}b\tc\nd",
            "empty": "", "slash": "</script>",
        ]
        let first = Alert(labels: awkward, annotations: ["summary": "line 1\nline 2", "url": "https://x/y?a=1&b=2"],
                          startsAt: t0, endsAt: t0 + .seconds(60), updatedAt: t0, generatorURL: "http://prom/graph?g0.expr=up")
        try await store.saveAlerts([AlertRecord(first, counted: false)])
        #expect(try await store.alerts().map(\.alert) == [first])
        // The same fingerprint again: replaced (lease renewed, counted), not added.
        var renewed = first
        renewed.endsAt = t0 + .seconds(600)
        renewed.annotations = [:]
        try await store.saveAlerts([AlertRecord(renewed, counted: true)])
        let stored = try await store.alerts()
        #expect(stored.count == 1)
        #expect(stored.first?.alert == renewed && stored.first?.counted == true)
        // The label text is JSON any reader takes.
        let text = try await store.pool.read { db in try String.fetchOne(db, sql: "SELECT labels FROM alert") }
        let decoded = try JSONDecoder().decode([String: String].self, from: Data(try #require(text).utf8))
        #expect(decoded == awkward)
        try await store.saveAlerts([], removing: [first.fingerprint])
        #expect(try await store.alerts().isEmpty)
    }

    /// Rows another writer left with other spacing or escapes still read.
    @Test func labelsWrittenByJSONEncoderStillRead() async throws {
        let store = try Store(path: try temporaryDatabase())
        let labels = ["alertname": "a/b", "x": "\u{e9}"]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let text = String(decoding: try encoder.encode(labels), as: UTF8.self)
        try await store.pool.write { db in
            try db.execute(sql: """
                INSERT INTO alert (fingerprint, labels, annotations, startsAt, endsAt, updatedAt, generatorURL, counted)
                VALUES ('f', ?, '{}', 0, 1, 0, '', 0)
                """, arguments: [text])
        }
        #expect(try await store.alerts().first?.alert.labels == labels)
    }
}
