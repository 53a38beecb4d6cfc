import Foundation
import VigilCore
import VigilMatchers
import VigilSilences

/// A silence in Alertmanager API v2's `gettableSilence` shape: what `GET /api/v2/silences`
/// answers and what `vigil silences list --json` prints.
public struct SilenceView: Codable, Sendable, Equatable {
    /// One matcher: `isRegex`/`isEqual` select `=`, `!=`, `=~`, `!~`.
    public struct MatcherView: Codable, Sendable, Equatable {
        public var isEqual: Bool
        public var isRegex: Bool
        public var name: String
        public var value: String

        public init(_ m: LabelMatcher) {
            isEqual = m.type.isEqual
            isRegex = m.type.isRegex
            name = m.name
            value = m.value
        }
    }

    /// `{"state": "pending" | "active" | "expired"}`.
    public struct Status: Codable, Sendable, Equatable {
        public var state: String
    }

    public var id: String
    public var status: Status
    public var updatedAt: String
    public var comment: String
    public var createdBy: String
    public var endsAt: String
    public var matchers: [MatcherView]
    public var startsAt: String

    public init(_ s: Silence, now: Timestamp) {
        id = s.idText
        status = Status(state: s.state(at: now).rawValue)
        updatedAt = s.updatedAt.rfc3339
        comment = s.comment
        createdBy = s.createdBy
        endsAt = s.endsAt.rfc3339
        matchers = s.matchers.matchers.map(MatcherView.init)
        startsAt = s.startsAt.rfc3339
    }
}

/// A maintenance window for `vigil silences list --json` (`maintenanceWindows`).
public struct MaintenanceWindowView: Codable, Sendable, Equatable {
    public var name: String
    public var matchers: String
    public var schedule: String
    public var timeZone: String
    public var open: Bool

    public init(_ w: MaintenanceWindow, now: Timestamp) {
        name = w.name
        matchers = w.matchers.description
        switch w.schedule {
        case .weekly(let s):
            let names = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
            func hhmm(_ m: Int) -> String { String(format: "%02d:%02d", m / 60, m % 60) }
            schedule = "weekly " + s.days.sorted().map { names[$0] }.joined(separator: ",") + " \(hhmm(s.start))-\(hhmm(s.end))"
        case .cron(let c, let d):
            schedule = "cron \"\(c)\" for \(DurationText.format(d))"
        }
        timeZone = w.timeZone.identifier == "GMT" ? "UTC" : w.timeZone.identifier
        open = w.isOpen(at: now)
    }
}
