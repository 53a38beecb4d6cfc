import Testing
import VigilAccess
@testable import VigilHTTP
import VigilCore

@Suite struct FormBodyTests {
    @Test func readsPairsPlusAndEscapes() throws {
        let form = try FormBody.parse(Array("a=1&message=hello+world%21&empty=&flag&x=%E2%9C%93".utf8))
        #expect(form["a"] == "1")
        #expect(form["message"] == "hello world!")
        #expect(form["empty"] == "")
        #expect(form["flag"] == "")
        #expect(form["x"] == "✓")
        #expect(form["missing"] == nil)
    }

    @Test func repeatedFieldsKeepEveryValue() throws {
        let form = try FormBody.parse(Array("m=a&m=b".utf8))
        #expect(form.all("m") == ["a", "b"])
        #expect(form["m"] == "a")
    }

    @Test(arguments: [
        ("a=%zz", "broken %-escape"), ("a=%4", "broken %-escape"), ("a=%", "broken %-escape"),
        ("a=%C3%28", "not valid UTF-8"), ("%FF=1", "not valid UTF-8"),
    ])
    func badEscapesAreNamed(body: String, problem: String) {
        #expect(throws: FormBody.Problem.self) { try FormBody.parse(Array(body.utf8)) }
        do { _ = try FormBody.parse(Array(body.utf8)) } catch { #expect(error.description.contains(problem)) }
    }

    @Test func limitsAreEnforced() {
        let many = (0...FormBody.maximumFields).map { "f\($0)=1" }.joined(separator: "&")
        #expect(throws: FormBody.Problem.self) { try FormBody.parse(Array(many.utf8)) }
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: FormBody.maximumBytes + 1)
        #expect(throws: FormBody.Problem.self) { try FormBody.parse(big) }
        let longName = String(repeating: "n", count: FormBody.maximumNameBytes + 1) + "=1"
        #expect(throws: FormBody.Problem.self) { try FormBody.parse(Array(longName.utf8)) }
    }

    @Test func requiredAndOptionalTrimAndBound() throws {
        let form = FormBody(fields: [("title", "  <script>  "), ("blank", "   "), ("long", String(repeating: "x", count: 11))])
        #expect(try form.required("title", label: "Title") == "<script>")
        #expect(try form.optional("blank", label: "Blank") == nil)
        #expect(throws: FormBody.Problem.self) { try form.required("blank", label: "Blank") }
        do { _ = try form.optional("long", label: "Long", limit: 10) } catch {
            #expect(error.description == "Long is longer than 10 characters (11)")
        }
    }
}

@Suite struct ConsoleAccessTests {
    @Test func viewersOnlyRead() {
        #expect(ConsoleAccess.allows(.viewer, "incidents.show"))
        #expect(ConsoleAccess.allows(.viewer, "silences.preview"))
        for change in ["incidents.ack", "runbooks.step", "actions.approve", "silences.add", "oncall.override", "plugins.disable"] {
            #expect(!ConsoleAccess.allows(.viewer, change), "viewer may \(change)")
        }
    }

    @Test func respondersWorkIncidentsAndSilencesButNotPlugins() {
        for change in ["incidents.ack", "incidents.comment", "runbooks.step", "actions.approve", "actions.deny", "silences.add",
                       "silences.expire", "oncall.override"] {
            #expect(ConsoleAccess.allows(.responder, change), "responder may not \(change)")
        }
        #expect(!ConsoleAccess.allows(.responder, "plugins.enable"))
        #expect(ConsoleAccess.allows(.admin, "plugins.enable"))
    }

    @Test func sendersMayNotEvenRead() {
        #expect(!ConsoleAccess.allows(.sender, "incidents.list"))
        #expect(!ConsoleAccess.allows(.sender, "status"))
    }

    @Test func unknownCommandsAreAdministration() {
        #expect(ConsoleAccess.operation("tokens.create") == .administer)
        #expect(ConsoleAccess.operation("emit") == .administer)
    }
}

@Suite struct ConsoleChartTests {
    @Test func chartTextIsEscapedAndBadValuesDrawAsZero() {
        let svg = ConsoleCharts.bars(title: "<script>x</script>", labels: ["a&b", "c"],
                                     series: [("s\"1", [.nan, -5]), ("s2", [.infinity, 3])], unit: "s")
        #expect(!svg.contains("<script>"))
        #expect(svg.contains("&lt;script&gt;"))
        #expect(svg.contains("a&amp;b"))
        #expect(svg.contains("s&quot;1"))
        #expect(!svg.contains("nan") && !svg.contains("inf"))
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>"))
    }
}

@Suite struct ConsoleEscapingTests {
    /// `"` followed by a combining mark is one `Character`; compared by character it slipped
    /// through (a reflected attribute injection found in review).
    @Test func quotesFollowedByCombiningMarksAreStillEscaped() {
        let mark = String(UnicodeScalar(0x301)!)
        let hostile = "\"" + mark + " autofocus onfocus=alert(1) x=\"<" + mark + "&" + mark + "'" + mark
        let out = ConsoleController.escaped(hostile)
        let scalars = Set(out.unicodeScalars.map(\.value))
        #expect(!scalars.contains(0x22) && !scalars.contains(0x3C) && !scalars.contains(0x27))
        let expectedStart = "&quot;" + mark + " autofocus"
        let starts = out.hasPrefix(expectedStart)
        #expect(starts)
    }

    @Test func controlCharactersAreDroppedForXML() {
        #expect(ConsoleController.escaped("a\u{0}b\u{1B}c\td\ne") == "abc\td\ne")
    }
}

@Suite struct ConsoleSessionTests {
    @Test func aFullTableRefusesNewSessionsInsteadOfEvictingOthers() {
        let clock = ManualClock(Timestamp(seconds: 1_796_000_000))
        let sessions = ConsoleSessions(clock: clock, capacity: 3)
        let a = sessions.open(token: "a", person: "a", role: .admin)
        let b = sessions.open(token: "b", person: "b", role: .viewer)
        let c = sessions.open(token: "c", person: "c", role: .viewer)
        #expect(a != nil && b != nil && c != nil)
        #expect(sessions.open(token: "d", person: "d", role: .viewer) == nil)
        #expect(sessions.touch(a!.id) != nil, "a live session was evicted")
        // Expired sessions make room.
        clock.advance(by: .seconds(13 * 3600))
        #expect(sessions.open(token: "d", person: "d", role: .viewer) != nil)
        #expect(sessions.count == 1)
    }
}
