import VigilCore

/// One past incident of a rule with the samples the daemon recorded around it.
public struct IncidentSamples: Sendable, Hashable {
    public var id: String
    public var title: String
    /// The incident's state (`resolved`, `closed`, `mobilised`…).
    public var state: String
    /// Why it was dismissed as a false positive; nil for a real incident.
    public var falsePositive: String?
    /// Whether the incident is finished (resolved, post-mortem or closed, dismissed included):
    /// only finished incidents are judged.
    public var finished: Bool
    /// When the recording stops (the condition cleared); nil to stop at the last sample.
    public var end: Timestamp?
    /// Some samples were not kept (the per-incident bound).
    public var truncated: Bool
    /// In time order.
    public var samples: [ReplaySample]

    public init(id: String, title: String, state: String, falsePositive: String?, finished: Bool, end: Timestamp? = nil,
                truncated: Bool = false, samples: [ReplaySample]) {
        self.id = id
        self.title = title
        self.state = state
        self.falsePositive = falsePositive
        self.finished = finished
        self.end = end
        self.truncated = truncated
        self.samples = samples
    }

    public var isFalsePositive: Bool { falsePositive != nil }
}

/// A changed rule and what replaying the recorded samples of every judged incident through it shows.
public struct RuleCandidate: Sendable, Hashable {
    /// What changed, for people: `threshold 90% → 97%`, `for 5 minutes → 10 minutes`.
    public var change: String
    public var rule: Rule
    /// False positives it would not have raised.
    public var avoided: [String]
    /// False positives it would still have raised.
    public var stillRaised: [String]
    /// Real incidents it still catches.
    public var caught: [String]
    /// Real incidents it would have missed.
    public var missed: [String]

    /// The rule's text with the change, ready to paste.
    public var text: String { rule.expression.description }
}

/// What `vigil rules suggest` reports for one rule.
public struct RuleSuggestionReport: Sendable, Hashable {
    public var rule: Rule
    /// Finished incidents whose recorded samples make the current rule fire again on replay.
    public var falsePositives: [String]
    public var real: [String]
    /// Incidents left out, with why (`no recorded samples`, `still open`, `the current rule does
    /// not fire on its recorded samples`).
    public var notJudged: [String: String]
    /// Best first: those that miss no real incident, then the most false positives avoided, then the smallest change.
    public var candidates: [RuleCandidate]
}

/// Proposes threshold and `for`/window changes to a rule from its incident history, and judges
/// each by replaying the samples recorded around every incident (``RuleReplay``).
///
/// Raising a `>` threshold (lowering a `<` one), lengthening `for` and shortening a count window
/// can only make a rule fire less, so for each false positive the smallest such move that avoids
/// it is found by bisection over the values its samples hold (or a ladder of durations); each
/// distinct move is then replayed over every judged incident.
public enum RuleSuggestion {
    /// Durations tried for `for` and for windows.
    public static let durationLadder: [Int64] = [10, 15, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 2700, 3600, 7200]
        .map { $0 * 1_000_000_000 }
    /// At most this many candidates of each kind.
    public static let maximumCandidates = 8

    public static func suggest(rule: Rule, in set: RuleSet, incidents: [IncidentSamples]) -> RuleSuggestionReport {
        var notJudged: [String: String] = [:]
        var judged: [IncidentSamples] = []
        for i in incidents {
            if i.samples.isEmpty { notJudged[i.id] = "no recorded samples"; continue }
            if !i.finished { notJudged[i.id] = "still open (\(i.state))"; continue }
            if !fires(rule, set: set, on: i) {
                notJudged[i.id] = "the current rule does not fire on its recorded samples"
                continue
            }
            judged.append(i)
        }
        let fps = judged.filter(\.isFalsePositive)
        var report = RuleSuggestionReport(rule: rule, falsePositives: fps.map(\.id),
                                          real: judged.filter { !$0.isFalsePositive }.map(\.id), notJudged: notJudged,
                                          candidates: [])
        guard !fps.isEmpty, let condition = rule.expression.condition else { return report }
        var changes: [(change: String, rule: Rule)] = []
        for t in thresholdMoves(rule, condition: condition, set: set, falsePositives: fps) {
            var r = rule
            r.expression.condition?.threshold = t
            changes.append(("threshold \(thresholdText(condition.threshold, condition)) → \(thresholdText(t, condition))", r))
        }
        for d in timingMoves(rule, condition: condition, set: set, falsePositives: fps) { changes.append(d) }
        var seen = Set<String>()
        report.candidates = changes.filter { seen.insert($0.rule.expression.description).inserted }.map {
            evaluate($0.rule, change: $0.change, set: set, incidents: judged)
        }
        report.candidates = report.candidates.enumerated().sorted { a, b in
            let (x, y) = (a.element, b.element)
            if x.missed.isEmpty != y.missed.isEmpty { return x.missed.isEmpty }
            if x.avoided.count != y.avoided.count { return x.avoided.count > y.avoided.count }
            if x.missed.count != y.missed.count { return x.missed.count < y.missed.count }
            return a.offset < b.offset
        }.map(\.element)
        return report
    }

