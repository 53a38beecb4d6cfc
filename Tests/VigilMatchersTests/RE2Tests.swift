import Testing
import VigilMatchers

/// Expected results are Go's (`regexp.MustCompile("^(?:" + re + ")$").MatchString(s)`).
@Suite struct RE2MatchingTests {
    func full(_ re: String, _ s: String) throws -> Bool {
        try LabelMatcher(name: "l", type: .regexp, value: re).matches(value: s)
    }

    @Test(arguments: [
        ("d.*", "disk", true), ("d.*", "xdisk", false), ("a|b", "b", true), ("a|b", "ab", false),
        ("host[0-9]+", "host12", true), ("host[0-9]+", "host", false), ("[^a]", "\n", true),
        (".", "\n", false), ("(?s).", "\n", true), ("(?i)DISK", "disk", true), ("(?i:a)b", "AB", false),
        ("a{2,3}", "aaa", true), ("a{2,3}", "aaaa", false), ("a{2}", "aa", true), ("a{,2}", "a{,2}", true),
        ("x{01}", "x{01}", true), (#"\d+"#, "123", true), (#"\d"#, "٣", false), (#"\w+"#, "ab_9", true),
        (#"\w"#, "é", false), (#"\pL+"#, "héllo", true), (#"\p{Lu}"#, "a", false), (#"\PL"#, "1", true),
        (#"\p{^L}"#, "a", false), ("[[:alpha:]]+", "abc", true), ("[[:^digit:]]", "5", false),
        (#"\Qa.b\E"#, "a.b", true), (#"\Qa.b\E"#, "axb", false), (#"\x41\x{263a}\101"#, "A☺A", true),
        (#"a\.b"#, "a.b", true), ("", "", true), ("", "x", false), ("a*", "", true),
        (#"\bfoo\b"#, "foo", true), ("(?m)^a$", "a", true), ("é", "é", true), ("(a*)*", "aaaa", true),
        ("[]a]", "]", true), ("[a-]", "-", true), ("(?:a|)", "", true), ("(?U)a+?", "aa", true),
        ("(?P<x>a)b", "ab", true), ("a|(b)", "b", true), ("^a", "a", true), ("a$", "a", true),
        ("(?i)k", "\u{212A}", true), ("[a-c]", "B", false), ("(?i)[a-c]", "B", true),
    ])
    func matchesAsGo(re: String, text: String, expected: Bool) throws {
        #expect(try full(re, text) == expected, "\(re) against \(text.debugDescription)")
    }

    @Test(arguments: [
        ("(", "missing closing ): `(`"),
        ("a)|(b", "unexpected ): `a)|(b`"),
        ("(?=x)", "invalid or unsupported Perl syntax: `(?=`"),
        ("(?!x)", "invalid or unsupported Perl syntax: `(?!`"),
        ("(?<n>x)", "invalid or unsupported Perl syntax: `(?<`"),
        (#"(a)\1"#, #"invalid escape sequence: `\1`"#),
        ("a**", "invalid nested repetition operator: `**`"),
        ("a*+", "invalid nested repetition operator: `*+`"),
        ("*a", "missing argument to repetition operator: `*`"),
        ("a{1001}", "invalid repeat count: `{1001}`"),
        ("a{3,2}", "invalid repeat count: `{3,2}`"),
        ("(a{100}){100}", "invalid repeat count: `{100}`"),
        ("[a", "missing closing ]: `[a`"),
        ("[z-a]", "invalid character class range: `z-a`"),
        ("[[:foo:]]", "invalid character class range: `[:foo:]`"),
        (#"\e"#, #"invalid escape sequence: `\e`"#),
        (#"\Z"#, #"invalid escape sequence: `\Z`"#),
        (#"\C"#, #"invalid escape sequence: `\C`"#),
        (#"\p{Foo}"#, #"invalid character class range: `\p{Foo}`"#),
        ("a\\", "trailing backslash at end of expression: ``"),
        ("(?-)", "invalid or unsupported Perl syntax: `(?-)`"),
        ("x(?P<a-b>y)", "invalid named capture: `(?P<a-b>`"),
        ("(?P<>y)", "invalid named capture: `(?P<>`"),
    ])
    func refusedAsGoRefuses(re: String, message: String) {
        do {
            let m = try LabelMatcher(name: "l", type: .regexp, value: re)
            Issue.record("\(re) was accepted as \(m)")
        } catch {
            guard case .invalidRegex(_, _, let reason) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(reason == "error parsing regexp: \(message)")
        }
    }

    @Test(.timeLimit(.minutes(1))) func pathologicalPatternsRunInLinearTime() throws {
        let text = String(repeating: "a", count: 4000)
        #expect(try !full("(a|a)*b", text))
        #expect(try !full("(a*)*(b)", text))
        #expect(try full("(x+x+)+y|a*", text))
    }

    @Test func programSizeIsBounded() {
        // Nested counted repeats under Go's product limit but over Vigil's instruction limit.
        let re = "(" + String(repeating: "[a-z]", count: 40) + "){1000}"
        #expect(throws: LabelMatcherError.self) { try LabelMatcher(name: "l", type: .regexp, value: re) }
    }
}
