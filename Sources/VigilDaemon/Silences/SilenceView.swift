import Foundation
import VigilControl
import VigilCore
import VigilMatchers
import VigilSilences

extension SilenceView.MatcherView {
    public init(_ m: LabelMatcher) {
        self.init(isEqual: m.type.isEqual, isRegex: m.type.isRegex, name: m.name, value: m.value)
    }
}

extension SilenceView {
    public init(_ s: Silence, now: Timestamp) {
        self.init(id: s.idText, status: Status(state: s.state(at: now).rawValue), updatedAt: s.updatedAt.rfc3339,
                  comment: s.comment, createdBy: s.createdBy, endsAt: s.endsAt.rfc3339,
                  matchers: s.matchers.matchers.map(MatcherView.init), startsAt: s.startsAt.rfc3339)
    }
}

extension MaintenanceWindowView {
    public init(_ w: MaintenanceWindow, now: Timestamp) {
        let schedule: String
        switch w.schedule {
        case .weekly(let s):
            let names = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
            func hhmm(_ m: Int) -> String { String(format: "%02d:%02d", m / 60, m % 60) }
            schedule = "weekly " + s.days.sorted().map { names[$0] }.joined(separator: ",") + " \(hhmm(s.start))-\(hhmm(s.end))"
        case .cron(let c, let d):
            schedule = "cron \"\(c)\" for \(DurationText.format(d))"
        }
        self.init(name: w.name, matchers: w.matchers.description, schedule: schedule,
                  timeZone: w.timeZone.identifier == "GMT" ? "UTC" : w.timeZone.identifier, open: w.isOpen(at: now))
    }
}
