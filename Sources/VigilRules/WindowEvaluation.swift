import VigilCore

struct WindowEntry: Sendable {
    var time: Int64
    /// A count (1 per signal), a sample's value, or for ratio rules the failed share in percent.
    var weight: Double
    /// How many events the entry holds (attempts, for ratio rules).
    var events: Int32
}

/// One group of one window rule. Plain values only, so reading it never touches a reference
/// count; its events live in ``RuleEngine/windowEntries`` at the same index, a ring buffer whose
/// capacity is a power of two (so memory follows the busiest the window has been, not the samples).
struct WindowState: Sendable {
    enum Phase: UInt8, Sendable {
        case inactive
        case firing
        case keepFiring
        case free
    }

    var rule: Int32
    var group: Int32
    /// Ring index of the oldest live entry.
    var head = 0
    /// How many entries are live (from `head`).
    var live = 0
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
    /// Whether an entry with a negative weight was added since the window was last empty: the sum
    /// can then rise when an entry leaves, so every departure is judged.
    var negative = false

    var alive: Bool { phase != .free }
    var isEmpty: Bool { live == 0 }
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
            // The heap entry is never later than the state's real next change, so nothing is due before t
            // unless it is.
            if windows[i].heapDue < t {
                advanceWindow(i, to: t, inclusive: false, into: &out)
                if !windows[i].alive { i = -1 }
            }
        }
        if i < 0 { i = newWindow(rule: r, group: group, at: t) }
        let window = params[r].window
        let phaseBefore = windows[i].phase
        evict(i, upTo: t &- window)
        append(i, WindowEntry(time: t, weight: weight, events: 1))
        windows[i].updated = t
        if params[r].judgesAbsence, t >= windows[i].firstSeen.plus(window) { windows[i].judging = true }
        // Everything else due at t (departures, judging starting, keep_firing_for) is part of this judgement.
        judge(i, at: t, into: &out)
        // With only growing sums, a new event can only move the next change later, so a timer
        // already set stays valid and is corrected lazily when it pops.
        if windows[i].phase == phaseBefore, windows[i].heapDue != .max, monotone(i) { return }
        scheduleWindow(i)
    }

    /// Whether only departures can change this window's condition, and only in one direction.
    @inline(__always)
    func monotone(_ i: Int) -> Bool {
        let p = params[Int(windows[i].rule)]
        guard p.kind == .sumWindow, !windows[i].negative else { return false }
        switch p.comparator {
        case .greater, .greaterOrEqual, .less, .lessOrEqual: return true
        case .equal, .notEqual: return false
        }
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
            windowEntries.append([])
        }
        groups[Int(group)].window = Int32(i)
        return i
    }

    /// The ring index of the `k`-th live entry of window `i` (0 = oldest).
    @inline(__always)
    func slot(_ i: Int, _ k: Int) -> Int { (windows[i].head &+ k) & (windowEntries[i].count &- 1) }

    mutating func append(_ i: Int, _ entry: WindowEntry) {
        windows[i].sum += entry.weight
        windows[i].events += Int(entry.events)
        if entry.weight < 0 { windows[i].negative = true }
        let live = windows[i].live
        if live > 0 {
            let newest = slot(i, live - 1)
            if windowEntries[i][newest].time == entry.time {
                windowEntries[i][newest].weight += entry.weight
                windowEntries[i][newest].events += entry.events
                return
            }
        }
        if live == Self.maximumWindowEntries {
            let h = windows[i].head
            let next = slot(i, 1)
            windowEntries[i][next].weight += windowEntries[i][h].weight
            windowEntries[i][next].events += windowEntries[i][h].events
            windows[i].head = next
            windows[i].live -= 1
            statistics.windowMerges += 1
        } else if live == windowEntries[i].count {
            grow(i)
        }
        windowEntries[i][slot(i, windows[i].live)] = entry
        windows[i].live += 1
    }

    /// Doubles the ring of window `i`, oldest entry first.
    mutating func grow(_ i: Int) {
        let old = windowEntries[i]
        let live = windows[i].live
        var ring = [WindowEntry](repeating: WindowEntry(time: 0, weight: 0, events: 0), count: max(4, old.count * 2))
        for k in 0..<live { ring[k] = old[(windows[i].head + k) & (old.count - 1)] }
        windowEntries[i] = ring
        windows[i].head = 0
    }

    /// Removes the entries at or before `cutoff`.
    mutating func evict(_ i: Int, upTo cutoff: Int64) {
        guard windows[i].live > 0, windowEntries[i][windows[i].head].time <= cutoff else { return }
        var sum = windows[i].sum
        var events = windows[i].events
        var h = windows[i].head
        var live = windows[i].live
        let mask = windowEntries[i].count - 1
        while live > 0, windowEntries[i][h].time <= cutoff {
            sum -= windowEntries[i][h].weight
            events -= Int(windowEntries[i][h].events)
            h = (h + 1) & mask
            live -= 1
        }
        windows[i].head = h
        windows[i].live = live
        if live == 0 {
            // Empty: start again from exact zeros so rounding never accumulates across episodes.
            windows[i].sum = 0
            windows[i].events = 0
            windows[i].negative = false
        } else {
            windows[i].sum = sum
            windows[i].events = events
        }
    }

    /// The next time the window changes without an event: the departure that flips its condition
    /// (or, when departures can move it either way, the next departure), judging starting,
    /// `keep_firing_for` running out, or the window emptying (so an idle group's memory is freed).
    func windowDue(_ i: Int) -> Int64 {
        guard windows[i].alive else { return .max }
        let p = params[Int(windows[i].rule)]
        var due = Int64.max
        if p.judgesAbsence, !windows[i].judging { due = min(due, windows[i].firstSeen.plus(p.window)) }
        if windows[i].phase == .keepFiring { due = min(due, windows[i].stoppedAt.plus(p.keepFiringFor)) }
        let live = windows[i].live
        guard live > 0 else { return due }
        if windows[i].phase == .inactive {
            due = min(due, windowEntries[i][slot(i, live - 1)].time.plus(p.window))
        }
        guard monotone(i) else { return min(due, windowEntries[i][windows[i].head].time.plus(p.window)) }
        // Departures only lower the sum: find the first one after which the condition flips.
        let rising = p.comparator == .less || p.comparator == .lessOrEqual
        let firing = windows[i].phase == .firing
        guard firing != rising else { return due }
        guard !rising || windows[i].judging || !p.judgesAbsence else { return due }
        var remaining = windows[i].sum
        var k = 0
        while k < live {
            let t = windowEntries[i][slot(i, k)].time
            // Entries at one instant leave together.
            while k < live, windowEntries[i][slot(i, k)].time == t {
                remaining -= windowEntries[i][slot(i, k)].weight
                k += 1
            }
            if p.comparator.holds(remaining, p.threshold) != firing { return min(due, t.plus(p.window)) }
        }
        return due
    }

    mutating func advanceWindow(_ i: Int, to limit: Int64, inclusive: Bool, into out: inout [RuleSignal]) {
        while windows[i].alive {
            let due = windowDue(i)
            guard due < limit || (inclusive && due == limit) else { break }
            let rule = params[Int(windows[i].rule)]
            windows[i].updated = max(windows[i].updated, due)
            evict(i, upTo: due &- rule.window)
            if rule.judgesAbsence, due >= windows[i].firstSeen.plus(rule.window) { windows[i].judging = true }
            judge(i, at: due, into: &out)
            if windows[i].phase == .inactive, windows[i].isEmpty { freeWindow(i) }
        }
    }

    /// Compares the window's sum or ratio with the threshold at time `t` and moves the phase.
    mutating func judge(_ i: Int, at t: Int64, into out: inout [RuleSignal]) {
        let r = Int(windows[i].rule)
        let rule = params[r]
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
            } else if t >= windows[i].stoppedAt.plus(rule.keepFiringFor) {
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
        windowEntries[i] = []
        windows[i].head = 0
        windows[i].live = 0
        windows[i].sum = 0
        windows[i].events = 0
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
