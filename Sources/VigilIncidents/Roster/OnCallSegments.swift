import VigilCore

/// One stretch of a period during which one person holds a role without a change.
public struct OnCallSegment: Sendable, Equatable {
    public var role: String
    public var person: Person
    public var rotation: String
    public var from: Timestamp
    public var until: Timestamp
    /// True when an override (holiday cover, swap) put the person there.
    public var isOverride: Bool
}

extension OnCallSchedule {
    /// Who holds `role` (for `component`) over `[from, until)`, as consecutive segments, cut at
    /// the rotation's handovers and the overrides' starts and ends and nowhere else: between two
    /// of those moments nothing can change, so the answer is exact for any period and override.
    /// Stretches nobody holds (before the rotation starts, a member missing from the roster) are
    /// left out. At most `limit` segments; `truncated` says whether more would follow.
    public func segments(role: String, component: String?, from: Timestamp, until: Timestamp,
                         limit: Int = 5000) -> (segments: [OnCallSegment], truncated: Bool) {
        guard from < until, let rotation = rotation(for: role, component: component) else { return ([], false) }
        var end = until
        var truncated = false
        var boundaries: [Timestamp] = [from]
        // A rotation handing over every few seconds is cut short rather than walked for ever.
        var handovers = handovers(of: rotation, after: from, before: until, limit: Self.handoverLimit)
        if handovers.count > Self.handoverLimit, let cut = handovers.popLast() {
            end = cut
            truncated = true
        }
        boundaries += handovers
        for o in roster.overrides where o.rotation == rotation.id {
            if o.from > from && o.from < end { boundaries.append(o.from) }
            if o.until > from && o.until < end { boundaries.append(o.until) }
        }
        boundaries = Array(Set(boundaries)).sorted()
        var out: [OnCallSegment] = []
        for (i, start) in boundaries.enumerated() {
            let stop = i + 1 < boundaries.count ? boundaries[i + 1] : end
            guard let shift = shift(in: rotation, at: start) else { continue }
            if var last = out.last, last.until == start, last.person.id == shift.person.id,
               last.isOverride == shift.isOverride {
                last.until = stop
                out[out.count - 1] = last
                continue
            }
            if out.count == limit { return (out, true) }
            out.append(OnCallSegment(role: rotation.role, person: shift.person, rotation: rotation.id, from: start,
                                     until: stop, isOverride: shift.isOverride))
        }
        return (out, truncated)
    }

    /// Most handovers one answer walks through (a rotation of one-minute shifts over 31 days has 44,640).
    static let handoverLimit = 100_000

    /// The rotation's handover moments strictly inside `(after, before)`, at most `limit` + 1 of
    /// them (enough to know a longer answer is cut), computed with checked arithmetic.
    func handovers(of rotation: Rotation, after: Timestamp, before: Timestamp, limit: Int) -> [Timestamp] {
        let period = rotation.period.nanoseconds
        guard period > 0 else { return [] }
        let start = rotation.start.nanoseconds
        // The first handover after `after`: the rotation's start, or the next multiple of the period.
        var next: Int64
        if start > after.nanoseconds {
            next = start
        } else {
            let (elapsed, o1) = after.nanoseconds.subtractingReportingOverflow(start)
            guard !o1 else { return [] }
            let (k, o2) = (elapsed / period).addingReportingOverflow(1)
            let (offset, o3) = k.multipliedReportingOverflow(by: period)
            let (first, o4) = start.addingReportingOverflow(offset)
            guard !o2, !o3, !o4 else { return [] }
            next = first
        }
        var out: [Timestamp] = []
        while next < before.nanoseconds, out.count <= limit {
            out.append(Timestamp(nanoseconds: next))
            let (following, overflow) = next.addingReportingOverflow(period)
            if overflow { break }
            next = following
        }
        return out
    }
}
