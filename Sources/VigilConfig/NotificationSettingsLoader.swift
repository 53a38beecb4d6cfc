import VigilCore

/// `notifications.rate_limits.CHANNEL`: deliveries on the channel start at most `perSecond` a
/// second, `burst` of them at once after a quiet spell.
public struct ChannelRateLimit: Sendable, Equatable {
    public var perSecond: Double
    public var burst: Int

    public init(perSecond: Double, burst: Int) {
        self.perSecond = perSecond
        self.burst = burst
    }
}

/// The outbox's part of `notifications:`: how it retries, when a person's next contact method
/// is tried, and how fast each channel may go.
public struct NotificationSettings: Sendable, Equatable {
    /// The wait after the first failed attempt; it doubles from there (with jitter).
    public var retryInitial: Duration = .seconds(2)
    /// The longest wait between two attempts.
    public var retryMaximum: Duration = .seconds(300)
    /// Attempts before a notification fails for good.
    public var attempts = 12
    /// Failed attempts on one contact method after which the person's next method is queued
    /// (the first keeps retrying up to ``attempts``).
    public var fallbackAfter = 1
    /// Per channel.
    public var rateLimits: [String: ChannelRateLimit] = [:]

    public init() {}
}

/// `notifications:` — contact order, fallback, retries, per-channel rate limits and mirrors:
///
/// ```yaml
/// notifications:
///   contact_order:                 # or one list for every purpose
///     paging: [pager, sms, phone, slack, webhook, email]
///     updates: [email, slack, webhook, pager, sms, phone]
///   fallback_after: 1
///   retry: { initial: 2 seconds, maximum: 5 minutes, attempts: 12 }
///   rate_limits:
///     slack: { per_second: 1, burst: 3 }
///   mirrors:
///     - { channel: pagerduty, recipient: default, min_severity: P2 }
/// ```
enum NotificationSettingsLoader {
    static let keys = ["contact_order", "fallback_after", "retry", "rate_limits", "mirrors"]
    /// More mirrors or rate-limited channels than this is a mistake (each mirror is a message per incident change).
    static let maximumEntries = 64

    static func load(_ node: YAMLNode, into policy: inout IncidentPolicy) -> NotificationSettings {
        var s = NotificationSettings()
        guard let f = node.fields("notifications", allowed: keys) else { return s }
        if let n = f["contact_order"], let order = contactOrder(n, known: nil) { policy.notifications.contactOrder = order }
        if let v = f["fallback_after"]?.int("fallback_after", range: 1...1000) { s.fallbackAfter = v }
        if let r = f["retry"]?.fields("retry", allowed: ["initial", "maximum", "attempts"]) {
            if let d = r["initial"]?.duration("initial", atLeast: .milliseconds(100)) { s.retryInitial = d }
            if let d = r["maximum"]?.duration("maximum", atLeast: .milliseconds(100)) { s.retryMaximum = d }
            if let v = r["attempts"]?.int("attempts", range: 1...1000) { s.attempts = v }
            if s.retryMaximum < s.retryInitial, let n = r["maximum"] {
                n.diagnostics.add(.invalidValue(n.location, key: "maximum", found: DurationText.format(s.retryMaximum),
                                                expected: "at least retry.initial (\(DurationText.format(s.retryInitial)))"))
            }
        }
        if let limits = f["rate_limits"]?.mapping("rate_limits") {
            if limits.count > maximumEntries {
                node.diagnostics.add(.invalidValue(f["rate_limits"]?.location ?? node.location, key: "rate_limits",
                                                   found: "\(limits.count) channels", expected: "at most \(maximumEntries)"))
            } else {
                for e in limits {
                    guard let l = e.value.fields("rate_limits.\(e.key)", allowed: ["per_second", "burst"]),
                          let rateNode = l.required("per_second"), let rate = rate(rateNode) else { continue }
                    let burst = l["burst"]?.int("burst", range: 1...100_000) ?? max(1, Int(rate.rounded(.up)))
                    s.rateLimits[e.key] = ChannelRateLimit(perSecond: rate, burst: burst)
                }
            }
        }
        if let items = f["mirrors"]?.sequence("mirrors") {
            if items.count > maximumEntries {
                node.diagnostics.add(.invalidValue(f["mirrors"]?.location ?? node.location, key: "mirrors",
                                                   found: "\(items.count) mirrors", expected: "at most \(maximumEntries)"))
            } else {
                policy.notifications.mirrors = items.compactMap { mirror($0, ladder: policy.ladder) }
            }
        }
        return s
    }

    /// A `contact_order`: one list for every purpose, or a mapping of purposes and groups
    /// (`paging`, `updates`, `default`) to lists. `known`: the only channels it may name (a
    /// person's own contacts), nil for any.
    static func contactOrder(_ node: YAMLNode, known: Set<String>?) -> ContactOrder? {
        if node.node.sequence != nil {
            return channels(node, key: "contact_order", known: known).map { ContactOrder(otherwise: $0) }
        }
        let allowed = ContactOrder.groups + ContactOrder.purposes + ["default"]
        guard let f = node.fields("contact_order", allowed: allowed) else { return nil }
        var order = ContactOrder()
        for key in allowed {
            guard let value = f[key], let list = channels(value, key: key, known: known) else { continue }
            if key == "default" { order.otherwise = list } else { order.byPurpose[key] = list }
        }
        return order
    }

    /// A list of channel names, each once.
    static func channels(_ node: YAMLNode, key: String, known: Set<String>?) -> [String]? {
        guard let items = node.sequence(key) else { return nil }
        var out: [String] = []
        for item in items {
            guard let name = item.string(key) else { continue }
            if name.isEmpty || out.contains(name) {
                item.diagnostics.add(.invalidValue(item.location, key: key, found: name,
                                                   expected: "channel names, each listed once"))
            } else if let known, !known.contains(name) {
                item.diagnostics.add(.invalidValue(item.location, key: key, found: name,
                                                   expected: "a channel this person has a contact for (\(known.sorted().joined(separator: ", ")))"))
            } else {
                out.append(name)
            }
        }
        return out
    }

    /// A rate above zero: `1`, `0.5` (one every two seconds), at most 100,000.
    static func rate(_ node: YAMLNode) -> Double? {
        guard let text = node.string("per_second") else { return nil }
        guard let v = Double(text.replacingUnderscores()), v.isFinite, v > 0, v <= 100_000 else {
            node.diagnostics.add(.invalidValue(node.location, key: "per_second", found: text,
                                               expected: "a number of deliveries a second above 0 (e.g. 1 or 0.5), at most 100000"))
            return nil
        }
        return v
    }

    static func mirror(_ node: YAMLNode, ladder: SeverityLadder) -> NotificationMirror? {
        guard let f = node.fields("mirror", allowed: ["channel", "recipient", "min_severity"]),
              let channel = f.required("channel")?.string("channel"),
              let recipient = f.required("recipient")?.string("recipient") else { return nil }
        var minimum: String?
        if let n = f["min_severity"] {
            guard let level = SeverityLoader.resolve(n, key: "min_severity", ladder: ladder) else { return nil }
            minimum = level.code
        }
        guard !channel.isEmpty, !recipient.isEmpty else {
            node.diagnostics.add(.invalidValue(node.location, key: "mirror", found: "\(channel) \(recipient)",
                                               expected: "a channel and a recipient, neither empty"))
            return nil
        }
        return NotificationMirror(channel: channel, recipient: recipient, minSeverity: minimum)
    }
}
