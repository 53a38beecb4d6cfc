import Testing
import VigilCore

/// Times come from plugins (`time` of an event) and files; none may trap the daemon.
@Suite struct TimeParsingBoundsTests {
    /// Before the fix, `secs * 1_000_000_000` overflowed and trapped for these.
    @Test(arguments: ["2263-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "1677-01-01T00:00:00Z",
                      "0000-01-01T00:00:00Z", "2262-04-11T23:47:16.854775808Z", "1677-09-21T00:12:43.145224191Z"])
    func refusesTimesATimestampCannotHold(text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test func acceptsTheEdgesOfTheRange() {
        #expect(RFC3339.parse("2262-04-11T23:47:16.854775807Z")?.nanoseconds == .max)
        #expect(RFC3339.parse("1677-09-21T00:12:43.145224192Z")?.nanoseconds == .min)
        #expect(RFC3339.parse("2262-04-12T01:47:16.854775807+02:00")?.nanoseconds == .max)
    }

    @Test(arguments: ["2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00-00:60", "2026-01-01T00:00:00+99:99"])
    func refusesOffsetsOutsideAClock(text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    /// `nanoseconds - 999_999` overflowed for the earliest timestamps.
    @Test func formatsTheExtremes() {
        #expect(RFC3339.format(Timestamp(nanoseconds: .min)) == "1677-09-21T00:12:43.145Z")
        #expect(RFC3339.format(Timestamp(nanoseconds: .max)) == "2262-04-11T23:47:16.854Z")
        #expect(RFC3339.format(Timestamp(nanoseconds: -1)) == "1969-12-31T23:59:59.999Z")
    }

    /// `Int64(Double)` traps on NaN, infinities and out-of-range values.
    @Test func secondsConvertWithoutTrapping() {
        #expect(Timestamp(seconds: .nan).nanoseconds == 0)
        #expect(Timestamp(seconds: .infinity).nanoseconds == .max)
        #expect(Timestamp(seconds: -1e300).nanoseconds == .min)
        #expect(Timestamp(seconds: 9.3e9).nanoseconds == .max)
        #expect(Timestamp(seconds: 1.5).nanoseconds == 1_500_000_000)
        #expect(Timestamp(checkedSeconds: .nan) == nil)
        #expect(Timestamp(checkedSeconds: -.infinity) == nil)
        #expect(Timestamp(checkedSeconds: 9.3e9) == nil)
        #expect(Timestamp(checkedSeconds: 1.5)?.nanoseconds == 1_500_000_000)
    }
}

/// Found by the event-batch fuzz target: a time read from RFC 3339 text late in 2261 was written
/// back by the SDK encoding as seconds, and those seconds were refused as out of range.
@Suite struct TimeRangeAgreementTests {
    @Test func secondsAcceptWhatTextAccepts() throws {
        let t = try #require(RFC3339.parse("2262-04-11T23:47:13.854774Z"))
        let back = try #require(Timestamp(checkedSeconds: t.seconds))
        #expect((back.nanoseconds - t.nanoseconds).magnitude < 4_000)
        let early = try #require(RFC3339.parse("1677-09-21T00:12:46Z"))
        #expect(Timestamp(checkedSeconds: early.seconds) != nil)
    }
}
