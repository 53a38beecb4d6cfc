import Testing
import VigilCore
@testable import VigilStore

@Suite struct SilenceStoreTests {
    @Test func silencesSurviveReopeningTheDatabase() async throws {
        let path = try temporaryDatabase()
        let record = SilenceRecord(id: "7f4b3c0e-0000-4000-8000-000000000001",
                                   matchers: [.init(name: "team", type: "=~", value: "db|ops")],
                                   startsAt: t0, endsAt: t0 + .seconds(3600), updatedAt: t0, createdBy: "ana",
                                   comment: "disk swap")
        do {
            let store = try Store(path: path)
            try await store.write { tx in try tx.save(silence: record) }
        }
        let reopened = try Store(path: path)
        #expect(try await reopened.silences() == [record])
        try await reopened.deleteSilences(ids: [record.id])
        #expect(try await reopened.silences().isEmpty)
    }
}
