import VigilControl
import VigilCore
import VigilStore

/// Builds `report.metrics` (``MetricsReportView``) in one pass over the response times of the
/// incidents opened in a period and the automated containment actions requested in it.
struct MetricsReport {
    enum Grouping: String, CaseIterable {
        case severity, type, component, rule, plugin
    }

    let ladder: SeverityLadder
    let targets: [ResponseTarget]
    let grouping: Grouping
    let from: Timestamp
    let until: Timestamp
    let now: Timestamp

    static let none = "(none)"
    /// Groups past the largest `maximumGroups - 1` are summed as one.
    static let other = "(other)"
    static let maximumGroups = 100
    static let noisiest = 10
    static let listedMisses = 50

    func view(times: [IncidentResponseTimes], outcomes: [ContainmentOutcome], severity: String?, type: String?,
              component: String?) -> MetricsReportView {
        var groups: [String: Accumulator] = [:]
        var total = Accumulator()
        var rules: [String: Noise] = [:]
        var senders: [String: Noise] = [:]
        for t in times {
            total.add(t, now: now)
            for key in keys(t) { groups[key, default: Accumulator()].add(t, now: now) }
            rules[t.source, default: Noise()].add(t)
            if let sender = Self.sender(t) { senders[sender, default: Noise()].add(t) }
        }
        var keys = groups.keys.sorted { a, b in
            let (ca, cb) = (groups[a]?.count ?? 0, groups[b]?.count ?? 0)
            if ca != cb { return ca > cb }
            if (a == Self.none) != (b == Self.none) { return b == Self.none }
            return a < b
        }
        if grouping == .severity {
            // Every level of the active ladder, most severe first, then any other code met.
            let codes = ladder.levels.map(\.code)
            keys = codes + keys.filter { !codes.contains($0) }
        } else if keys.count > Self.maximumGroups {
            // Keys come from senders' labels: the largest groups are listed, the rest summed.
            let kept = Set(keys.prefix(Self.maximumGroups - 1))
            var other = Accumulator()
            for t in times where self.keys(t).contains(where: { !kept.contains($0) }) { other.add(t, now: now) }
            keys = Array(keys.prefix(Self.maximumGroups - 1)) + [Self.other]
            groups[Self.other] = other
        }
        return MetricsReportView(
            from: from.rfc3339, until: until.rfc3339, by: grouping.rawValue, severity: severity, type: type,
            component: component,
            groups: keys.map { key in
                (groups[key] ?? Accumulator()).view(key: key, name: grouping == .severity ? ladder.level(named: key)?.name : nil)
            },
            total: total.view(key: "all", name: nil),
            targets: targets.map { check($0, times) },
            containment: Self.containment(outcomes),
            noisiestRules: Self.ranked(rules), noisiestPlugins: Self.ranked(senders),
            falsePositives: total.falsePositives)
    }

    /// The groups one incident counts in: one, except by component, where it counts in each.
    func keys(_ t: IncidentResponseTimes) -> [String] {
        switch grouping {
        case .severity: [t.severity]
        case .type: [t.type ?? Self.none]
        case .component: t.components.isEmpty ? [Self.none] : t.components
        case .rule: [t.source]
        case .plugin: [Self.sender(t) ?? Self.none]
        }
    }

    /// Who sent what opened it: the series' sender from its labels, else a plugin that opened it
    /// itself (a plugin failure the daemon reported carries the plugin as its source).
    static func sender(_ t: IncidentResponseTimes) -> String? {
        if let s = t.sender, !s.isEmpty { return s }
        return t.source.hasPrefix("plugin:") ? t.source : nil
    }

    /// Seconds from detection to `phase`, nil when the incident has not reached it.
    static func seconds(_ t: IncidentResponseTimes, _ phase: ResponseTarget.Phase) -> Double? {
        let moment: Timestamp? = switch phase {
        case .detect: t.createdAt
        case .acknowledge: t.acknowledgedAt
        case .contain: t.containedAt
        case .resolve: t.resolvedAt
        }
        // In floating point: stored times are whatever a sender said, and must not wrap.
        return moment.map { (Double($0.nanoseconds) - Double(t.detectedAt.nanoseconds)) / 1e9 }
    }

    func check(_ target: ResponseTarget, _ times: [IncidentResponseTimes]) -> MetricsReportView.Target {
        let codes = target.codes(on: ladder)
        let limit = target.below.inSeconds
        var values: [Double] = []
        var misses: [MetricsReportView.Miss] = []
        for t in times where codes.contains(t.severity) {
            guard let v = Self.seconds(t, target.phase) else { continue }
            values.append(v)
            if v >= limit {
                misses.append(.init(id: t.id, severity: t.severity, seconds: Self.ms(v), detectedAt: t.detectedAt.rfc3339))
            }
        }
        misses.sort { $0.seconds != $1.seconds ? $0.seconds > $1.seconds : $0.id < $1.id }
        let value = Self.stats(values).value(target.statistic.rawValue)
        return .init(name: target.name, phase: target.phase.rawValue, statistic: target.statistic.rawValue,
                     belowSeconds: Self.ms(limit), severities: codes, count: values.count, value: value,
                     met: value.map { $0 < limit }, missCount: misses.count, misses: Array(misses.prefix(Self.listedMisses)))
    }