    /// Replays every incident through `rule` and sorts them into avoided, still raised, caught and missed.
    public static func evaluate(_ rule: Rule, change: String, set: RuleSet, incidents: [IncidentSamples]) -> RuleCandidate {
        var c = RuleCandidate(change: change, rule: rule, avoided: [], stillRaised: [], caught: [], missed: [])
        for i in incidents {
            let fired = fires(rule, set: set, on: i)
            switch (i.isFalsePositive, fired) {
            case (true, true): c.stillRaised.append(i.id)
            case (true, false): c.avoided.append(i.id)
            case (false, true): c.caught.append(i.id)
            case (false, false): c.missed.append(i.id)
            }
        }
        return c
    }

    /// Whether `rule` fires on the incident's recorded samples (replayed on their own clock to its end).
    public static func fires(_ rule: Rule, set: RuleSet, on incident: IncidentSamples) -> Bool {
        let rules = RuleSet(rules: [rule], consistently: set.consistently, staleAfter: set.staleAfter)
        var replay = RuleReplay(rules: rules)
        for s in incident.samples where replay.feed(s).contains(where: { $0.kind == .firing }) { return true }
        let end = max(incident.end ?? replay.lastTime ?? Timestamp(nanoseconds: 0), replay.lastTime ?? Timestamp(nanoseconds: 0))
        return replay.finish(at: end).contains { $0.kind == .firing }
    }

    // MARK: Thresholds

    /// Whether raising the threshold (true) or lowering it makes the rule fire less; nil when neither does.
    static func raises(_ c: Condition, kind: RuleKind) -> Bool? {
        switch c.comparator {
        case .greater, .greaterOrEqual: return true
        case .less, .lessOrEqual: return false
        case .equal, .notEqual: return nil
        }
    }

    static func thresholdMoves(_ rule: Rule, condition c: Condition, set: RuleSet, falsePositives: [IncidentSamples]) -> [Double] {
        let kind = rule.expression.kind
        guard kind != .occurrence, let up = raises(c, kind: kind) else { return [] }
        if kind == .sumWindow && !up { return [] }
        let params = RuleParams(rule.expression, set: set)
        var found: [Double] = []
        for fp in falsePositives {
            // What the rule compares: converted sample values (threshold rules) or window sums/ratios.
            let values = fp.samples.compactMap { s -> Double? in
                guard s.kind == .metric || kind == .sumWindow else { return nil }
                guard let f = params.factor(for: EventUnit(s.unit)) else { return nil }
                return (s.kind == .signal ? 1 : s.value) * f
            }.filter(\.isFinite)
            guard !values.isEmpty else { continue }
            let avoids = { (t: Double) -> Bool in
                var r = rule
                r.expression.condition?.threshold = t
                return !fires(r, set: set, on: fp)
            }
            switch kind {
            case .threshold:
                // The exact values the samples hold: the smallest move past them.
                var ladder = Array(Set(values.map { step(past: $0, c.comparator) }))
                    .filter { up ? $0 > c.threshold : $0 < c.threshold }
                ladder.sort(by: up ? (<) : (>))
                if let t = firstTrue(ladder, avoids) { found.append(t) }
            case .sumWindow, .ratioWindow:
                // Clamped: samples near the largest Double would sum to infinity.
                let top = kind == .ratioWindow ? 100 : min(values.reduce(0) { $0 + max(0, $1) }, .greatestFiniteMagnitude)
                guard up, top > c.threshold else { continue }
                let integral = values.allSatisfy { $0 == $0.rounded() }
                var lo = c.threshold, hi = top
                guard avoids(hi) else { continue }
                for _ in 0..<40 where hi - lo > (integral ? 1 : max(1e-6, abs(hi) * 1e-4)) {
                    let mid = integral ? ((lo + hi) / 2).rounded(.down) : (lo + hi) / 2
                    if mid <= lo || mid >= hi { break }
                    if avoids(mid) { hi = mid } else { lo = mid }
                }
                let nice = integral ? hi : roundUp(hi)
                found.append(avoids(nice) ? nice : hi)
            case .occurrence:
                break
            }
        }
        // A threshold that is not a finite number would never fire and would not print as a rule.
        return Array(Set(found.filter(\.isFinite))).sorted(by: up ? (<) : (>)).prefix(maximumCandidates).map { $0 }
    }

