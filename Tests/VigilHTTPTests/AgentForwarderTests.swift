import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import VigilCore
@testable import VigilDaemon
import VigilHTTP
import VigilStore

/// A host agent's forwarder against a scripted central daemon (a real HTTP server on loopback):
/// what it does when the central finds a request too large, refuses one signal, or acknowledges
/// more than was sent. In every case each signal arrives once, in order, or is counted as dropped.
@Suite struct AgentForwarderTests {
    /// What the fake central does with one decoded batch: answer it (with the acknowledgement to
    /// give) or refuse it with a status.
    enum Answer: Sendable {
        case acknowledge(through: Int64?)
        case refuse(HTTPResponse.Status)
    }

    /// The fake central: applies every batch its script accepts, remembering the rule ids of the
    /// signals applied, in order, once per seq.
    final class Central: Sendable {
        let script: @Sendable (AgentBatch, _ bytes: Int) -> Answer
        let state = Mutex<(applied: [String], cursor: Int64, requests: Int)>(([], 0, 0))

        init(script: @escaping @Sendable (AgentBatch, Int) -> Answer) { self.script = script }

        var applied: [String] { state.withLock { $0.applied } }

        func router() -> Router<BasicRequestContext> {
            let router = Router()
            router.post("/api/v1/agents/signals") { request, context -> Response in
                let body = try await request.body.collect(upTo: 16 << 20)
                let batch = try AgentWire.decode(Array(body.readableBytesView), now: SystemClock().now())
                self.state.withLock { $0.requests += 1 }
                switch self.script(batch, body.readableBytes) {
                case .refuse(let status):
                    return Response(status: status)
                case .acknowledge(let through):
                    let ack = self.state.withLock { s -> AgentAcknowledgement in
                        let fresh = batch.items.filter { $0.seq > s.cursor }
                        s.applied += fresh.map(\.signal.ruleID)
                        s.cursor = max(s.cursor, batch.lastSeq ?? 0)
                        return AgentAcknowledgement(agent: "web-01", spool: batch.spool, acknowledged: through ?? batch.lastSeq,
                                                    applied: fresh.count, duplicates: batch.items.count - fresh.count, refused: [])
                    }
                    let data = try JSONEncoder().encode(ack)
                    return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
                }
            }
            return router
        }
    }

    static func forwarder(port: Int, batch: Int = 500) throws -> (AgentForwarder, Store) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-forwarder-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "vgl_000000000000_test".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        let store = try Store(path: dir + "/vigil.db")
        let settings = AgentModeSettings(central: ["http://127.0.0.1:\(port)"], tokenFile: dir + "/token", callIn: .seconds(60),
                                         batch: batch, timeout: .seconds(5))
        return (try AgentForwarder(store: store, settings: settings, clock: SystemClock(), logger: Logger(label: "test"), metrics: nil), store)
    }

    static func signal(_ id: String, padding: Int = 0) -> RuleSignal {
        let now = SystemClock().now()
        return RuleSignal(transition: .firing, ruleID: id, expression: "x > 1", labels: ["pad": String(repeating: "p", count: padding)],
                          fingerprint: id, value: 2, firstHeldAt: now, at: now)
    }

    /// Runs the forwarder until `done` holds (or 20 s pass), then stops it.
    static func forward(_ forwarder: AgentForwarder, until done: @escaping @Sendable () async -> Bool) async -> Bool {
        let loop = Task { await forwarder.run() }
        var held = false
        for _ in 0..<2000 {
            if await done() {
                held = true
                break
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        loop.cancel()
        await loop.value
        await forwarder.shutdown()
        return held
    }

    @Test(.timeLimit(.minutes(1))) func aRequestTooLargeIsSentAgainInHalvesAndEverySignalArrivesOnceInOrder() async throws {
        // Bodies over 2,000 bytes are too large for this central.
        let central = Central { _, bytes in bytes > 2000 ? .refuse(.contentTooLarge) : .acknowledge(through: nil) }
        try await Application(router: central.router()).test(.live) { client in
            let (forwarder, store) = try Self.forwarder(port: try #require(client.port))
            try await forwarder.prepare()
            let ids = (1...12).map { "rule-\($0)" }
            await forwarder.enqueue(ids.map { Self.signal($0, padding: 200) })
            let done = await Self.forward(forwarder) {
                let held = (try? await store.agentSpoolCount()) ?? -1
                return held == 0 && central.applied.count == ids.count
            }
            #expect(done)
            #expect(central.applied == ids)
            #expect(try await store.agentSpoolCount() == 0)
            #expect(await forwarder.view().dropped == 0)
            #expect(central.state.withLock { $0.requests } > 2, "no request was refused as too large")
        }
    }

    @Test(.timeLimit(.minutes(1))) func aSignalRefusedAloneIsDroppedAndTheOthersGoOn() async throws {
        let central = Central { batch, _ in
            batch.items.contains { $0.signal.ruleID == "poison" } ? .refuse(.badRequest) : .acknowledge(through: nil)
        }
        try await Application(router: central.router()).test(.live) { client in
            let (forwarder, store) = try Self.forwarder(port: try #require(client.port))
            try await forwarder.prepare()
            await forwarder.enqueue(["before", "poison", "after"].map { Self.signal($0) })
            let done = await Self.forward(forwarder) {
                let held = (try? await store.agentSpoolCount()) ?? -1
                return held == 0 && central.applied.count == 2
            }
            #expect(done)
            #expect(central.applied == ["before", "after"])
            #expect(try await store.agentSpoolCount() == 0)
            #expect(await forwarder.view().dropped == 1)
        }
    }

    @Test(.timeLimit(.minutes(1))) func anAcknowledgementBeyondWhatWasSentForgetsNothingUnsentAndRenewsTheSpool() async throws {
        // This central has seen the spool further than the agent reaches (a restored state folder).
        let central = Central { batch, _ in .acknowledge(through: (batch.lastSeq ?? 0) + 100) }
        try await Application(router: central.router()).test(.live) { client in
            let (forwarder, store) = try Self.forwarder(port: try #require(client.port), batch: 2)
            try await forwarder.prepare()
            let before = await forwarder.view().spool
            await forwarder.enqueue(["one", "two", "three"].map { Self.signal($0) })
            let done = await Self.forward(forwarder) {
                let held = (try? await store.agentSpoolCount()) ?? -1
                return held == 0 && central.applied.count == 3
            }
            #expect(done)
            // Sent two at a time: the answer to the first two did not make the third forgotten.
            #expect(central.applied == ["one", "two", "three"])
            #expect(try await store.agentSpoolCount() == 0)
            #expect(await forwarder.view().spool != before)
        }
    }
}
