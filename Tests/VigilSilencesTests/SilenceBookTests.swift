import Foundation
import Testing
import VigilCore
import VigilMatchers
@testable import VigilSilences

@Suite struct SilenceBookTests {
    let clock = ManualClock()
    var now: Timestamp { clock.now() }
    let ids = (0..<8).map { UUID(uuidString: "00000000-0000-4000-8000-00000000000\($0)")! }

    func draft(_ matchers: [MatcherInput] = [MatcherInput(name: "alertname", value: "Disk", type: .equal)],
               id: UUID? = nil, starts: Duration = .zero, ends: Duration = .seconds(3600)) -> SilenceDraft {
        SilenceDraft(id: id, matchers: matchers, startsAt: now + starts, endsAt: now + ends, createdBy: "ana",
                     comment: "disk swap")
    }

    func refusal(_ book: SilenceBook, _ d: SilenceDraft) -> SilenceError? {
        do { _ = try book.plan(d, now: now, newID: ids[7]); return nil } catch { return error }
    }

    @Test func stateFollowsTheInjectedClock() throws {
        var book = SilenceBook()
        let change = try book.plan(draft(starts: .seconds(60), ends: .seconds(120)), now: now, newID: ids[0])
        book.apply([change.silence])
        let s = try #require(book.silences[ids[0]])
        #expect(s.state(at: now) == .pending)
        clock.advance(by: .seconds(60))
        #expect(s.state(at: now) == .active)
        #expect(s.mutes(["alertname": "Disk"], at: now))
        #expect(!s.mutes(["alertname": "CPU"], at: now))
        clock.advance(by: .seconds(61))
        #expect(s.state(at: now) == .expired)
    }

    @Test func refusalsCarryAlertmanagersMessages() {
        let book = SilenceBook()
        #expect(refusal(book, draft(ends: .zero))?.message == "Failed to create silence: start time must be before end time")
        #expect(refusal(book, draft(starts: .seconds(-7200), ends: .seconds(-3600)))?.message
            == "Failed to create silence: end time can't be in the past")
        #expect(refusal(book, draft([MatcherInput(name: "a", value: "", type: .equal)]))?.message
            == "silence invalid: at least one matcher must not match the empty string")
        #expect(refusal(book, draft([MatcherInput(name: "a", value: ".*", type: .regexp)]))?.message
            == "silence invalid: at least one matcher must not match the empty string")
        #expect(refusal(book, draft([MatcherInput(name: "a", value: "(", type: .regexp)]))?.message
            == "silence invalid: invalid label matcher 0: invalid regular expression \"(\": error parsing regexp: missing closing ): `(`")
        #expect(refusal(book, draft([MatcherInput(name: "0a", value: "b", type: .equal)]))?.message
            == "silence invalid: invalid label matcher 0: invalid label name \"0a\"")
        #expect(refusal(book, draft(id: ids[3]))?.isNotFound == true)
        #expect(refusal(book, draft([]))?.message == "silence invalid: at least one matcher required")
    }

    @Test func pastStartIsClampedToNow() throws {
        let change = try SilenceBook().plan(draft(starts: .seconds(-600)), now: now, newID: ids[0])
        #expect(change.silence.startsAt == now)
        #expect(change.created)
    }

    @Test func updateKeepsTheIdOnlyWhenAlertmanagerWould() throws {
        var book = SilenceBook()
        let first = try book.plan(draft(), now: now, newID: ids[0]).silence
        book.apply([first])
        clock.advance(by: .seconds(10))
        // Same matchers, same start, later end: updated in place.
        var d = draft(id: ids[0], ends: .seconds(7200))
        d.startsAt = first.startsAt
        let same = try book.plan(d, now: now, newID: ids[1])
        #expect(same.silence.id == ids[0] && !same.created && same.expired == nil)
        // Other matchers: the old one expires, a new id is issued.
        let other = try book.plan(draft([MatcherInput(name: "alertname", value: "CPU", type: .equal)], id: ids[0]),
                                  now: now, newID: ids[1])
        #expect(other.silence.id == ids[1] && other.created)
        #expect(other.expired?.id == ids[0] && other.expired?.endsAt == now)
        book.apply([other.silence] + [other.expired].compactMap { $0 })
        clock.advance(by: .seconds(1))
        // The expired one can still be named: a new silence replaces it, nothing more to expire.
        let again = try book.plan(draft(id: ids[0]), now: now, newID: ids[2])
        #expect(again.silence.id == ids[2] && again.expired == nil)
    }

    @Test func expiryOfPendingActiveAndExpired() throws {
        var book = SilenceBook()
        let pending = try book.plan(draft(starts: .seconds(60)), now: now, newID: ids[0]).silence
        let active = try book.plan(draft(), now: now, newID: ids[1]).silence
        book.apply([pending, active])
        let p = try #require(try book.planExpiry(ids[0], now: now))
        #expect(p.startsAt == now && p.endsAt == now)
        let a = try #require(try book.planExpiry(ids[1], now: now))
        #expect(a.endsAt == now && a.startsAt == active.startsAt)
        book.apply([p, a])
        clock.advance(by: .seconds(1))
        #expect(try book.planExpiry(ids[1], now: now) == nil)
        #expect(throws: SilenceError.notFound) { try book.planExpiry(ids[5], now: now) }
    }

    @Test func expiredSilencesArePurgedAfterRetention() throws {
        var book = SilenceBook()
        let s = try book.plan(draft(ends: .seconds(60)), now: now, newID: ids[0]).silence
        book.apply([s])
        clock.advance(by: SilenceBook.retention)
        #expect(book.purge(now: now).isEmpty)
        clock.advance(by: .seconds(61))
        #expect(book.purge(now: now) == [ids[0]])
    }

    @Test func incidentLabelsIncludeTheDaemonsNames() {
        var incident = Incident.sample
        incident.labels = ["plugin": "disk-watch", "severity": "P4"]
        let labels = SilenceLabels.of(incident)
        #expect(labels["plugin"] == "disk-watch")
        #expect(labels["severity"] == incident.severity.code)
        #expect(labels["incident"] == incident.id)
    }
}

