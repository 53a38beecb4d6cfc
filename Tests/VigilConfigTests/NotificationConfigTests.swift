import Testing
import VigilConfig
import VigilCore

/// `notifications:` and a roster entry's `contact_order`.
@Suite struct NotificationConfigTests {
    /// The shipped text with its `notifications:` section replaced by `section`.
    static func withSection(_ section: String) throws -> String {
        var text = try defaultConfigText()
        let start = try #require(text.range(of: "\nnotifications:\n"))
        let end = try #require(text.range(of: "\nincidents:\n", range: start.upperBound..<text.endIndex))
        text.replaceSubrange(start.lowerBound..<end.lowerBound, with: "\n" + section + "\n")
        return text
    }

    @Test func theShippedSectionIsTheBuiltInBehaviour() throws {
        let config = try ConfigLoader.load(path: defaultConfigPath)
        let n = config.notifications
        #expect(n.fallbackAfter == 1 && n.attempts == 12 && n.retryInitial == .seconds(2) && n.retryMaximum == .seconds(300))
        #expect(n.rateLimits.isEmpty && config.policy.notifications.mirrors.isEmpty)
        #expect(config.policy.notifications.contactOrder.byPurpose == [
            "paging": ["pager", "sms", "phone", "slack", "webhook", "email"],
            "updates": ["email", "slack", "webhook", "pager", "sms", "phone"],
        ])
        #expect(config.policy.roster.people.allSatisfy { $0.contactOrder == nil })
    }

    @Test func readsEverySetting() throws {
        let text = try Self.withSection("""
            notifications:
              contact_order: [slack, email]
              fallback_after: 3
              retry: { initial: 500ms, maximum: 1 minute, attempts: 5 }
              rate_limits:
                slack: { per_second: 1, burst: 3 }
                sms: { per_second: 0.5 }
              mirrors:
                - { channel: pagerduty, recipient: default, min_severity: P2 - High }
                - { channel: webhook, recipient: audit }
            """).replacingOccurrences(of: "      contacts: { email: bob@example.org }",
                                      with: "      contacts: { email: bob@example.org, sms: \"+1 555\" }\n"
                                          + "      contact_order: { paging: [sms, email], default: [email] }")
        let config = try ConfigLoader.load(path: writeConfig(text))
        let n = config.notifications
        #expect(n.fallbackAfter == 3 && n.attempts == 5 && n.retryInitial == .milliseconds(500) && n.retryMaximum == .seconds(60))
        #expect(n.rateLimits == ["slack": ChannelRateLimit(perSecond: 1, burst: 3), "sms": ChannelRateLimit(perSecond: 0.5, burst: 1)])
        #expect(config.policy.notifications.contactOrder == ContactOrder(otherwise: ["slack", "email"]))
        #expect(config.policy.notifications.mirrors == [NotificationMirror(channel: "pagerduty", recipient: "default", minSeverity: "P2"),
                                                        NotificationMirror(channel: "webhook", recipient: "audit")])
        let bob = try #require(config.policy.roster.people.first { $0.id == "bob" })
        #expect(bob.contactOrder == ContactOrder(byPurpose: ["paging": ["sms", "email"]], otherwise: ["email"]))
    }

    @Test func errorsAreLocatedAndNamed() throws {
        let text = try Self.withSection("""
            notifications:
              contact_order: { paging: [sms, sms], pages: [email] }
              fallback_after: 0
              retry: { initial: 1 ms, maximum: 1 second, attempts: many }
              rate_limits:
                slack: { per_second: 0 }
                sms: { burst: 2 }
                chat: { per_second: fast, burst: 0 }
              mirrors:
                - { channel: pagerduty, min_severity: P9 }
                - { channel: pagerduty, recipient: default, colour: red }
              colour: blue
            """).replacingOccurrences(of: "      contacts: { email: bob@example.org }",
                                      with: "      contacts: { email: bob@example.org }\n      contact_order: [slack, email]")
        let errs = try errors(of: text)
        func at(_ needle: String) -> Int? { position(of: needle, in: text)?.line }
        func has(_ fragment: String, _ line: Int?) -> Bool {
            errs.contains { $0.message.contains(fragment) && $0.location.line == line && $0.location.file.hasSuffix(".yaml") }
        }
        #expect(has("channel names, each listed once", at("paging: [sms, sms]")))
        #expect(has("unknown key \"pages\"", at("paging: [sms, sms]")))
        #expect(has("\"fallback_after\" must be a whole number from 1 to 1000, found \"0\"", at("fallback_after: 0")))
        #expect(has("\"initial\" must be a duration of at least 100ms", at("initial: 1 ms")))
        #expect(has("\"attempts\" must be a whole number", at("initial: 1 ms")))
        #expect(has("\"per_second\" must be a number of deliveries a second above 0", at("slack: { per_second: 0 }")))
        #expect(has("missing required key \"per_second\"", at("sms: { burst: 2 }")))
        #expect(has("found \"fast\"", at("chat: { per_second: fast")))
        #expect(has("missing required key \"recipient\"", at("channel: pagerduty, min_severity: P9")))
        #expect(has("unknown key \"colour\"", at("colour: red")))
        #expect(has("unknown key \"colour\"", at("colour: blue")))
        #expect(has("a channel this person has a contact for (email), found \"slack\"", at("contact_order: [slack, email]")))
    }

    @Test func aMaximumBelowTheInitialWaitIsRefused() throws {
        let text = try Self.withSection("notifications:\n  retry: { initial: 10 seconds, maximum: 5 seconds }")
        let errs = try errors(of: text)
        #expect(errs.contains { $0.message.contains("\"maximum\" must be at least retry.initial (10 seconds)")
            && $0.location.line == position(of: "retry:", in: text)?.line })
    }

    @Test func aMirrorsSeverityMustBeOnTheLadder() throws {
        let text = try Self.withSection("""
            notifications:
              mirrors:
                - { channel: pagerduty, recipient: default, min_severity: P9 }
            """)
        let errs = try errors(of: text)
        #expect(errs.contains { $0.message.hasPrefix("unknown severity \"P9\"") && $0.location.line == position(of: "min_severity: P9", in: text)?.line })
    }
}
