import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VigilCore
import VigilHTTP

/// Records beats in memory over a ``HeartbeatBook``, as the daemon's service does without a store.
actor RecordingHeartbeats: HeartbeatIntake {
    var book: HeartbeatBook
    var messages: [String: String] = [:]
    let clock: any VigilClock

    init(_ definitions: [HeartbeatDefinition], clock: any VigilClock) {
        self.clock = clock
        book = HeartbeatBook(definitions, now: clock.now())
    }

    func beat(_ name: String, message: String?) async throws -> HeartbeatView? {
        guard book.beat(name, at: clock.now()) != .unknown else { return nil }
        messages[name] = message
        return view(name)
    }

    func heartbeats() async -> [HeartbeatView] { book.definitions.keys.compactMap(view) }

    func view(_ name: String) -> HeartbeatView? {
        guard let d = book.definitions[name], let s = book.states[name], let deadline = book.deadline(name) else { return nil }
        return HeartbeatView(name: name, interval: d.interval, grace: d.grace, lastBeatAt: s.lastBeatAt, deadline: deadline,
                             state: s.missed ? .missed : (s.lastBeatAt == nil ? .waiting : .ok), lastMessage: messages[name])
    }
}

@Suite struct HeartbeatsAPITests {
    let clock = ManualClock(Timestamp(nanoseconds: 1_790_000_000_000_000_000))  // 2026-09-21T14:13:20Z

    func app(_ heartbeats: RecordingHeartbeats?) -> some ApplicationProtocol {
        var services = HTTPServices(clock: clock, version: "test")
        services.heartbeats = heartbeats
        return Application(router: HTTPServer(settings: HTTPServerSettings(port: 0), services: services,
                                              logger: Logger(label: "test")).router())
    }

    @Test func beatIsRecordedAndListed() async throws {
        let heartbeats = RecordingHeartbeats([HeartbeatDefinition(name: "nightly-backup", interval: .seconds(86_400),
                                                                  grace: .seconds(1800)),
                                              HeartbeatDefinition(name: "watchdog", interval: .seconds(60))], clock: clock)
        try await app(heartbeats).test(.router) { client in
            // No body, no content type: what `curl -X POST` sends.
            try await client.execute(uri: "/api/v1/heartbeats/watchdog", method: .post) { r in
                #expect(r.status == .ok)
                let body = try json(r.body)
                #expect(body["state"] as? String == "ok")
                #expect(body["lastBeatAt"] as? String == "2026-09-21T14:13:20.000Z")
                #expect(body["deadline"] as? String == "2026-09-21T14:14:20.000Z")
            }
            try await client.execute(uri: "/api/v1/heartbeats/nightly-backup", method: .post,
                                     headers: [.contentType: "text/plain"], body: ByteBuffer(string: "12 GiB in 4 min\n")) { r in
                #expect(r.status == .ok)
                #expect((try? json(r.body))?["lastMessage"] as? String == "12 GiB in 4 min")
            }
            try await client.execute(uri: "/api/v1/heartbeats", method: .get) { r in
                #expect(r.status == .ok)
                let list = try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [[String: Any]]
                #expect(list?.map { $0["name"] as? String } == ["nightly-backup", "watchdog"])
                #expect(list?.first?["intervalSeconds"] as? Double == 86_400)
                #expect(list?.first?["graceSeconds"] as? Double == 1800)
            }
            try await client.execute(uri: "/api/v1/heartbeats/watchdog", method: .get) { r in
                #expect((try? json(r.body))?["name"] as? String == "watchdog")
            }
        }
    }

    @Test func unknownNamesAre404() async throws {
        let heartbeats = RecordingHeartbeats([HeartbeatDefinition(name: "watchdog", interval: .seconds(60))], clock: clock)
        try await app(heartbeats).test(.router) { client in
            for uri in ["/api/v1/heartbeats/nope", "/api/v1/heartbeats/..%2Fx"] {
                try await client.execute(uri: uri, method: .post) { r in
                    #expect(r.status == .notFound)
                    #expect(((try? json(r.body))?["message"] as? String)?.hasPrefix("no heartbeat named") == true)
                }
            }
            try await client.execute(uri: "/api/v1/heartbeats/nope", method: .get) { r in #expect(r.status == .notFound) }
        }
        #expect(await heartbeats.heartbeats().allSatisfy { $0.lastBeatAt == nil })
    }

    @Test func bodyIsBoundedAndMustBeText() async throws {
        let heartbeats = RecordingHeartbeats([HeartbeatDefinition(name: "watchdog", interval: .seconds(60))], clock: clock)
        try await app(heartbeats).test(.router) { client in
            try await client.execute(uri: "/api/v1/heartbeats/watchdog", method: .post,
                                     body: ByteBuffer(string: String(repeating: "x", count: 5000))) { r in
                #expect(r.status == .contentTooLarge)
            }
            try await client.execute(uri: "/api/v1/heartbeats/watchdog", method: .post, body: ByteBuffer(bytes: [0xff, 0xfe])) { r in
                #expect(r.status == .badRequest)
                #expect(((try? json(r.body))?["message"] as? String)?.contains("UTF-8") == true)
            }
        }
        #expect(await heartbeats.heartbeats().first?.lastBeatAt == nil)  // refused beats are not recorded
    }

    @Test func withoutTheServiceTheRoutesAnswer503() async throws {
        try await app(nil).test(.router) { client in
            try await client.execute(uri: "/api/v1/heartbeats/x", method: .post) { r in #expect(r.status == .serviceUnavailable) }
        }
    }
}
