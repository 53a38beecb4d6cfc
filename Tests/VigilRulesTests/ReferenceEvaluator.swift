import VigilCore
import VigilRules

/// A deliberately plain evaluator of the semantics in `Docs/rules.md`, written apart from the
/// engine to check it: it sees the whole recording at once, works per rule and per series (or
/// group) in nanoseconds, and recomputes windows from scratch at every instant they can change.
///
/// It needs samples of one series at distinct times (the generator guarantees that).
struct ReferenceEvaluator {
    struct Transition: Hashable, Comparable, CustomStringConvertible {
        var at: Int64
        var rule: String
        var series: String
        var kind: String
        var firstHeld: Int64

        static func < (a: Transition, b: Transition) -> Bool {
            (a.at, a.rule, a.series, a.kind, a.firstHeld) < (b.at, b.rule, b.series, b.kind, b.firstHeld)
        }
        var description: String { "\(at) \(kind) \(rule)\(series) since \(firstHeld)" }
    }

    let set: RuleSet
    let identity = Set(GroupBy.identityLabelNames)

    func labelText(_ l: [String: String]) -> String { RuleTransition.labelText(l) }

    func matches(_ rule: Rule, _ s: ReplaySample) -> Bool {
        guard s.name == rule.expression.selector.name else { return false }
        for m in rule.expression.selector.allMatchers {
            let v = s.labels[m.key] ?? (m.key == "source" ? s.source : "")
            switch m.op {
            case .equal: if v != m.value { return false }
            case .notEqual: if v == m.value { return false }
            case .matches, .notMatches:
                let whole = (try? Regex(m.value).wholeMatch(in: v)) != nil
                if whole != (m.op == .matches) { return false }
            }
        }
        return true
    }

    /// The value of a sample in the rule's unit (this reference knows only the units the test uses).
    func value(_ rule: Rule, _ s: ReplaySample) -> Double {
        let c = rule.expression.condition!
        if rule.expression.kind == .ratioWindow { return s.kind == .signal ? 100 : (s.unit == "%" ? s.value : s.value * 100) }
        if rule.expression.kind == .sumWindow, s.kind == .signal { return 1 }
        switch (c.unit, s.unit) {
        case (.percent?, "ratio"): return s.value * 100
        case (.milliseconds?, "s"): return s.value * 1000
        default: return s.value
        }
    }

    func run(_ samples: [ReplaySample]) -> [Transition] {
        var out: [Transition] = []
        for rule in set.rules {
            let mine = samples.filter { matches(rule, $0) }
            switch rule.expression.kind {
            case .occurrence:
                for s in mine where s.kind == .signal || s.value != 0 {
                    var l = s.labels
                    if !s.source.isEmpty, l["source"] == nil { l["source"] = s.source }
                    out.append(Transition(at: s.time.nanoseconds, rule: rule.id, series: labelText(l), kind: "firing",
                                          firstHeld: s.time.nanoseconds))
                }
            case .threshold:
                var bySeries: [String: [ReplaySample]] = [:]
                for s in mine {
                    var l = s.labels
                    if !s.source.isEmpty, l["source"] == nil { l["source"] = s.source }
                    bySeries[labelText(l), default: []].append(s)
                }
                for (series, list) in bySeries { out += threshold(rule, series, list) }
            case .sumWindow, .ratioWindow:
                var byGroup: [String: [ReplaySample]] = [:]
                for s in mine {
                    let g = s.labels.filter { identity.contains($0.key) && !$0.value.isEmpty }
                    byGroup[labelText(g), default: []].append(s)
                }
                for (group, list) in byGroup { out += window(rule, group, list) }
            }
        }
        return out.sorted()
    }

    /// Intervals during which the condition holds, then the transitions they imply.
    func threshold(_ rule: Rule, _ series: String, _ samples: [ReplaySample]) -> [Transition] {
        let c = rule.expression.condition!
        let hold: Int64
        switch c.timing {
        case .holdsFor(let d): hold = d.nanoseconds
        case .consistently: hold = set.consistently.nanoseconds
        default: hold = 0
        }
        let keep = c.keepFiringFor?.nanoseconds ?? 0
        let stale = set.staleAfter.nanoseconds
        // [start, end): the condition holds from a holding sample until a breaking sample or staleness.
        var intervals: [(start: Int64, end: Int64)] = []
        var open: Int64?
        for (i, s) in samples.enumerated() {
            let t = s.time.nanoseconds
            let holds = c.comparator.holds(value(rule, s), c.threshold)
            if holds, open == nil { open = t }
            if !holds, let o = open { intervals.append((o, t)); open = nil }
            // A gap longer than the staleness limit ends the interval before the next sample.
            let next = i + 1 < samples.count ? samples[i + 1].time.nanoseconds : Int64.max
            if let o = open, next - t >= stale { intervals.append((o, t + stale)); open = nil }
        }
        var out: [Transition] = []
        func emit(_ kind: String, _ at: Int64, _ since: Int64) {
            out.append(Transition(at: at, rule: rule.id, series: series, kind: kind, firstHeld: since))
        }
        var firing: (since: Int64, end: Int64)?
        for iv in intervals {
            if let f = firing {
                if iv.start <= f.end + keep {
                    firing = (f.since, iv.end) // came back while keep_firing_for ran: still firing
                    continue
                }
                emit("resolved", f.end + keep, f.since)
                firing = nil
            }
            if hold > 0 { emit("pending", iv.start, iv.start) }
            if iv.start + hold < iv.end || hold == 0 {
                emit("firing", iv.start + hold, iv.start)
                firing = (iv.start, iv.end)
            } else {
                emit("inactive", iv.end, iv.start)
            }
        }
        // The replay runs its clock past the end, so every episode's end is seen.
        if let f = firing { emit("resolved", f.end + keep, f.since) }
        return out
    }

    /// Every instant the window can change, judged by summing the window afresh.
    func window(_ rule: Rule, _ group: String, _ samples: [ReplaySample]) -> [Transition] {
        let c = rule.expression.condition!
        guard case .window(let w) = c.timing else { return [] }
        let width = w.nanoseconds
        let ratio = rule.expression.kind == .ratioWindow
        let absence = !ratio && c.comparator.holds(0, c.threshold)
        let weights = samples.map { (t: $0.time.nanoseconds, w: value(rule, $0)) }
        let firstSeen = weights[0].t
        var instants = Set(weights.map(\.t)).union(weights.map { $0.t + width })
        if absence { instants.insert(firstSeen + width) }
        var out: [Transition] = []
        var since: Int64?
        for t in instants.sorted() {
            let inside = weights.filter { $0.t > t - width && $0.t <= t }
            let value: Double? = ratio ? (inside.isEmpty ? nil : inside.reduce(0) { $0 + $1.w } / Double(inside.count))
                : inside.reduce(0) { $0 + $1.w }
            let judged = !absence || t >= firstSeen + width
            let holds = judged && value.map { c.comparator.holds($0, c.threshold) } == true
            if holds, since == nil {
                since = t
                out.append(Transition(at: t, rule: rule.id, series: group, kind: "firing", firstHeld: t))
            } else if !holds, let s = since {
                out.append(Transition(at: t, rule: rule.id, series: group, kind: "resolved", firstHeld: s))
                since = nil
            }
        }
        return out
    }
}
