import Testing
import VigilMatchers

@Suite struct LabelMatcherParsingTests {
    @Test func bracedListWithAllFourOperators() throws {
        let m = try LabelMatchers.parse(#"{a="b", c=~"d.*", e!="f", g!~"h|i"}"#)
        #expect(m.matchers.map(\.name) == ["a", "c", "e", "g"])
        #expect(m.matchers.map(\.type) == [.equal, .regexp, .notEqual, .notRegexp])
        #expect(m.matchers.map(\.value) == ["b", "d.*", "f", "h|i"])
        #expect(m.description == #"{a="b", c=~"d.*", e!="f", g!~"h|i"}"#)
    }

    @Test func bareFormsAsAmtoolSendsThem() throws {
        let m = try LabelMatchers.parse("alertname=Disk,instance=~host[0-9]+ , team!=db")
        #expect(m.matchers.map(\.description) == [#"alertname="Disk""#, #"instance=~"host[0-9]+""#, #"team!="db""#])
        #expect(try LabelMatchers.parseMatcher("  job  =~  node.*  ").value == "node.*")
    }

    @Test func commasAndEscapesInsideQuotes() throws {
        let m = try LabelMatchers.parse(#"{msg="a,b", q="say \"hi\"", nl="x\ny", bs="c:\\d", odd="\w"}"#)
        #expect(m.matchers.map(\.value) == ["a,b", #"say "hi""#, "x\ny", #"c:\d"#, #"\w"#])
    }

    @Test func emptyTextIsAnEmptyList() throws {
        #expect(try LabelMatchers.parse("").matchers.isEmpty)
        #expect(try LabelMatchers.parse("{}").matchers.isEmpty)
    }

    @Test(arguments: [
        ("a", "bad matcher format: a"),
        ("=b", "bad matcher format: =b"),
        ("a=b,,c=d", "bad matcher format: "),
        (#"a="b"#, #"matcher value does not contain a closing double quote: "b"#),
        (#"a="b"c""#, #"matcher value contains unescaped double quote: "b"c""#),
        (#"a=b"c"#, #"matcher value contains unescaped double quote: b"c"#),
        ("0a=b", "bad matcher format: 0a=b"),
        ("a:b=c", "invalid label name \"a:b\""),
        ("a=~(", "invalid regular expression \"(\": error parsing regexp: missing closing ): `(`"),
    ])
    func refusedAsAlertmanagerRefuses(text: String, message: String) {
        #expect(throws: LabelMatcherError.self) { try LabelMatchers.parse(text) }
        do {
            _ = try LabelMatchers.parse(text)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func missingLabelReadsAsEmpty() throws {
        let labels = ["alertname": "Disk", "team": "web"]
        #expect(try LabelMatchers.parse(#"team!="db""#).matches(labels))
        #expect(try LabelMatchers.parse(#"owner="""#).matches(labels))
        #expect(try !LabelMatchers.parse(#"owner=~".+""#).matches(labels))
        #expect(try LabelMatchers.parse(#"{alertname=~"Di.*", team!~"db|ops"}"#).matches(labels))
        #expect(try LabelMatchers.parse(#"owner!~".+""#).matchesEmptyOnly)
    }

    @Test func tooManyMatchersIsRefused() {
        let text = Array(repeating: "a=b", count: LabelMatchers.maxCount + 1).joined(separator: ",")
        #expect(throws: LabelMatcherError.tooMany(limit: LabelMatchers.maxCount)) { try LabelMatchers.parse(text) }
    }

    @Test func regexLengthIsBounded() {
        let long = String(repeating: "a", count: LabelMatcher.maxRegexLength + 1)
        #expect(throws: LabelMatcherError.self) { try LabelMatcher(name: "a", type: .regexp, value: long) }
        #expect(throws: Never.self) { try LabelMatcher(name: "a", type: .equal, value: long) }
    }
}

extension LabelMatchers {
    /// Every matcher matches a set without its label.
    var matchesEmptyOnly: Bool { matchers.allSatisfy(\.matchesEmpty) }
}
