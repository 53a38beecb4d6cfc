import Foundation
import Testing
import VigilCore
@testable import VigilStore

/// The host agent's spool and the central daemon's agents and cursors.
@Suite struct AgentStoreTests {
    func store() throws -> Store {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-agent-store-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return try Store(path: dir + "/vigil.db")
    }

    @Test func theSpoolKeepsOrderHoldsItsLimitAndForgetsOnlyWhatWasAcknowledged() async throws {
        let store = try store()
        let id = try await store.agentSpoolIdentity(now: Timestamp(seconds: 1))
        #expect(try await store.agentSpoolIdentity(now: Timestamp(seconds: 2)) == id, "the spool keeps its id")
        let bodies = (1...5).map { Data("signal \($0)".utf8) }
        let first = try await store.appendToAgentSpool(Array(bodies[0..<3]), queuedAt: Timestamp(seconds: 3), limit: 4)
        #expect(first == (3, 0))
        // One more fits; the newest beyond the limit are not kept (what was seen first goes first).
        let second = try await store.appendToAgentSpool(Array(bodies[3...]), queuedAt: Timestamp(seconds: 4), limit: 4)
        #expect(second == (1, 1))
        #expect(try await store.agentSpoolCount() == 4)
        let held = try await store.agentSpool(limit: 10)
        #expect(held.map(\.body) == Array(bodies[0..<4]))
        #expect(held.map(\.seq) == held.map(\.seq).sorted() && Set(held.map(\.seq)).count == 4)
        try await store.removeFromAgentSpool(through: held[1].seq)
        #expect(try await store.agentSpool(limit: 10).map(\.body) == Array(bodies[2..<4]))
        #expect(try await store.agentSpoolCount() == 2)
        // Numbers are never reused after a removal: a replay of old numbers cannot pass for new signals.
        _ = try await store.appendToAgentSpool([Data("later".utf8)], queuedAt: Timestamp(seconds: 5), limit: 4)
        let later = try await store.agentSpool(limit: 10).last?.seq ?? 0
        #expect(later > held[3].seq)
        try await store.removeFromAgentSpool(through: .max)
        let emptied = try await store.agentSpool(limit: 10)
        #expect(try await store.agentSpoolCount() == 0 && emptied.isEmpty)
    }

    @Test func resolvedSignalsHaveRoomPastTheLimitAndARenewedSpoolHasANewID() async throws {
        let store = try store()
        let id = try await store.agentSpoolIdentity(now: Timestamp(seconds: 1))
        let full = try await store.appendToAgentSpool((1...3).map { (Data("firing \($0)".utf8), false) }, queuedAt: Timestamp(seconds: 2),
                                                      limit: 3, reserve: 1)
        #expect(full == (3, 0))
        // Full for firings; a resolved signal still fits in the reserve, a second does not.
        let more = try await store.appendToAgentSpool([(Data("firing 4".utf8), false), (Data("resolved 1".utf8), true),
                                                       (Data("resolved 2".utf8), true)], queuedAt: Timestamp(seconds: 3), limit: 3, reserve: 1)
        #expect(more == (1, 2))
        #expect(try await store.agentSpool(limit: 10).last?.body == Data("resolved 1".utf8))
        let renewed = try await store.renewAgentSpoolIdentity(now: Timestamp(seconds: 4))
        #expect(renewed != id)
        #expect(try await store.agentSpoolIdentity(now: Timestamp(seconds: 5)) == renewed)
    }

    @Test func cursorsAreKeptPerAgentAndSpoolAndTheOldestSpoolsGo() async throws {
        let store = try store()
        try await store.write { tx in
            #expect(try tx.agentCursor(agent: "web-01", spool: "a") == nil)
            let record = AgentRecord(name: "web-01", firstContactAt: 1, lastContactAt: 1)
            try tx.recordAgentContact(record, cursor: ("a", 7), at: Timestamp(nanoseconds: 1))
            try tx.recordAgentContact(record, cursor: ("a", 9), at: Timestamp(nanoseconds: 2))
            #expect(try tx.agentCursor(agent: "web-01", spool: "a") == 9)
            #expect(try tx.agentCursor(agent: "web-02", spool: "a") == nil)
            for n in 0..<AgentLimits.maximumSpoolsPerAgent {
                try tx.recordAgentContact(record, cursor: ("s\(n)", 1), at: Timestamp(nanoseconds: 10 + Int64(n)))
            }
            // Spool "a" was the least recently used of 17: it went.
            #expect(try tx.agentCursor(agent: "web-01", spool: "a") == nil)
            #expect(try tx.agentCursor(agent: "web-01", spool: "s0") == 1)
            #expect(try tx.agentCount() == 1)
        }
        try await store.setAgentsMissed(["web-01"], missed: true)
        try await store.touchAgent("web-01", at: Timestamp(nanoseconds: 99))
        let agents = try await store.agents()
        #expect(agents.map(\.name) == ["web-01"] && agents[0].missed && agents[0].lastContactAt == 99)
    }
}
