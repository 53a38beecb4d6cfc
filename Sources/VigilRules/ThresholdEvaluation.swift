import VigilCore

/// The state of one series under one threshold rule, kept only while the rule is pending or firing.
struct ThresholdState: Sendable {
    enum Phase: UInt8, Sendable {
        case pending
        case firing
        /// Firing, but the condition stopped holding at `stoppedAt`; `keep_firing_for` is running.
        case keepFiring
        case free
    }

    var rule: Int32
    var series: Int32
    var group: Int32
    var slot: Int32
    var phase: Phase
    /// When the condition started to hold (the episode's detection time).
    var since: Int64
    var lastSample: Int64
    var lastValue: Double
    var stoppedAt: Int64 = 0
    /// The latest time this state has been judged at; later samples never apply before it.
    var updated: Int64
    /// The due time of this state's entry in the timer heap (`.max`: none).
    var heapDue: Int64 = .max

    var alive: Bool { phase != .free }
}

extension Int64 {
    /// `self + d`, stopping at the largest time instead of wrapping (a rule may say `for 300 years`).
    @inline(__always)
    func plus(_ d: Int64) -> Int64 {
        let (r, o) = addingReportingOverflow(d)
        return o ? (d > 0 ? .max : .min) : r
    }
}

/// Threshold rules (`>`, `<`, … with optional `for`, `consistently`, `keep_firing_for`).
///
/// A series' value at time T is its latest sample at or before T, while T − that sample's time is
/// under `stale_after`. Samples at an instant are applied before the timers due at that instant,
/// so a sample breaking the condition exactly when `for` runs out stops it from firing.
extension RuleEngine {
    mutating func thresholdSample(rule r: Int, slot: Int, group: Int32, series: Int32, value v: Double, at time: Int64,
                                  into out: inout [RuleSignal]) {
        let holds = params[r].comparator.holds(v, params[r].threshold)
        var i = Int(slots[slot].state)
        var t = time
        if i >= 0 {
            t = max(t, thresholds[i].updated)
            // The heap entry is never later than the state's real next change.
            if thresholds[i].heapDue < t {
                advanceThreshold(i, to: t, inclusive: false, into: &out)
                if !thresholds[i].alive { i = -1 }
            }
        }
        guard i >= 0 else {
            if holds { startEpisode(rule: r, slot: slot, group: group, series: series, value: v, at: t, into: &out) }
            return
        }
        thresholds[i].lastSample = t
        thresholds[i].lastValue = v
        thresholds[i].updated = t
        switch thresholds[i].phase {
        case .pending:
            if !holds {
                record(.inactive, rule: r, subject: .series(series), value: v, firstHeld: thresholds[i].since, at: t)
                freeThreshold(i)
                return
            }
        case .firing:
            if !holds { stopHolding(i, at: t, cause: .condition, into: &out) }
        case .keepFiring:
            if holds { thresholds[i].phase = .firing }
        case .free:
            return
        }
        if thresholds[i].alive {
            advanceThreshold(i, to: t, inclusive: true, into: &out)
            if thresholds[i].alive { scheduleThreshold(i) }
        }
    }

    mutating func startEpisode(rule r: Int, slot: Int, group: Int32, series: Int32, value v: Double, at t: Int64,
                               into out: inout [RuleSignal]) {
        let state = ThresholdState(rule: Int32(r), series: series, group: group, slot: Int32(slot), phase: .pending,
                                   since: t, lastSample: t, lastValue: v, updated: t)
        let i: Int
        if let reuse = freeThresholds.popLast() {
            i = Int(reuse)
            thresholds[i] = state
        } else {
            i = thresholds.count
            thresholds.append(state)
        }
        slots[slot].state = Int32(i)
        if params[r].holdFor == 0 {
            fireThreshold(i, at: t, into: &out)
        } else {
            record(.pending, rule: r, subject: .series(series), value: v, firstHeld: t, at: t)
        }
        scheduleThreshold(i)
    }