    static func containment(_ outcomes: [ContainmentOutcome]) -> MetricsReportView.Containment {
        var counts: [String: Int] = [:]
        for o in outcomes { counts[o.state, default: 0] += 1 }
        let succeeded = (counts[ActionState.succeeded.rawValue] ?? 0) + (counts[ActionState.undone.rawValue] ?? 0)
        let attempted = succeeded + (counts[ActionState.failed.rawValue] ?? 0) + (counts[ActionState.unavailable.rawValue] ?? 0)
        let order = ActionState.allCases.map(\.rawValue)
        let list = counts.map { ResponseReportView.OutcomeCount(outcome: $0.key, count: $0.value) }.sorted { a, b in
            let (ia, ib) = (order.firstIndex(of: a.outcome) ?? order.count, order.firstIndex(of: b.outcome) ?? order.count)
            return ia != ib ? ia < ib : a.outcome < b.outcome
        }
        return .init(requested: outcomes.count, attempted: attempted, succeeded: succeeded,
                     successRate: attempted == 0 ? nil : Double(succeeded) / Double(attempted), outcomes: list)
    }

    static func ranked(_ noise: [String: Noise]) -> [MetricsReportView.Noise] {
        noise.sorted { a, b in
            if a.value.incidents != b.value.incidents { return a.value.incidents > b.value.incidents }
            if a.value.occurrences != b.value.occurrences { return a.value.occurrences > b.value.occurrences }
            return a.key < b.key
        }.prefix(noisiest).map {
            .init(key: $0.key, incidents: $0.value.incidents, occurrences: $0.value.occurrences,
                  falsePositives: $0.value.falsePositives)
        }
    }

    /// Count, mean, nearest-rank p50/p90/p99 and the maximum, to the millisecond.
    static func stats(_ values: [Double]) -> MetricsReportView.Stats {
        guard !values.isEmpty else { return .init(count: 0) }
        let sorted = values.sorted()
        func rank(_ p: Double) -> Double {
            let k = Int((p * Double(sorted.count)).rounded(.up)) - 1
            return sorted[min(max(k, 0), sorted.count - 1)]
        }
        return .init(count: sorted.count, mean: ms(sorted.reduce(0, +) / Double(sorted.count)), p50: ms(rank(0.5)),
                     p90: ms(rank(0.9)), p99: ms(rank(0.99)), max: ms(sorted[sorted.count - 1]))
    }

    static func ms(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }

    struct Noise {
        var incidents = 0
        var occurrences = 0
        var falsePositives = 0

        mutating func add(_ t: IncidentResponseTimes) {
            incidents += 1
            occurrences += max(t.occurrences, 1)
            if t.falsePositive { falsePositives += 1 }
        }
    }

    struct Accumulator {
        var count = 0
        var occurrences = 0
        var detect: [Double] = []
        var acknowledge: [Double] = []
        var contain: [Double] = []
        var resolve: [Double] = []
        var met = 0
        var breached = 0
        var running = 0
        var falsePositives = 0

        mutating func add(_ t: IncidentResponseTimes, now: Timestamp) {
            count += 1
            occurrences += max(t.occurrences, 1)
            if t.falsePositive { falsePositives += 1 }
            if let v = MetricsReport.seconds(t, .detect) { detect.append(v) }
            if let v = MetricsReport.seconds(t, .acknowledge) { acknowledge.append(v) }
            if let v = MetricsReport.seconds(t, .contain) { contain.append(v) }
            if let v = MetricsReport.seconds(t, .resolve) { resolve.append(v) }
            switch ResponseReport.slaOutcome(t, now: now) {
            case .met?: met += 1
            case .breached?: breached += 1
            case .running?: running += 1
            case nil: break
            }
        }

        func view(key: String, name: String?) -> MetricsReportView.Group {
            .init(key: key, name: name, count: count, occurrences: occurrences, detect: MetricsReport.stats(detect),
                  acknowledge: MetricsReport.stats(acknowledge), contain: MetricsReport.stats(contain),
                  resolve: MetricsReport.stats(resolve),
                  sla: .init(met: met, breached: breached, running: running,
                             adherence: met + breached == 0 ? nil : Double(met) / Double(met + breached)),
                  falsePositives: falsePositives)
        }
    }
}