extension Incident {
    static var sample: Incident {
        Incident(id: "INC-2026-0001", title: "Disk full", summary: "", severity: Severity(code: "P1", rank: 1),
                 state: .mobilised, source: "rule:disk_full", detectedAt: Timestamp(nanoseconds: 0))
    }
}

@Suite struct ScheduleTests {
    /// 2026-03-02 (a Monday) at hh:mm UTC.
    func monday(_ h: Int, _ m: Int = 0) -> Timestamp {
        Timestamp(nanoseconds: 1_772_409_600_000_000_000 + Int64(h * 3600 + m * 60) * 1_000_000_000)
    }
    let utc = TimeZone(identifier: "UTC")!
    let berlin = TimeZone(identifier: "Europe/Berlin")!

    func window(_ s: MaintenanceWindow.Schedule, _ zone: TimeZone) throws -> MaintenanceWindow {
        MaintenanceWindow(name: "w", matchers: try LabelMatchers.parse("team=db"), schedule: s, timeZone: zone)
    }

    @Test func weeklyWindowsCrossMidnightIntoTheNextDay() throws {
        let w = try window(.weekly(WeeklySchedule(days: [0], start: 22 * 60, end: 2 * 60)), utc)  // Sunday 22:00-02:00
        #expect(w.isOpen(at: monday(1, 59)))
        #expect(!w.isOpen(at: monday(2)))
        #expect(!w.isOpen(at: monday(22)))
        #expect(w.isOpen(at: monday(-1)))
        #expect(w.mutes(["team": "db"], at: monday(0)) && !w.mutes(["team": "web"], at: monday(0)))
    }

    @Test func weeklyWindowsFollowTheirTimeZone() throws {
        // Monday 09:00-10:00 in Berlin is 08:00-09:00 UTC in March (CET).
        let w = try window(.weekly(WeeklySchedule(days: [1], start: 9 * 60, end: 10 * 60)), berlin)
        #expect(w.isOpen(at: monday(8, 30)))
        #expect(!w.isOpen(at: monday(9, 30)))
    }

