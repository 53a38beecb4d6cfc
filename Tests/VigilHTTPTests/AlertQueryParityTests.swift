import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VigilCore
import VigilHTTP

/// `GET /api/v2/alerts`' `receiver=` and `unprocessed=` as Alertmanager reads them: `receiver`
/// is a regex anchored at both ends over the receiver's name; `unprocessed=false` hides alerts not
/// yet routed, and Vigil routes an alert before it answers its sender, so it hides none.
@Suite struct AlertQueryParityTests {
    let clock = ManualClock(Timestamp(nanoseconds: 1_790_000_000_000_000_000))

    func fingerprints(_ query: String, intake: RecordingIntake) async throws -> (status: HTTPResponse.Status, body: String) {
        let server = testServer(alerts: intake, clock: clock)
        nonisolated(unsafe) var out: (HTTPResponse.Status, String) = (.ok, "")
        try await Application(router: server.router()).test(.router) { client in
            try await client.execute(uri: "/api/v2/alerts" + query, method: .get) { r in out = (r.status, String(buffer: r.body)) }
        }
        return out
    }

    @Test func receiverIsAnAnchoredRegexAndUnprocessedHidesNothing() async throws {
        let intake = RecordingIntake(clock: clock)
        try await intake.accept([Alert(labels: ["alertname": "A"], startsAt: clock.now(), endsAt: clock.now() + .seconds(60),
                                       updatedAt: clock.now())])
        let fp = AlertFingerprint.hex(["alertname": "A"])
        for (query, listed) in [("?receiver=vigil", true), ("?receiver=vig.*", true), ("?receiver=vig", false),
                                ("?receiver=x%7Cvigil", true), ("?unprocessed=false", true), ("?unprocessed=true", true),
                                ("?receiver=vigil&unprocessed=false&active=true", true), ("?active=false", false)] {
            let r = try await fingerprints(query, intake: intake)
            #expect(r.status == .ok, "\(query)")
            #expect(r.body.contains(fp) == listed, "\(query): \(r.body)")
        }
        let bad = try await fingerprints("?receiver=%28", intake: intake)
        #expect(bad.status == .badRequest)
        #expect(bad.body.hasPrefix("\""), "a bare JSON string, as Alertmanager answers: \(bad.body)")
    }
}
