import Testing
import VigilCore

@Suite struct HeartbeatBookTests {
    let t0 = Timestamp(nanoseconds: 1_790_000_000_000_000_000)
    let backup = HeartbeatDefinition(name: "backup", interval: .seconds(60), grace: .seconds(10))

    @Test func missedOnlyAfterIntervalPlusGraceAndOnce() {
        var book = HeartbeatBook([backup], now: t0)
        #expect(book.deadline("backup") == t0 + .seconds(70))
        #expect(book.newlyMissed(at: t0 + .seconds(70)).isEmpty)  // exactly at the deadline: not yet
        #expect(book.newlyMissed(at: t0 + .seconds(71)) == ["backup"])
        #expect(book.newlyMissed(at: t0 + .seconds(500)).isEmpty)  // one incident, not one per look
        #expect(book.states["backup"]?.missed == true)
    }

    @Test func beatRecoversAndMovesTheDeadline() {
        var book = HeartbeatBook([backup], now: t0)
        #expect(book.beat("backup", at: t0 + .seconds(30)) == .recorded)
        #expect(book.deadline("backup") == t0 + .seconds(100))
        #expect(book.newlyMissed(at: t0 + .seconds(90)).isEmpty)
        #expect(book.newlyMissed(at: t0 + .seconds(101)) == ["backup"])
        #expect(book.beat("backup", at: t0 + .seconds(200)) == .recovered)
        #expect(book.states["backup"] == HeartbeatState(since: t0, lastBeatAt: t0 + .seconds(200), missed: false))
        #expect(book.beat("nope", at: t0) == .unknown)
    }

    @Test func aLateBeatNeverMovesTheLastBeatBack() {
        var book = HeartbeatBook([backup], now: t0)
        _ = book.beat("backup", at: t0 + .seconds(50))
        _ = book.beat("backup", at: t0 + .seconds(40))
        #expect(book.states["backup"]?.lastBeatAt == t0 + .seconds(50))
    }

    @Test func storedStateKeepsItsDeadlineAcrossARestart() {
        let stored = ["backup": HeartbeatState(since: t0, lastBeatAt: t0 + .seconds(10))]
        var book = HeartbeatBook([backup], stored: stored, now: t0 + .seconds(1000))
        // The restart does not grant a fresh interval: the deadline is the stored beat's.
        #expect(book.deadline("backup") == t0 + .seconds(80))
        #expect(book.newlyMissed(at: t0 + .seconds(1000)) == ["backup"])
    }

    @Test func reloadKeepsStatesAndReportsRemovedMissedOnes() {
        let watchdog = HeartbeatDefinition(name: "watchdog", interval: .seconds(5))
        var book = HeartbeatBook([backup, watchdog], now: t0)
        _ = book.beat("backup", at: t0 + .seconds(1))
        #expect(book.newlyMissed(at: t0 + .seconds(6)) == ["watchdog"])
        let longer = HeartbeatDefinition(name: "backup", interval: .seconds(600))
        let fresh = HeartbeatDefinition(name: "fresh", interval: .seconds(60))
        let removed = book.replace([longer, fresh], now: t0 + .seconds(10))
        #expect(removed.map(\.0.name) == ["watchdog"])
        #expect(book.states["backup"]?.lastBeatAt == t0 + .seconds(1))
        #expect(book.deadline("backup") == t0 + .seconds(601))  // the new interval from the beat already seen
        #expect(book.deadline("fresh") == t0 + .seconds(70))
        #expect(book.states["watchdog"] == nil)
    }

    @Test(arguments: ["backup", "a.b-c_D9", String(repeating: "x", count: 128)])
    func validNames(_ name: String) { #expect(HeartbeatDefinition.isValidName(name)) }

    @Test(arguments: ["", ".", "..", "a/b", "a b", "ä", String(repeating: "x", count: 129), "a%2Fb"])
    func invalidNames(_ name: String) { #expect(!HeartbeatDefinition.isValidName(name)) }
}
