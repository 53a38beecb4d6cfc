import Testing
import VigilCore
import VigilIncidents

/// `oncall.schedule`'s segments and `oncall.override`'s checks, as pure values.
@Suite struct OnCallScheduleTests {
    static let start = Timestamp(nanoseconds: 1_767_603_600_000_000_000) // 2026-01-05T09:00:00Z (a Monday)
    static let hour: Int64 = 3_600_000_000_000

    func roster(overrides: [RosterOverride] = []) -> Roster {
        Roster(people: ["alice", "bob", "dave", "erin"].map { Person(id: $0, name: $0.capitalized) },
               rotations: [Rotation(id: "primary", role: "on_call_engineer", members: ["alice", "bob", "dave"],
                                    start: Self.start, period: .seconds(7 * 86_400)),
                           // Handovers at 09:37 every 5 hours and 13 minutes: nothing lines up with an hour.
                           Rotation(id: "odd", role: "team_lead", members: ["erin", "bob"],
                                    start: Self.start + .seconds(37 * 60), period: .seconds(5 * 3600 + 13 * 60))],
               overrides: overrides)
    }

    func at(_ hours: Double) -> Timestamp { Self.start + .seconds(Int64(hours * 3600)) }

    /// Who the schedule says at each minute, compared with `shift(at:)` asked minute by minute.
    func agreesMinuteByMinute(_ schedule: OnCallSchedule, role: String, from: Timestamp, until: Timestamp) -> Bool {
        let (segments, truncated) = schedule.segments(role: role, component: nil, from: from, until: until)
        guard !truncated else { return false }
        var t = from
        while t < until {
            let expected = schedule.shift(role: role, component: nil, at: t)
            let found = segments.first { $0.from <= t && t < $0.until }
            if expected?.person.id != found?.person.id || (expected?.isOverride ?? false) != (found?.isOverride ?? false) {
                return false
            }
            t = t + .seconds(60)
        }
        return true
    }

    @Test func segmentsFollowHandoversAndOverridesExactly() {
        let overrides = [RosterOverride(rotation: "primary", person: "erin", from: at(30.5), until: at(50.25)),
                         RosterOverride(rotation: "odd", person: "dave", from: at(3.1), until: at(4.9)),
                         RosterOverride(rotation: "primary", person: "bob", from: at(40), until: at(45))]
        let s = OnCallSchedule(roster: roster(overrides: overrides))
        let (primary, _) = s.segments(role: "on_call_engineer", component: nil, from: at(-24), until: at(14 * 24))
        #expect(primary.map { "\($0.person.id)\($0.isOverride ? "*" : "")" } == ["alice", "erin*", "bob*", "erin*", "alice", "bob"])
        // Nobody before the rotation starts: the first segment begins at its start.
        #expect(primary.first?.from == Self.start)
        #expect(primary.map(\.until).contains(at(7 * 24)))
        #expect(primary.last?.until == at(14 * 24))
        #expect(agreesMinuteByMinute(s, role: "on_call_engineer", from: at(-2), until: at(9 * 24)))
        #expect(agreesMinuteByMinute(s, role: "team_lead", from: at(0), until: at(3 * 24)))
    }

    @Test func neighboursWithTheSamePersonMerge() {
        let one = Roster(people: [Person(id: "carol", name: "Carol")],
                         rotations: [Rotation(id: "security", role: "security_engineer", members: ["carol"],
                                              start: Self.start, period: .seconds(86_400))])
        let (segments, truncated) = OnCallSchedule(roster: one).segments(role: "security_engineer", component: nil,
                                                                           from: at(1), until: at(14 * 24))
        #expect(segments.count == 1 && !truncated)
        #expect(segments.first?.from == at(1) && segments.first?.until == at(14 * 24))
    }

    @Test func aRotationOfSecondsIsCutShortNotWalkedForEver() {
        var r = roster()
        r.rotations = [Rotation(id: "fast", role: "on_call_engineer", members: ["alice", "bob"], start: Self.start,
                                period: .seconds(1))]
        let (segments, truncated) = OnCallSchedule(roster: r).segments(role: "on_call_engineer", component: nil,
                                                                         from: at(0), until: at(31 * 24))
        #expect(truncated)
        #expect(segments.count == 5000)
        #expect(segments.allSatisfy { $0.until.nanoseconds - $0.from.nanoseconds == 1_000_000_000 })
    }

    @Test func anOverrideRequestIsCheckedNamingTheArgument() throws {
        let now = at(10)
        let roster = roster()
        func refusal(_ r: OnCallOverrideRequest) -> String? {
            do { _ = try r.validated(roster: roster, now: now); return nil } catch { return error.description }
        }
        let good = OnCallOverrideRequest(rotation: "primary", person: "bob", from: nil, until: at(20), reason: "swap")
        #expect(try good.validated(roster: roster, now: now) == RosterOverride(rotation: "primary", person: "bob",
                                                                                from: now, until: at(20)))
        // A start already past is now: an override cannot change who was paged before it was made.
        var past = good
        past.from = at(2)
        #expect(try past.validated(roster: roster, now: now).from == now)
        var r = good
        r.rotation = "nightly"
        #expect(refusal(r) == "rotation: no rotation \"nightly\" (known: primary, odd)")
        r = good
        r.person = "mallory"
        #expect(refusal(r)?.hasPrefix("person: \"mallory\" is not a person in the roster (known: alice, bob") == true)
        r = good
        r.until = at(9)
        #expect(refusal(r)?.hasPrefix("until: 2026-01-05T18:00:00.000Z is not in the future") == true)
        r = good
        r.from = at(30)
        #expect(refusal(r) == "from: 2026-01-06T15:00:00.000Z is not before until (2026-01-06T05:00:00.000Z)")
        r = good
        r.until = at(10 + 90 * 24 + 1)
        #expect(refusal(r) == "until: 2026-04-05T20:00:00.000Z is 90.1 days after from (2026-01-05T19:00:00.000Z); "
            + "an override lasts at most 90 days: change the rotation in the configuration instead")
        r = good
        r.reason = "  "
        #expect(refusal(r)?.hasPrefix("reason: missing") == true)
        r.reason = String(repeating: "x", count: 501)
        #expect(refusal(r) == "reason: 501 bytes; at most 500 are accepted")
        r.reason = "cover\u{1B}[2J"
        #expect(refusal(r)?.hasPrefix("reason: contains control characters") == true)
        // Exactly 90 days is accepted.
        r = good
        r.until = now + OnCallOverrideRequest.maximumLength
        #expect(refusal(r) == nil)
    }
}
