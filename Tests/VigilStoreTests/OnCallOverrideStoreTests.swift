import Foundation
import Testing
import VigilCore
@testable import VigilStore

/// Run-time on-call overrides in a real SQLite file: kept, bounded, removed with who and when.
@Suite struct OnCallOverrideStoreTests {
    func record(_ person: String, from: Int, until: Int) -> OnCallOverrideRecord {
        OnCallOverrideRecord(rotation: "primary", person: person, startsAt: t0 + .seconds(from * 3600),
                             endsAt: t0 + .seconds(until * 3600), reason: "holiday", createdAt: t0, createdBy: "alice")
    }

    @Test func overridesAreStoredListedAndBounded() async throws {
        let store = try Store(path: try temporaryDatabase())
        let a = try #require(try await store.insertOnCallOverride(record("bob", from: 0, until: 10), unlessMoreThan: 2, liveAt: t0))
        let b = try #require(try await store.insertOnCallOverride(record("dave", from: 5, until: 20), unlessMoreThan: 2, liveAt: t0))
        #expect(a.id == 1 && b.id == 2)
        // The third is refused (two are live), and nothing is stored.
        #expect(try await store.insertOnCallOverride(record("carol", from: 1, until: 2), unlessMoreThan: 2, liveAt: t0) == nil)
        #expect(try await store.onCallOverrides(endingAfter: t0).map(\.person) == ["bob", "dave"])
        #expect(try await store.onCallOverrides(endingAfter: t0 + .seconds(12 * 3600)).map(\.person) == ["dave"])
        // Once the first has ended it no longer counts against the bound.
        #expect(try await store.insertOnCallOverride(record("carol", from: 11, until: 12), unlessMoreThan: 2,
                                                     liveAt: t0 + .seconds(10 * 3600)) != nil)
        let reopened = try Store(path: store.path)
        #expect(try await reopened.onCallOverride(id: 2)?.person == "dave")
    }

    @Test func removalKeepsTheRowAndEndsItsEffect() async throws {
        let store = try Store(path: try temporaryDatabase())
        let active = try #require(try await store.insertOnCallOverride(record("bob", from: 0, until: 10), unlessMoreThan: 10, liveAt: t0))
        let future = try #require(try await store.insertOnCallOverride(record("dave", from: 5, until: 20), unlessMoreThan: 10, liveAt: t0))
        let at = t0 + .seconds(2 * 3600)
        let activeID = try #require(active.id)
        let futureID = try #require(future.id)
        let removed = try #require(try await store.removeOnCallOverride(id: activeID, at: at, by: "erin") { _ in })
        #expect(removed.removedBy == "erin" && removed.removedAt == at.nanoseconds)
        // In force from its start until its removal: the roster's past stays true.
        #expect(removed.rosterOverride == RosterOverride(rotation: "primary", person: "bob", from: t0, until: at))
        _ = try await store.removeOnCallOverride(id: futureID, at: at, by: "erin") { _ in }
        #expect(try await store.onCallOverride(id: futureID)?.rosterOverride == nil)
        #expect(try await store.onCallOverrides(endingAfter: at).isEmpty)
        #expect(try await store.onCallOverrides(endingAfter: t0).map(\.person) == ["bob"])
        // A check that refuses leaves the row as it was; an unknown id is nil.
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            _ = try await store.removeOnCallOverride(id: 2, at: at, by: "x") { _ in throw Refused() }
        }
        #expect(try await store.onCallOverride(id: 2)?.removedBy == "erin")
        #expect(try await store.removeOnCallOverride(id: 99, at: at, by: "x") { _ in } == nil)
    }
}
