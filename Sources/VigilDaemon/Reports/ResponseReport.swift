import Foundation
import VigilControl
import VigilCore
import VigilStore

/// Builds `report.response` (``ResponseReportView``) in one pass over the response times of a
/// period's incidents and its automated containment outcomes.
struct ResponseReport {
    let ladder: SeverityLadder
    let now: Timestamp
    /// How many ISO weeks, the current one included.
    let weeks: Int

    static let week = Duration.seconds(7 * 86_400)
    static let day: Int64 = 86_400_000_000_000

    /// The Monday 00:00 UTC of the first week.
    var from: Timestamp { Self.weekStart(now) - .seconds(Int64(weeks - 1) * 7 * 86_400) }

    /// The Monday 00:00 UTC of the ISO week holding `t`.
    static func weekStart(_ t: Timestamp) -> Timestamp {
        let (q, r) = t.nanoseconds.quotientAndRemainder(dividingBy: day)
        let days = r < 0 ? q - 1 : q
        // 1970-01-01 was a Thursday: three days after a Monday.
        let sinceMonday = ((days + 3) % 7 + 7) % 7
        return Timestamp(nanoseconds: (days - sinceMonday) * day)
    }

    /// `2026-W10`: the ISO week-numbering year (the year of the week's Thursday) and week number.
    static func label(weekStarting monday: Timestamp) -> String {
        var seconds = time_t((monday.nanoseconds / day + 3) * 86_400)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let number = Int(parts.tm_yday) / 7 + 1
        return "\(parts.tm_year + 1900)-W\(number < 10 ? "0" : "")\(number)"
    }

    func view(times: [IncidentResponseTimes], outcomes: [ContainmentOutcome], severity: String?, type: String?,
              component: String?) -> ResponseReportView {
        let first = from
        var weekly = Array(repeating: Bucket(), count: weeks)
        var total = Bucket()
        func index(_ t: Timestamp) -> Int? {
            let i = (Self.weekStart(t).nanoseconds - first.nanoseconds) / Self.week.nanoseconds
            return i >= 0 && i < Int64(weeks) ? Int(i) : nil
        }
        for t in times {
            guard let i = index(t.createdAt) else { continue }
            weekly[i].add(t, now: now)
            total.add(t, now: now)
        }
        for o in outcomes {
            guard let i = index(o.requestedAt) else { continue }
            weekly[i].outcomes[o.state, default: 0] += 1
            total.outcomes[o.state, default: 0] += 1
        }
        let weekViews = weekly.enumerated().map { i, bucket in
            let monday = first + .seconds(Int64(i) * 7 * 86_400)
            return ResponseReportView.Week(week: Self.label(weekStarting: monday), start: monday.rfc3339,
                                           count: bucket.count, severities: severities(bucket),
                                           types: bucket.typeCounts, containment: bucket.outcomeCounts)
        }
        return ResponseReportView(
            from: first.rfc3339, until: now.rfc3339, severity: severity, type: type, component: component,
            weeks: weekViews,
            totals: .init(count: total.count, severities: severities(total), types: total.typeCounts,
                          containment: total.outcomeCounts))
    }

    /// Every level of the active ladder, then any other code met (an older ladder's), by rank.
    func severities(_ bucket: Bucket) -> [ResponseReportView.SeverityFigures] {
        var codes = ladder.levels.map(\.code)
        let others = bucket.bySeverity.filter { !codes.contains($0.key) }.sorted { ($0.value.rank, $0.key) < ($1.value.rank, $1.key) }
        codes += others.map(\.key)
        return codes.map { code in
            let f = bucket.bySeverity[code] ?? SeverityBucket(rank: 0)
            return .init(severity: code, severityName: ladder.level(of: Severity(code: code, rank: f.rank))?.name,
                         count: f.count, detect: Self.stats(f.detect), acknowledge: Self.stats(f.acknowledge),
                         contain: Self.stats(f.contain), resolve: Self.stats(f.resolve),
                         sla: .init(met: f.met, breached: f.breached, running: f.running,
                                    adherence: f.met + f.breached == 0 ? nil : Double(f.met) / Double(f.met + f.breached)))
        }
    }

    /// Count, mean, median and 90th percentile (nearest rank) of seconds, to the millisecond.
    static func stats(_ values: [Double]) -> ResponseReportView.DurationStats {
        let s = MetricsReport.stats(values)
        return .init(count: s.count, mean: s.mean, p50: s.p50, p90: s.p90)
    }

    enum SLAOutcome { case met, breached, running }

    /// Whether an incident met its acknowledgement deadline: met when acknowledged by it with no
    /// breach recorded (or resolved before it without an acknowledgement), breached when a breach
    /// was recorded or the deadline passed first, running while it may still be met; nil for a
    /// severity without a response time.
    static func slaOutcome(_ t: IncidentResponseTimes, now: Timestamp) -> SLAOutcome? {
        // A false positive was not an incident: no response was owed.
        guard let deadline = t.responseDeadline, !t.falsePositive else { return nil }
        if t.slaBreachedAt != nil { return .breached }
        if let ack = t.acknowledgedAt { return ack <= deadline ? .met : .breached }
        // Resolved without a formal acknowledgement: on time if it was over before the deadline.
        if let resolved = t.resolvedAt { return resolved <= deadline ? .met : .breached }
        return now > deadline ? .breached : .running
    }

    struct SeverityBucket {
        var rank: Int
        var count = 0
        var detect: [Double] = []
        var acknowledge: [Double] = []
        var contain: [Double] = []
        var resolve: [Double] = []
        var met = 0
        var breached = 0
        var running = 0
    }

    struct Bucket {
        var count = 0
        var bySeverity: [String: SeverityBucket] = [:]
        var types: [String?: Int] = [:]
        var outcomes: [String: Int] = [:]

        mutating func add(_ t: IncidentResponseTimes, now: Timestamp) {
            count += 1
            types[t.type, default: 0] += 1
            var s = bySeverity[t.severity] ?? SeverityBucket(rank: t.severityRank)
            s.count += 1
            func since(_ moment: Timestamp?) -> Double? { moment.map { ($0 - t.detectedAt).inSeconds } }
            if let v = since(t.createdAt) { s.detect.append(v) }
            if let v = since(t.acknowledgedAt) { s.acknowledge.append(v) }
            if let v = since(t.containedAt) { s.contain.append(v) }
            if let v = since(t.resolvedAt) { s.resolve.append(v) }
            switch ResponseReport.slaOutcome(t, now: now) {
            case .met?: s.met += 1
            case .breached?: s.breached += 1
            case .running?: s.running += 1
            case nil: break
            }
            bySeverity[t.severity] = s
        }

        /// Most frequent first, then by name (untyped last among equals).
        var typeCounts: [ResponseReportView.TypeCount] {
            types.map { ResponseReportView.TypeCount(type: $0.key, count: $0.value) }.sorted { a, b in
                if a.count != b.count { return a.count > b.count }
                return (a.type ?? "\u{10FFFF}") < (b.type ?? "\u{10FFFF}")
            }
        }

        /// In `ActionState` order; states the code does not know last, by name.
        var outcomeCounts: [ResponseReportView.OutcomeCount] {
            let order = ActionState.allCases.map(\.rawValue)
            return outcomes.map { ResponseReportView.OutcomeCount(outcome: $0.key, count: $0.value) }.sorted { a, b in
                let (ia, ib) = (order.firstIndex(of: a.outcome) ?? order.count, order.firstIndex(of: b.outcome) ?? order.count)
                return ia != ib ? ia < ib : a.outcome < b.outcome
            }
        }
    }
}
