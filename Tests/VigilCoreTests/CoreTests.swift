import Testing
import VigilCore

@Suite struct DurationTextTests {
    @Test(arguments: [("15 minutes", 900.0), ("1 minute", 60), ("2 hours", 7200), ("24 hours", 86400), ("30 seconds", 30),
                      ("5000ms", 5), ("1.5 hours", 5400), ("2h", 7200), ("1 week", 604800)])
    func parses(text: String, seconds: Double) {
        #expect(DurationText.parse(text)?.inSeconds == seconds)
    }

    @Test(arguments: ["5 mins", "soon", "", "minutes", "-3 minutes", "3 fortnights"])
    func refuses(text: String) { #expect(DurationText.parse(text) == nil) }

    @Test func formatsRoundTrip() {
        for d: Duration in [.seconds(900), .seconds(3600), .seconds(86400), .seconds(90), .milliseconds(250)] {
            #expect(DurationText.parse(DurationText.format(d)) == d)
        }
    }
}

@Suite struct RFC3339Tests {
    @Test func roundTrips() throws {
        let t = try #require(RFC3339.parse("2026-11-24T19:40:26.120Z"))
        #expect(t.rfc3339 == "2026-11-24T19:40:26.120Z")
        #expect(RFC3339.parse("2026-11-24T20:40:26.120+01:00") == t)
        #expect(RFC3339.parse("1970-01-01T00:00:00Z")?.nanoseconds == 0)
    }

    @Test(arguments: ["2026-13-01T00:00:00Z", "yesterday", "2026-11-24 19:40", "2026-11-24T19:40:26",
                      "2026-02-29T00:00:00Z", "2026-02-30T00:00:00Z", "2026-04-31T00:00:00Z", "1900-02-29T00:00:00Z"])
    func refuses(text: String) { #expect(RFC3339.parse(text) == nil) }

    @Test func leapDaysExistWhereTheCalendarHasThem() {
        #expect(RFC3339.parse("2028-02-29T12:00:00Z")?.rfc3339 == "2028-02-29T12:00:00.000Z")
        #expect(RFC3339.parse("2000-02-29T00:00:00Z") != nil)
        #expect(RFC3339.parse("2026-12-31T23:59:59Z") != nil)
    }
}

@Suite struct SeverityLadderTests {
    let p0 = SeverityLadder(name: "p0-p3", levels: ["Critical", "High", "Medium", "Low"].enumerated().map {
        SeverityLevel(code: "P\($0)", name: $1, description: "", responseTime: nil)
    })

    @Test func resolvesCodesNamesAndSeedPairs() {
        #expect(p0.severity(named: "P0")?.rank == 0)
        #expect(p0.severity(named: "critical")?.code == "P0")
        #expect(p0.severity(named: "P0 - Critical")?.code == "P0")
        // Seed 000 writes P2 - High; on the P0–P3 ladder High is P1.
        #expect(p0.severity(named: "P2 - High")?.code == "P1")
        #expect(p0.severity(named: "P9") == nil)
    }
}

@Suite struct SymbolTableTests {
    @Test func internsStringsAndLabelSets() {
        let t = SymbolTable()
        let a = t.intern("cpu_usage")
        #expect(t.intern("cpu_usage") == a)
        #expect(t.name(a) == "cpu_usage")
        let l1 = t.intern(labels: ["host": "a", "disk": "/"])
        let l2 = t.intern(labels: ["disk": "/", "host": "a"])
        #expect(l1 == l2)
        #expect(t.labels(l1) == ["host": "a", "disk": "/"])
        #expect(t.intern(labels: [:]) == .empty)
    }

    @Test func eventStaysSmall() { #expect(MemoryLayout<Event>.size <= 40) }
}

@Suite struct InternBudgetTests {
    @Test func whatASourceAddsIsChargedToItsBudgetAndStopsThere() {
        let symbols = SymbolTable()
        let known = symbols.intern(labels: ["host": "web-1"])
        let budget = InternBudget(limit: 5)
        // Already interned: free.
        #expect(symbols.intern(labels: ["host": "web-1"], charging: budget) == known)
        #expect(budget.remaining == 5)
        // One new value and one new set.
        #expect(symbols.intern(labels: ["host": "web-2"], charging: budget) != nil)
        #expect(budget.remaining == 3)
        #expect(symbols.intern("cpu_usage", charging: budget) != nil)
        #expect(budget.remaining == 2)
        let before = symbols.counts
        // Needs three (two strings and a set) of the two left: refused, and nothing of it is interned.
        #expect(symbols.intern(labels: ["rack": "r9"], charging: budget) == nil)
        #expect(symbols.counts == before)
        #expect(budget.refused == 1)
        // What is known stays usable after the budget is spent.
        #expect(symbols.intern(labels: ["host": "web-2"], charging: budget) != nil)
        #expect(symbols.intern("cpu_usage", charging: budget) != nil)
    }
}
