import Testing
import VigilConfig
import VigilCore
import VigilRules

@Suite struct RuleParserTests {
    func error(_ text: String) -> RuleSyntaxError? {
        do {
            _ = try RuleParser.parse(text, origin: SourceLocation(file: "r.yaml", line: 7, column: 11))
            return nil
        } catch {
            return error
        }
    }

    @Test func aWrongDurationIsLocatedAndExplained() throws {
        let e = try #require(error("cpu_usage > 90% for 5 mins"))
        #expect(e.description == "r.yaml:7:31: expected a duration like `5 minutes` after `for`, found `5 mins`")
    }

    @Test(arguments: [
        ("cpu_usage >", 11, "expected a threshold number like 90 after `>`, found the end of the rule"),
        ("cpu_usage 90%", 10, "expected a comparison (>, >=, <, <=, ==, !=) or the end of the rule after `cpu_usage`, found `90`"),
        ("cpu_usage > 90 furlongs", 15, "expected a unit (%, ms, s, minutes, bytes, kB, MiB, messages, …), `available`, `for`, `in`, `consistently` or the end of the rule after `90`, found `furlongs`"),
        ("mem > 2 KB", 8, "ambiguous unit `KB`: write kB (1000 bytes) or KiB (1024 bytes)"),
        ("disk_space < 10% availabel", 17, "expected `available`, `for 5 minutes`, `in 1 minute`, `consistently`, `keep_firing_for 10 minutes` or the end of the rule after `%`, found `availabel`"),
        ("x > 5 in", 8, "expected a duration like `5 minutes` after `in`, found the end of the rule"),
        ("x > 5 in 1 minute for 5 minutes", 18, "expected `keep_firing_for 10 minutes` or the end of the rule after `minute`, found `for`"),
        ("x > 5 for 30", 10, "expected a duration like `5 minutes` after `for`, found `30` without a unit"),
        ("x{host=\"a}", 7, "this string has no closing double quote"),
        ("x{host=a} > 1", 7, "expected a quoted label value like \"web-1\" after `=`, found `a`"),
        ("x{host=~\"(\"} > 1", 8, "\"(\" is not a valid regular expression"),
        ("for > 1", 0, "`for` is a keyword of the rule language and cannot be a metric or signal name"),
        ("x > 1 # comment", 6, "unexpected character \"#\""),
        ("x > 10% in 0 seconds", 11, "a window must be longer than 0"),
    ])
    func errorsNameWhatWasExpectedWhereItWasNot(text: String, offset: Int, message: String) throws {
        let e = try #require(error(text))
        #expect(e.offset == offset)
        #expect(e.message.hasPrefix(message))
        #expect(e.location == SourceLocation(file: "r.yaml", line: 7, column: 11 + offset))
    }

    @Test func theLanguageReadsAsWritten() throws {
        let e = try RuleParser.parse("terminal_renderer fps{host=~\"web-.*\", env!=\"dev\"} <= 12.5 for 90 seconds keep_firing_for 2 minutes")
        #expect(e.selector.component == "terminal_renderer" && e.selector.name == "fps")
        #expect(e.selector.matchers == [LabelMatcher(key: "host", op: .matches, value: "web-.*"),
                                        LabelMatcher(key: "env", op: .notEqual, value: "dev")])
        #expect(e.condition == Condition(comparator: .lessOrEqual, threshold: 12.5, timing: .holdsFor(.seconds(90)),
                                         keepFiringFor: .seconds(120)))
        #expect(e.description == "terminal_renderer fps{host=~\"web-.*\", env!=\"dev\"} <= 12.5 for 90 seconds keep_firing_for 2 minutes")
        let bytes = try RuleParser.parse("written > 1.5 GiB in 10 minutes")
        #expect(bytes.condition?.unit == .gibibytes && bytes.kind == .sumWindow)
        #expect(try RuleParser.parse("lat > 250 milliseconds").description == "lat > 250ms")
        #expect(try RuleParser.parse("q > 1 message").description == "q > 1 message")
        #expect(try RuleParser.parse("t < -5").condition?.threshold == -5)
        #expect(try RuleParser.parse("x > 1e3 kB").description == "x > 1000 kB")
    }
}

@Suite struct RuleFileErrorTests {
    @Test func errorsInsideAYAMLFilePointAtTheirLineAndColumn() throws {
        let text = """
            incident_detection:
              system_health:
                - cpu_usage > 90% for 5 mins
                - "memory_usage > 95 KB"
                - disk_space < 10% available
            """
        do {
            _ = try RuleFileLoader.load(text: text, file: "rules.yaml")
            Issue.record("the file should not load")
        } catch {
            #expect(error.errors.map(\.description) == [
                "rules.yaml:3:27: expected a duration like `5 minutes` after `for`, found `5 mins`",
                "rules.yaml:4:26: ambiguous unit `KB`: write kB (1000 bytes) or KiB (1024 bytes)",
            ])
        }
    }

    @Test func everyProblemOfEveryFileIsReportedAndNothingValidIsLost() throws {
        let text = """
            rules:
              - id: web_cpu
                rule: cpu_usage > 80% for 10 minutes
                severity: P9
                containment: flood
                incident_type: Alien invasion
                group_by: [host, 2bad]
              - id: web_cpu
                rule: cpu_usage > 70%
              - rule: x > 1
                colour: blue
            annotations:
              nope:
                incident_type: High CPU utilization
            """
        let policy = try ConfigLoader.load(path: repositoryRoot + "/Config/vigil.yaml").policy
        do {
            _ = try RuleFileLoader.load(text: text, file: "ops.yaml", policy: policy)
            Issue.record("the file should not load")
        } catch {
            let lines = error.errors.map(\.description)
            #expect(lines.contains { $0.hasPrefix("ops.yaml:4:15: unknown severity \"P9\"") })
            #expect(lines.contains { $0.hasPrefix("ops.yaml:5:18: \"containment\" must be one of data_corruption, security_breach, system_overload") })
            #expect(lines.contains { $0.hasPrefix("ops.yaml:6:20: \"incident_type\" must be one of the incident types") })
            #expect(lines.contains { $0.hasPrefix("ops.yaml:7:15: \"group_by\" must be label names, found \"2bad\"") })
            #expect(lines.contains("ops.yaml:8:9: rule id \"web_cpu\" is already used at ops.yaml:2:9"))
            #expect(lines.contains { $0.hasPrefix("ops.yaml:11:5: unknown key \"colour\"") })
            #expect(lines.contains("ops.yaml:13:3: no rule has the id \"nope\"; rule ids are: web_cpu, x"))
        }
    }
}
