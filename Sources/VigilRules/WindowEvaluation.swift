import VigilCore

struct WindowEntry: Sendable {
    var time: Int64
    /// A count (1 per signal), a sample's value, or for ratio rules the failed share in percent.
    var weight: Double
    /// How many events the entry holds (attempts, for ratio rules).
    var events: Int32
}

/// One group of one window rule: the events inside the window, oldest first.
struct WindowState: Sendable {
    enum Phase: UInt8, Sendable {
        case inactive
        case firing
        case keepFiring
        case free
    }

    var rule: Int32
    var group: Int32
    var entries: [WindowEntry] = []
    var head = 0
    var sum: Double = 0
    var events = 0
    var phase: Phase = .inactive
    var firstSeen: Int64
    /// For rules that judge absence: true once the group has been watched for a whole window.
    var judging = false
    var firstHeld: Int64 = 0
    var stoppedAt: Int64 = 0
    var updated: Int64
    var heapDue: Int64 = .max
    var value: Double = 0

    var alive: Bool { phase != .free }
    var isEmpty: Bool { head == entries.count }
}

/// Window rules: `name > 5 in 1 minute` (a sum) and `name > 10% in 5 minutes` (a ratio).
///
/// At time T the window holds the events with T − window < time ≤ T. The condition is judged when an
/// event arrives (after what left the window by then is removed) and when an event leaves it.
extension RuleEngine {
    /// Most entries one window keeps before merging its oldest two (the merged entry keeps the later
    /// time, so it can only count for longer, never be missed).
    public static let maximumWindowEntries = 65_536

    mutating func windowEvent(rule r: Int, group: Int32, weight: Double, at time: Int64, into out: inout [RuleSignal]) {
        var i = Int(groups[Int(group)].window)
        var t = time
        if i >= 0 {
            t = max(t, windows[i].updated)
            advanceWindow(i, to: t, inclusive: false, into: &out)
            if !windows[i].alive { i = -1 }
        }
        if i < 0 { i = newWindow(rule: r, group: group, at: t) }
        let window = rules[r].window
        evict(i, upTo: t &- window)
        append(i, WindowEntry(time: t, weight: weight, events: 1))
        windows[i].updated = t
        if rules[r].judgesAbsence, t >= windows[i].firstSeen &+ window { windows[i].judging = true }
        judge(i, at: t, into: &out)
        advanceWindow(i, to: t, inclusive: true, into: &out)
        if windows[i].alive { scheduleWindow(i) }
    }

    mutating func newWindow(rule r: Int, group: Int32, at t: Int64) -> Int {
        let state = WindowState(rule: Int32(r), group: group, firstSeen: t, updated: t)
        let i: Int
        if let reuse = freeWindows.popLast() {
            i = Int(reuse)
            windows[i] = state
        } else {
            i = windows.count
            windows.append(state)
        }
        groups[Int(group)].window = Int32(i)
        return i
    }

    mutating func append(_ i: Int, _ entry: WindowEntry) {
        windows[i].sum += entry.weight
        windows[i].events += Int(entry.events)
        if let last = windows[i].entries.last, !windows[i].isEmpty, last.time == entry.time {
            windows[i].entries[windows[i].entries.count - 1].weight += entry.weight
            windows[i].entries[windows[i].entries.count - 1].events += entry.events
            return
        }
        windows[i].entries.append(entry)
        if windows[i].entries.count - windows[i].head > Self.maximumWindowEntries {
            let h = windows[i].head
            windows[i].entries[h + 1].weight += windows[i].entries[h].weight
            windows[i].entries[h + 1].events += windows[i].entries[h].events
            windows[i].head += 1
            statistics.windowMerges += 1
        }
    }

    /// Removes the entries at or before `cutoff`.
    mutating func evict(_ i: Int, upTo cutoff: Int64) {
        var h = windows[i].head
        let n = windows[i].entries.count
        guard h < n, windows[i].entries[h].time <= cutoff else { return }
        while h < n, windows[i].entries[h].time <= cutoff {
            windows[i].sum -= windows[i].entries[h].weight
            windows[i].events -= Int(windows[i].entries[h].events)
            h += 1
        }
        if h == n {
            // Empty: start again from exact zeros so rounding never accumulates across episodes.
            windows[i].entries.removeAll(keepingCapacity: true)
            windows[i].head = 0
            windows[i].sum = 0
            windows[i].events = 0
        } else if h > 1024, h * 2 > n {
            windows[i].entries.removeFirst(h)
            windows[i].head = 0
        } else {
            windows[i].head = h
        }
    }

