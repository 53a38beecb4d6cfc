import Foundation
import Testing
import VigilCore
import VigilStore

@Suite struct AccessStoreTests {
    @Test func tokensAreStoredListedAndRevokedOnce() async throws {
        let store = try Store(path: try temporaryDatabase())
        let record = APITokenRecord(id: "0123456789ab", hash: String(repeating: "f", count: 64), role: "responder",
                                    person: "alice", createdAt: t0, createdBy: "root", expiresAt: t0 + .seconds(60))
        try await store.insertToken(record)
        #expect(try await store.token(id: "0123456789ab") == record)
        #expect(try await store.token(id: "ffffffffffff") == nil)
        await #expect(throws: (any Error).self) { try await store.insertToken(record) }
        let revoked = try #require(try await store.revokeToken(id: record.id, at: t0 + .seconds(5)))
        #expect(revoked.revokedAt == (t0 + .seconds(5)).nanoseconds)
        let again = try #require(try await store.revokeToken(id: record.id, at: t0 + .seconds(9)))
        #expect(again.revokedAt == revoked.revokedAt, "the first revocation time stays")
        #expect(try await store.revokeToken(id: "ffffffffffff", at: t0) == nil)
        #expect(try await store.tokens().map(\.id) == [record.id])
    }

    @Test func ackLinkNoncesAreSingleUseAndForgottenAfterExpiry() async throws {
        let store = try Store(path: try temporaryDatabase())
        let expiry = t0 + .seconds(600)
        #expect(try await store.consumeAckLinkNonce("n1", incidentID: "I-1", person: "alice", expiresAt: expiry, now: t0))
        #expect(try await !store.consumeAckLinkNonce("n1", incidentID: "I-1", person: "alice", expiresAt: expiry, now: t0 + .seconds(1)))
        #expect(try await store.consumeAckLinkNonce("n2", incidentID: "I-1", person: "bob", expiresAt: expiry + .seconds(600),
                                                   now: t0 + .seconds(2)))
        #expect(try await store.usedAckLinkCount() == 2)
        // Past n1's expiry its row goes; n2 stays until its own.
        #expect(try await store.consumeAckLinkNonce("n3", incidentID: "I-2", person: "bob", expiresAt: expiry + .seconds(900),
                                                   now: expiry))
        #expect(try await store.usedAckLinkCount() == 2)
        #expect(try await !store.consumeAckLinkNonce("n2", incidentID: "I-1", person: "bob", expiresAt: expiry + .seconds(600),
                                                    now: expiry + .seconds(1)))
    }
}
