import Foundation
import VigilCore
import VigilMatchers
import VigilSilences

/// `maintenance_windows:` — recurring windows that act as silences while open:
///
/// ```yaml
/// maintenance_windows:
///   - name: nightly-backup
///     matchers: ['component="db"', 'severity=~"P[23]"']   # or one string: '{component="db"}'
///     weekly: {days: [mon, tue, wed, thu, fri], start: "02:00", end: "03:30"}
///     time_zone: Europe/Berlin                             # default UTC
///   - name: patch-sunday
///     matchers: ['plugin="disk-watch"']
///     cron: "0 4 * * sun"
///     duration: 2 hours
/// ```
enum MaintenanceWindowLoader {
    static let keys = ["name", "matchers", "weekly", "cron", "duration", "time_zone", "comment"]

    static func load(_ node: YAMLNode) -> [MaintenanceWindow] {
        guard let items = node.sequence("maintenance_windows") else { return [] }
        var out: [MaintenanceWindow] = []
        var names = Set<String>()
        for item in items {
            guard let f = item.fields("maintenance window", allowed: keys),
                  let nameNode = f.required("name"), let name = nameNode.string("name"),
                  let matcherNode = f.required("matchers") else { continue }
            guard names.insert(name).inserted else {
                item.diagnostics.add(.invalidValue(nameNode.location, key: "name", found: name,
                                                   expected: "a name no other maintenance window has"))
                continue
            }
            guard let matchers = loadMatchers(matcherNode) else { continue }
            var zone = TimeZone(identifier: "UTC") ?? .current
            if let z = f["time_zone"], let text = z.string("time_zone") {
                guard let found = TimeZone(identifier: text) else {
                    item.diagnostics.add(.invalidValue(z.location, key: "time_zone", found: text,
                                                       expected: "an IANA time zone like Europe/Berlin or UTC"))
                    continue
                }
                zone = found
            }
            let schedule: MaintenanceWindow.Schedule
            switch (f["weekly"], f["cron"]) {
            case (let w?, nil):
                guard let weekly = loadWeekly(w) else { continue }
                if let d = f["duration"] {
                    item.diagnostics.add(.invalidValue(d.location, key: "duration", found: d.scalar ?? "…",
                                                       expected: "no duration with weekly (its end time says when it closes)"))
                    continue
                }
                schedule = .weekly(weekly)
            case (nil, let c?):
                guard let text = c.string("cron") else { continue }
                let cron: CronSchedule
                do { cron = try CronSchedule(parsing: text) } catch {
                    item.diagnostics.add(.invalidValue(c.location, key: "cron", found: text, expected: error.message))
                    continue
                }
                guard let dNode = f.required("duration"), let d = dNode.duration("duration") else { continue }
                guard d > .zero, d <= MaintenanceWindow.maxCronDuration else {
                    item.diagnostics.add(.invalidValue(dNode.location, key: "duration", found: dNode.scalar ?? "",
                                                       expected: "longer than 0 and at most 7 days"))
                    continue
                }
                schedule = .cron(cron, duration: d)
            case (nil, nil):
                item.diagnostics.add(.missingKey(item.location, key: "weekly or cron"))
                continue
            case (_?, let c?):
                item.diagnostics.add(.invalidValue(c.location, key: "cron", found: c.scalar ?? "",
                                                   expected: "either weekly or cron, not both"))
                continue
            }
            out.append(MaintenanceWindow(name: name, matchers: matchers, schedule: schedule, timeZone: zone,
                                         comment: f["comment"]?.string("comment") ?? ""))
        }
        return out
    }

    /// A list of matcher strings or one `{…}` string; at least one matcher must not match the
    /// empty label (as for silences), or the window would mute everything.
    static func loadMatchers(_ node: YAMLNode) -> LabelMatchers? {
        var list: [LabelMatcher] = []
        let parts: [YAMLNode] = node.node.sequence != nil ? (node.sequence("matchers") ?? []) : [node]
        for part in parts {
            guard let text = part.string("matchers") else { return nil }
            do { list += try LabelMatchers.parse(text).matchers } catch {
                part.diagnostics.add(.invalidValue(part.location, key: "matchers", found: text,
                                                   expected: "label matchers like team=\"db\" (\(error))"))
                return nil
            }
        }
        guard !list.isEmpty, !list.allSatisfy(SilenceBook.matchesOnlyEmpty) else {
            node.diagnostics.add(.invalidValue(node.location, key: "matchers", found: node.scalar ?? "[…]",
                                               expected: "at least one matcher that does not match the empty string"))
            return nil
        }
        return LabelMatchers(list)
    }

    static func loadWeekly(_ node: YAMLNode) -> WeeklySchedule? {
        guard let f = node.fields("weekly", allowed: ["days", "start", "end"]),
              let daysNode = f.required("days"), let startNode = f.required("start"), let endNode = f.required("end"),
              let dayItems = daysNode.sequence("days") else { return nil }
        var days = Set<Int>()
        for d in dayItems {
            guard let text = d.string("days") else { return nil }
            guard let day = WeeklySchedule.weekday(text) else {
                d.diagnostics.add(.invalidValue(d.location, key: "days", found: text, expected: "a weekday like mon or monday"))
                return nil
            }
            days.insert(day)
        }
        guard !days.isEmpty else {
            daysNode.diagnostics.add(.invalidValue(daysNode.location, key: "days", found: "[]", expected: "at least one weekday"))
            return nil
        }
        func time(_ n: YAMLNode, _ key: String) -> Int? {
            guard let text = n.string(key) else { return nil }
            guard let m = WeeklySchedule.clockTime(text) else {
                n.diagnostics.add(.invalidValue(n.location, key: key, found: text, expected: "a time like \"02:30\" (00:00–24:00)"))
                return nil
            }
            return m
        }
        guard let start = time(startNode, "start"), let end = time(endNode, "end") else { return nil }
        guard start != end else {
            endNode.diagnostics.add(.invalidValue(endNode.location, key: "end", found: endNode.scalar ?? "",
                                                  expected: "a time other than the start"))
            return nil
        }
        return WeeklySchedule(days: days, start: start, end: end)
    }
}