    /// The next time this state changes without a sample, or `.max`.
    func thresholdDue(_ i: Int) -> Int64 {
        let s = thresholds[i]
        let stale = s.lastSample.plus(staleAfter)
        switch s.phase {
        case .pending: return min(s.since.plus(params[Int(s.rule)].holdFor), stale)
        case .firing: return stale
        case .keepFiring: return s.stoppedAt.plus(params[Int(s.rule)].keepFiringFor)
        case .free: return .max
        }
    }

    /// Applies every timer of state `i` due before `limit` (or at it, when `inclusive`).
    mutating func advanceThreshold(_ i: Int, to limit: Int64, inclusive: Bool, into out: inout [RuleSignal]) {
        while thresholds[i].alive {
            let due = thresholdDue(i)
            guard due < limit || (inclusive && due == limit) else { break }
            thresholds[i].updated = max(thresholds[i].updated, due)
            let s = thresholds[i]
            let stale = s.lastSample.plus(staleAfter)
            switch s.phase {
            case .pending:
                if stale <= due {
                    record(.inactive, rule: Int(s.rule), subject: .series(s.series), value: s.lastValue,
                           firstHeld: s.since, at: due, cause: .stale)
                    freeThreshold(i)
                } else {
                    fireThreshold(i, at: due, into: &out)
                }
            case .firing:
                stopHolding(i, at: due, cause: .stale, into: &out)
            case .keepFiring:
                resolveThreshold(i, at: due, cause: .keepFiringExpired, into: &out)
            case .free:
                break
            }
        }
    }

    mutating func fireThreshold(_ i: Int, at t: Int64, into out: inout [RuleSignal]) {
        thresholds[i].phase = .firing
        let s = thresholds[i]
        let g = Int(s.group)
        if groups[g].firingSeries == 0 { groups[g].episodeFirstHeld = s.since }
        groups[g].firingSeries += 1
        let labels = seriesLabels(s.series)
        out.append(signal(.firing, rule: Int(s.rule), labels: labels, group: s.group, value: s.lastValue,
                          firstHeld: s.since, at: t))
        record(.firing, rule: Int(s.rule), subject: .labels(labels), value: s.lastValue, firstHeld: s.since, at: t)
    }

    /// The condition of a firing series stopped holding at `t`: resolve now, or after `keep_firing_for`.
    mutating func stopHolding(_ i: Int, at t: Int64, cause: RuleTransition.Cause, into out: inout [RuleSignal]) {
        if params[Int(thresholds[i].rule)].keepFiringFor > 0 {
            thresholds[i].phase = .keepFiring
            thresholds[i].stoppedAt = t
        } else {
            resolveThreshold(i, at: t, cause: cause, into: &out)
        }
    }

    mutating func resolveThreshold(_ i: Int, at t: Int64, cause: RuleTransition.Cause, into out: inout [RuleSignal]) {
        let s = thresholds[i]
        let g = Int(s.group)
        let labels = seriesLabels(s.series)
        record(.resolved, rule: Int(s.rule), subject: .labels(labels), value: s.lastValue, firstHeld: s.since, at: t, cause: cause)
        groups[g].firingSeries -= 1
        // The alert (one fingerprint) resolves when the last of its firing series does.
        if groups[g].firingSeries == 0 {
            out.append(signal(.resolved, rule: Int(s.rule), labels: labels, group: s.group, value: s.lastValue,
                              firstHeld: groups[g].episodeFirstHeld, at: t))
        }
        freeThreshold(i)
    }

    mutating func freeThreshold(_ i: Int) {
        slots[Int(thresholds[i].slot)].state = -1
        thresholds[i].phase = .free
        thresholds[i].heapDue = .max
        freeThresholds.append(Int32(i))
    }

    mutating func scheduleThreshold(_ i: Int) {
        let due = thresholdDue(i)
        guard due != .max, due < thresholds[i].heapDue else { return }
        thresholds[i].heapDue = due
        heap.push(due, .threshold(Int32(i)))
    }
}
