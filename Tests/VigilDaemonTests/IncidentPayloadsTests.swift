import Foundation
import Testing
import VigilControl
import VigilCore
@testable import VigilDaemon

/// A page's incident view is encoded once for the pages that carry the same one, and exactly
/// what encoding it afresh gives.
@Suite struct IncidentPayloadsTests {
    let t = Timestamp(nanoseconds: 1_790_000_000_000_000_000)

    func incident(_ id: String, title: String = "disk full") -> Incident {
        Incident(id: id, title: title, severity: Severity(code: "P1", rank: 0), source: "alertmanager",
                 detectedAt: t, responseDeadline: t + .seconds(900))
    }

    @Test func equalPagesShareOneEncodingAndAnyDifferenceEncodesAgain() throws {
        let ladder = try shippedPolicy().ladder
        let payloads = IncidentPayloads()
        let a = incident("INC-2026-0001")
        let first = try payloads.payload(for: a, ladder: ladder, now: t + .milliseconds(100))
        #expect(first == (try JSONValue.encoding(IncidentView(a, ladder: ladder, now: t + .milliseconds(100)))))
        // Same incident, same whole seconds left: served from what was kept.
        #expect(try payloads.payload(for: a, ladder: ladder, now: t + .milliseconds(900)) == first)
        #expect(payloads.encodings == 1)
        // A second later, the SLA clock says one second less.
        let later = try payloads.payload(for: a, ladder: ladder, now: t + .milliseconds(1100))
        #expect(later != first)
        #expect(later == (try JSONValue.encoding(IncidentView(a, ladder: ladder, now: t + .milliseconds(1100)))))
        // The incident changed (acknowledged): encoded again.
        var acked = a
        acked.acknowledgedAt = t + .seconds(1)
        let ackedPayload = try payloads.payload(for: acked, ladder: ladder, now: t + .milliseconds(1100))
        #expect(ackedPayload == (try JSONValue.encoding(IncidentView(acked, ladder: ladder, now: t + .milliseconds(1100)))))
        #expect(payloads.encodings == 3)
    }

    @Test func whatIsKeptIsBounded() throws {
        let ladder = try shippedPolicy().ladder
        let payloads = IncidentPayloads()
        for n in 0..<(IncidentPayloads.capacity * 3) {
            _ = try payloads.payload(for: incident(String(format: "INC-2026-%04d", n)), ladder: ladder, now: t)
        }
        #expect(payloads.kept <= IncidentPayloads.capacity)
    }
}