    @Test func cronWindowsStayOpenForTheirDuration() throws {
        let cron = try CronSchedule(parsing: "30 4 * * mon-fri")
        let w = try window(.cron(cron, duration: .seconds(5400)), utc)
        #expect(!w.isOpen(at: monday(4, 29)))
        #expect(w.isOpen(at: monday(4, 30)))
        #expect(w.isOpen(at: monday(5, 59)))
        #expect(!w.isOpen(at: monday(6)))
        #expect(!w.isOpen(at: monday(4, 30) - .seconds(86400)))  // Sunday
    }

    @Test(arguments: ["* * * *", "60 * * * *", "* 24 * * *", "*/0 * * * *", "5-1 * * * *", "* * * foo *", "1,,2 * * * *"])
    func badCronIsRefused(text: String) {
        #expect(throws: CronSchedule.ParseError.self) { try CronSchedule(parsing: text) }
    }

    @Test func cronDayFieldsFollowTheVixieRule() throws {
        let either = try CronSchedule(parsing: "0 0 1 * sun")
        let z = utc
        #expect(either.lastFire(atOrBefore: monday(0), within: .seconds(60), timeZone: z) == nil)  // Monday the 2nd
        #expect(either.lastFire(atOrBefore: monday(-24), within: .seconds(60), timeZone: z) != nil)  // Sunday the 1st
    }
}

@Suite struct AlertmanagerSilenceSchemaTests {
    func refusal(_ text: String) -> AlertmanagerSilenceSchema.Refusal? {
        do { _ = try AlertmanagerSilenceSchema.decodePostable(Array(text.utf8)); return nil } catch { return error }
    }

    @Test func hostileBodiesAreRefusedNotCrashedOn() {
        #expect(refusal(String(repeating: "[", count: 200_000))?.status == 400)
        #expect(refusal(#"{"comment": "\#(String(repeating: "{", count: 100_000))"}"#)?.status == 422)
        #expect(refusal("\u{FF}\u{FE}")?.status == 400)
        let many = "[" + Array(repeating: #"{"name":"a","value":"b","isRegex":false}"#, count: 300).joined(separator: ",") + "]"
        #expect(refusal(#"{"matchers":\#(many)}"#)?.status == 400)
    }

    @Test func requiredFieldsInGoOpenAPIsOrder() {
        #expect(refusal("")?.message == "silence in body is required")
        #expect(refusal("null")?.message == "comment in body is required")
        #expect(refusal(#"{"comment":"c"}"#)?.message == "createdBy in body is required")
        #expect(refusal(#"{"comment":"c","createdBy":"a","endsAt":"2030-01-01T00:00:00Z","matchers":[]}"#)?.code == 612)
        #expect(refusal(#"{"comment":"c","createdBy":"a","endsAt":"2030-01-01T00:00:00Z","matchers":[{"name":"a","value":"b"}]}"#)?.message
            == "matchers.0.isRegex in body is required")
        #expect(refusal(#"{"comment":"c","createdBy":"a","endsAt":"2030-01-01T00:00:00Z","matchers":[{"name":"a","value":"b","isRegex":1}]}"#)?.status
            == 400)
    }

    @Test func aValidBodyBecomesADraft() throws {
        let d = try AlertmanagerSilenceSchema.decodePostable(Array(#"""
            {"id":"7F4B3C0E-0000-4000-8000-000000000001","comment":"c","createdBy":"a","startsAt":"2030-01-01T00:00:00Z",
             "endsAt":"2030-01-01T02:00:00+02:00","matchers":[{"name":"a","value":"b.*","isRegex":true,"isEqual":false}]}
            """#.utf8))
        #expect(d.id?.uuidString == "7F4B3C0E-0000-4000-8000-000000000001")
        #expect(d.matchers == [MatcherInput(name: "a", value: "b.*", type: .notRegexp)])
        #expect(d.endsAt == d.startsAt)
    }
}
