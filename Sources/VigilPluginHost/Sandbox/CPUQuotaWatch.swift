import Foundation
import VigilCore

/// Judges one run's CPU throttling from its cgroup's period counters, sampled about once a second.
///
/// The quota (one core by default) already keeps the host's cores free: a plugin spinning on both
/// cores was seen taking them for a minute, and is now throttled. Throttled is not failed,
/// though, and a plugin held at its quota is doing nothing useful: when it has hit the quota in at
/// least half of its periods in every sample for ``limit``, its run ends over the limit.
public struct CPUQuotaWatch: Sendable, Equatable {
    public let limit: Duration
    private var last: Sample?
    /// When the current stretch of throttled samples began (the sample before the first of them).
    private var heldSince: Timestamp?

    struct Sample: Sendable, Equatable {
        var at: Timestamp
        var periods: UInt64
        var throttled: UInt64
    }

    public init(limit: Duration) { self.limit = limit }

    /// Takes the counters read at `now`; the cause when the run has been held long enough.
    public mutating func sample(periods: UInt64, throttled: UInt64, at now: Timestamp) -> String? {
        let current = Sample(at: now, periods: periods, throttled: throttled)
        defer { last = current }
        guard let last, periods >= last.periods, throttled >= last.throttled else {
            heldSince = nil  // the first sample, or counters that went back (a new cgroup)
            return nil
        }
        let (ran, held) = (periods - last.periods, throttled - last.throttled)
        guard ran > 0, held >= (ran + 1) / 2 else {
            heldSince = nil
            return nil
        }
        let since = heldSince ?? last.at
        heldSince = since
        guard now - since >= limit else { return nil }
        return "CPU limit (held at its quota, throttled in \(held) of its last \(ran) scheduler periods, for \(DurationText.format(now - since)))"
    }
}

/// What the plugin host checks once a second for a live run: its cgroup's OOM kills and refused
/// forks, then its CPU throttling. Blocking sysfs reads: call it from a thread that may block.
final class RunLimitProbe: @unchecked Sendable {
    private let cgroup: PluginCgroup
    private let lock = NSLock()
    private var cpu: CPUQuotaWatch

    init(cgroup: PluginCgroup, cpuHeldAtQuota: Duration) {
        self.cgroup = cgroup
        cpu = CPUQuotaWatch(limit: cpuHeldAtQuota)
    }

    func check(now: Timestamp) -> String? {
        if let hit = cgroup.limitHit() { return hit }
        guard let counters = cgroup.cpuPeriods() else { return nil }
        return lock.withLock { cpu.sample(periods: counters.periods, throttled: counters.throttled, at: now) }
    }
}