    /// The next time the window changes without an event: its oldest entry leaving, judging starting,
    /// or `keep_firing_for` running out.
    func windowDue(_ i: Int) -> Int64 {
        let w = windows[i]
        guard w.alive else { return .max }
        let rule = rules[Int(w.rule)]
        var due = Int64.max
        if !w.isEmpty { due = w.entries[w.head].time &+ rule.window }
        if rule.judgesAbsence, !w.judging { due = min(due, w.firstSeen &+ rule.window) }
        if w.phase == .keepFiring { due = min(due, w.stoppedAt &+ rule.keepFiringFor) }
        return due
    }

    mutating func advanceWindow(_ i: Int, to limit: Int64, inclusive: Bool, into out: inout [RuleSignal]) {
        while windows[i].alive {
            let due = windowDue(i)
            guard due < limit || (inclusive && due == limit) else { break }
            let rule = rules[Int(windows[i].rule)]
            windows[i].updated = max(windows[i].updated, due)
            evict(i, upTo: due &- rule.window)
            if rule.judgesAbsence, due >= windows[i].firstSeen &+ rule.window { windows[i].judging = true }
            judge(i, at: due, into: &out)
            if windows[i].phase == .inactive, windows[i].isEmpty { freeWindow(i) }
        }
    }

    /// Compares the window's sum or ratio with the threshold at time `t` and moves the phase.
    mutating func judge(_ i: Int, at t: Int64, into out: inout [RuleSignal]) {
        let r = Int(windows[i].rule)
        let rule = rules[r]
        var value: Double?
        if rule.kind == .ratioWindow {
            value = windows[i].events > 0 ? windows[i].sum / Double(windows[i].events) : nil
        } else {
            value = windows[i].sum
        }
        let judged = !rule.judgesAbsence || windows[i].judging
        let holds = judged && value.map { rule.comparator.holds($0, rule.threshold) } == true
        windows[i].value = value ?? 0
        let g = windows[i].group
        switch windows[i].phase {
        case .inactive:
            guard holds else { return }
            windows[i].phase = .firing
            windows[i].firstHeld = t
            let labels = groups[Int(g)].labels
            out.append(signal(.firing, rule: r, labels: labels, group: g, value: windows[i].value, firstHeld: t, at: t))
            record(.firing, rule: r, subject: .labels(labels), value: windows[i].value, firstHeld: t, at: t)
        case .firing:
            guard !holds else { return }
            if rule.keepFiringFor > 0 {
                windows[i].phase = .keepFiring
                windows[i].stoppedAt = t
            } else {
                resolveWindow(i, at: t, cause: .condition, into: &out)
            }
        case .keepFiring:
            if holds {
                windows[i].phase = .firing
            } else if t >= windows[i].stoppedAt &+ rule.keepFiringFor {
                resolveWindow(i, at: t, cause: .keepFiringExpired, into: &out)
            }
        case .free:
            break
        }
    }

    mutating func resolveWindow(_ i: Int, at t: Int64, cause: RuleTransition.Cause, into out: inout [RuleSignal]) {
        let r = Int(windows[i].rule)
        let g = windows[i].group
        let labels = groups[Int(g)].labels
        windows[i].phase = .inactive
        out.append(signal(.resolved, rule: r, labels: labels, group: g, value: windows[i].value,
                          firstHeld: windows[i].firstHeld, at: t))
        record(.resolved, rule: r, subject: .labels(labels), value: windows[i].value, firstHeld: windows[i].firstHeld, at: t,
               cause: cause)
    }

    mutating func freeWindow(_ i: Int) {
        groups[Int(windows[i].group)].window = -1
        windows[i].phase = .free
        windows[i].entries = []
        windows[i].head = 0
        windows[i].heapDue = .max
        freeWindows.append(Int32(i))
    }

    mutating func scheduleWindow(_ i: Int) {
        if windows[i].phase == .inactive, windows[i].isEmpty {
            freeWindow(i)
            return
        }
        let due = windowDue(i)
        guard due != .max, due < windows[i].heapDue else { return }
        windows[i].heapDue = due
        heap.push(due, .window(Int32(i)))
    }
}