    /// The threshold just past `v`: `v` itself for a strict comparison, the next round value for an inclusive one.
    static func step(past v: Double, _ comparator: Comparator) -> Double {
        switch comparator {
        case .greater, .less: return v
        case .greaterOrEqual:
            let s = roundUp(v.nextUp)
            return s > v ? s : v.nextUp
        case .lessOrEqual:
            let s = -roundUp(-v.nextDown)
            return s < v ? s : v.nextDown
        case .equal, .notEqual: return v
        }
    }

    /// `v` rounded up to three significant digits.
    static func roundUp(_ v: Double) -> Double {
        guard v != 0, v.isFinite else { return v }
        var scale = 1.0
        let digits = Int((abs(v)).log10Floor) - 2
        if digits > 0 { for _ in 0..<digits { scale *= 10 } } else { for _ in 0..<(-digits) { scale /= 10 } }
        // Subnormal or huge values: scaling would underflow to 0 or overflow; keep the value.
        guard scale.isNormal else { return v }
        let rounded = (v / scale).rounded(.up) * scale
        return rounded.isFinite ? rounded : v
    }

    static func thresholdText(_ t: Double, _ c: Condition) -> String {
        var out = NumberText.format(t)
        if let unit = c.unit { out += (unit.isSymbol ? "" : " ") + unit.spelling(for: t) }
        return out
    }

    // MARK: Timing

    static func timingMoves(_ rule: Rule, condition c: Condition, set: RuleSet,
                            falsePositives: [IncidentSamples]) -> [(change: String, rule: Rule)] {
        let kind = rule.expression.kind
        let current: Int64
        let longer: Bool
        switch (kind, c.timing) {
        case (.threshold, .instant): current = 0; longer = true
        case (.threshold, .holdsFor(let d)): current = d.nanoseconds; longer = true
        case (.threshold, .consistently): current = set.consistently.nanoseconds; longer = true
        case (.sumWindow, .window(let d)):
            current = d.nanoseconds
            guard let up = raises(c, kind: kind) else { return [] }
            longer = !up
        default: return []
        }
        var ladder = durationLadder.filter { longer ? $0 > current : $0 < current }
        if !longer { ladder.reverse() }
        func changed(_ d: Int64) -> Rule {
            var r = rule
            r.expression.condition?.timing = kind == .threshold ? .holdsFor(.nanoseconds(d)) : .window(.nanoseconds(d))
            return r
        }
        var found = Set<Int64>()
        for fp in falsePositives {
            if let d = firstTrue(ladder, { !fires(changed($0), set: set, on: fp) }) { found.insert(d) }
        }
        let word = kind == .threshold ? "for" : "in"
        let was = current == 0 ? "no for" : "\(word) \(DurationText.format(.nanoseconds(current)))"
        return found.sorted(by: longer ? (<) : (>)).prefix(maximumCandidates).map {
            ("\(was) → \(word) \(DurationText.format(.nanoseconds($0)))", changed($0))
        }
    }

    /// The first element of `items` for which the monotone `test` holds (false…false true…true), by bisection.
    static func firstTrue<T>(_ items: [T], _ test: (T) -> Bool) -> T? {
        var lo = 0, hi = items.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if test(items[mid]) { hi = mid } else { lo = mid + 1 }
        }
        return lo < items.count ? items[lo] : nil
    }
}

extension Double {
    /// ⌊log10 |self|⌋ without Foundation.
    var log10Floor: Double {
        var v = abs(self), n = 0.0
        guard v.isFinite, v > 0 else { return 0 }
        while v >= 10 { v /= 10; n += 1 }
        while v < 1 { v *= 10; n -= 1 }
        return n
    }
}
