import VigilCore

/// How many samples the daemon keeps around rule incidents (`rules.recording`).
public struct SampleRecordingSettings: Sendable, Hashable {
    /// Off: nothing is kept (`rules.recording.enabled: false`).
    public var enabled: Bool
    /// How far back the in-memory rings reach (`rules.recording.keep`, default 15 minutes).
    public var keep: Duration
    /// At most this many samples per ring (`rules.recording.samples_per_rule`, default 20,000).
    public var samplesPerRule: Int
    /// At most this many bytes for every ring together (`rules.recording.max_bytes`, default 32 MiB);
    /// each ring gets an equal share.
    public var maxBytes: Int
    /// At most this many samples stored per incident episode (`rules.recording.per_incident`, default 10,000);
    /// the recording is then marked truncated.
    public var perIncident: Int
    /// Added to a rule's `for` or window for the lead-in before the condition first held
    /// (`rules.recording.lead_in_margin`, default 1 minute).
    public var leadInMargin: Duration
    /// Recorded samples older than this are deleted (`rules.recording.retention`, default 90 days).
    public var retention: Duration
    /// At most this many episodes recorded at once after they fire; more get their lead-in only.
    public var maxActive: Int

    public init(enabled: Bool = true, keep: Duration = .seconds(900), samplesPerRule: Int = 20_000,
                maxBytes: Int = 32 << 20, perIncident: Int = 10_000, leadInMargin: Duration = .seconds(60),
                retention: Duration = .seconds(90 * 86_400), maxActive: Int = 256) {
        self.enabled = enabled
        self.keep = keep
        self.samplesPerRule = samplesPerRule
        self.maxBytes = maxBytes
        self.perIncident = perIncident
        self.leadInMargin = leadInMargin
        self.retention = retention
        self.maxActive = maxActive
    }
}

/// Samples of one rule episode (one fingerprint from when its condition first held) to persist:
/// the lead-in when it fires, then what arrives while it stays firing, then its end.
public struct RecordedSamples: Sendable {
    public var ruleID: String
    public var fingerprint: String
    /// The episode: when the condition first held (the incident's detection time).
    public var episode: Timestamp
    /// The samples (symbols; strings are resolved by whoever persists them), in arrival order.
    public var events: [Event]
    /// Set on the first batch of an episode: the earliest time the lead-in reached back to.
    public var leadInFrom: Timestamp?
    /// Set when the episode's recording stops (the condition cleared).
    public var endedAt: Timestamp?
    /// The episode hit ``SampleRecordingSettings/perIncident``; later samples were not kept.
    public var truncated: Bool
}

/// Keeps the recent samples each rule's selector saw, in bounded rings, and hands out the ones
/// around an incident: the lead-in before the rule's condition first held, then every sample of
/// the alert's group until the condition clears (``RecordedSamples``).
///
/// The hot path (``record(_:)``) costs one array lookup by the event name's symbol and one
/// 40-byte copy into a ring; no strings. Rules on the same event name share one ring (a sample
/// is kept once). Which alert group of a rule a series belongs to (its label matchers and
/// group-by labels) is worked out with strings once per series and rule, only for rules with an
/// episode being recorded, and cached by label set and source.
public struct RuleSampleRecorder: Sendable {
    public let settings: SampleRecordingSettings
    let symbols: SymbolTable
    let rules: [CompiledRule]
    let params: [RuleParams]
    let ruleIndex: [String: Int]
    /// Event name symbol id → ring (-1: no rule watches the name).
    var ringOfName: [Int32] = []
    var ringOfRule: [Int32] = []
    var rings = SampleRings(rings: 0, capacity: 0)
    /// Per ring: the rules with an episode being recorded (the hot path checks only whether it is empty).
    var followedRules: [[Int32]] = []
    /// Fingerprint → small id, and per rule (label set id << 32 | source id) → group id (-1: the rule refuses the series).
    var groupIDs: [String: Int32] = [:]
    /// The next alert-group id (ids are never reused while an episode may hold one).
    var nextGroup: Int32 = 0
    /// The most alert groups remembered; beyond, only those of episodes being recorded are kept.
    static let maximumGroups = 100_000
    var seriesGroup: [[UInt64: Int32]] = []
    /// (rule << 32 | group) → the episode being recorded.
    var active: [Int64: ActiveEpisode] = [:]
    /// Per fingerprint, the latest sample time already handed out: a lead-in never repeats a sample.
    var handedOutUntil: [String: Int64] = [:]
    /// Episodes ended or with samples not yet drained.
    var finished: [RecordedSamples] = []
    var dirty: Set<Int64> = []

    /// Counters for self-monitoring and tests.
    public private(set) var recorded = 0
    public private(set) var truncatedEpisodes = 0

    struct ActiveEpisode: Sendable {
        var rule: Int
        var fingerprint: String
        var episode: Timestamp
        var count: Int
        var truncated: Bool
        var buffer: [Event] = []
        var leadInFrom: Timestamp?
    }

    public init(rules set: RuleSet, symbols: SymbolTable, settings: SampleRecordingSettings = SampleRecordingSettings()) {
        self.settings = settings
        self.symbols = symbols
        rules = set.rules.map { CompiledRule($0, symbols: symbols) }
        params = set.rules.map { RuleParams($0.expression, set: set) }
        var index: [String: Int] = [:]
        for (i, r) in set.rules.enumerated() where index[r.id] == nil { index[r.id] = i }
        ruleIndex = index
        seriesGroup = Array(repeating: [:], count: rules.count)
        guard settings.enabled else { return }
        var ringOf: [UInt32: Int32] = [:]
        for r in rules {
            let name = symbols.intern(r.rule.expression.selector.name)
            if let ring = ringOf[name.id] { ringOfRule.append(ring); continue }
            let ring = Int32(ringOf.count)
            ringOf[name.id] = ring
            ringOfRule.append(ring)
        }
        let maxID = Int(ringOf.keys.max() ?? 0)
        ringOfName = Array(repeating: -1, count: ringOf.isEmpty ? 0 : maxID + 1)
        for (name, ring) in ringOf { ringOfName[Int(name)] = ring }
        let share = ringOf.isEmpty ? 0 : settings.maxBytes / MemoryLayout<Event>.stride / ringOf.count
        let capacity = max(1, min(settings.samplesPerRule, share))
        rings = SampleRings(rings: ringOf.count, capacity: capacity)
        followedRules = Array(repeating: [], count: ringOf.count)
    }

    /// Bytes the rings may hold at most.
    public var capacityBytes: Int { rings.ringCount * rings.capacity * MemoryLayout<Event>.stride }
    /// Samples the rings hold now.
    public var held: Int { (0..<rings.ringCount).reduce(0) { $0 + rings.counts[$1] } }
    /// Fingerprints of the episodes still recorded.
    public var activeFingerprints: [String] { active.values.map(\.fingerprint).sorted() }

    // MARK: Hot path

    /// Keeps every event a rule watches; the ones of an episode being recorded are queued for ``drain()``.
    public mutating func record(_ events: [Event]) {
        events.withUnsafeBufferPointer { record($0) }
    }

    /// ``record(_:)-([Event])`` for a buffer.
    public mutating func record(_ events: UnsafeBufferPointer<Event>) {
        let rings = self.rings
        guard rings.ringCount > 0 else { return }
        // A copy (one retain per batch): `follow` mutates self while the buffer is read.
        let names = ringOfName
        names.withUnsafeBufferPointer { ringOfName in
            for e in events {
                let id = Int(e.name.id)
                guard id < ringOfName.count else { continue }
                let ring = Int(ringOfName[id])
                guard ring >= 0 else { continue }
                rings.append(e, ring: ring)
                if rings.followed[ring] != 0 { follow(e, ring: ring) }
            }
        }
    }

    // MARK: Slow path

    /// Starts or stops episodes as the signals say: a firing signal queues the lead-in from the
    /// rings (its rule's `for` or window plus ``SampleRecordingSettings/leadInMargin`` before the
    /// condition first held) and follows the group's samples; a resolved one ends the episode.
    public mutating func observe(_ signals: [RuleSignal]) {
        guard rings.ringCount > 0 else { return }
        for s in signals {
            guard let r = ruleIndex[s.ruleID] else { continue }
            let ring = Int(ringOfRule[r])
            let group = groupID(s.fingerprint)
            let key = Int64(r) << 32 | Int64(group)
            switch s.transition {
            case .firing:
                // Fired again while recorded (a reload restarts rule state): the episode goes on.
                if active[key] != nil { continue }
                // Saturating: a rule's `for` of many weeks plus the margin must not trap.
                let (sum, over) = max(params[r].holdFor, params[r].window).addingReportingOverflow(settings.leadInMargin.nanoseconds)
                let span = over ? Int64.max : sum
                var from = max(s.firstHeldAt.nanoseconds &- span, s.at.nanoseconds &- settings.keep.nanoseconds)
                if let done = handedOutUntil[s.fingerprint] { from = max(from, done &+ 1) }
                var lead: [Event] = []
                rings.forEach(ring: ring, from: from) { e in
                    if self.group(of: e, rule: r) == group { lead.append(e) }
                }
                var episode = ActiveEpisode(rule: r, fingerprint: s.fingerprint, episode: s.firstHeldAt, count: 0,
                                            truncated: false, leadInFrom: Timestamp(nanoseconds: min(from, s.firstHeldAt.nanoseconds)))
                if lead.count > settings.perIncident {
                    lead.removeFirst(lead.count - settings.perIncident)
                    episode.truncated = true
                    truncatedEpisodes += 1
                }
                episode.count = lead.count
                episode.buffer = lead
                if let last = lead.last { handedOutUntil[s.fingerprint] = last.time.nanoseconds }
                recorded += lead.count
                if params[r].kind == .occurrence || active.count >= settings.maxActive {
                    // Nothing follows an occurrence (it has no condition to clear); too many at once: lead-in only.
                    finished.append(Self.batch(episode, ruleID: s.ruleID, endedAt: s.at))
                } else {
                    active[key] = episode
                    dirty.insert(key)
                    if !followedRules[ring].contains(Int32(r)) { followedRules[ring].append(Int32(r)) }
                    rings.followed[ring] = Int32(followedRules[ring].count)
                }
            case .resolved:
                guard let episode = active.removeValue(forKey: key) else { continue }
                dirty.remove(key)
                if let last = episode.buffer.last { handedOutUntil[s.fingerprint] = last.time.nanoseconds }
                finished.append(Self.batch(episode, ruleID: s.ruleID, endedAt: s.at))
                if !active.keys.contains(where: { $0 >> 32 == Int64(r) }) { followedRules[ring].removeAll { $0 == Int32(r) } }
                rings.followed[ring] = Int32(followedRules[ring].count)
                forgetOld(now: s.at)
            }
        }
    }

    /// The samples queued since the last call, one entry per episode.
    public mutating func drain() -> [RecordedSamples] {
        var out = finished
        finished.removeAll(keepingCapacity: true)
        for key in dirty {
            guard var e = active[key] else { continue }
            if let last = e.buffer.last { handedOutUntil[e.fingerprint] = last.time.nanoseconds }
            out.append(Self.batch(e, ruleID: rules[e.rule].rule.id, endedAt: nil))
            e.buffer.removeAll(keepingCapacity: true)
            e.leadInFrom = nil
            active[key] = e
        }
        dirty.removeAll(keepingCapacity: true)
        return out.sorted { ($0.episode, $0.fingerprint) < ($1.episode, $1.fingerprint) }
    }

    static func batch(_ e: ActiveEpisode, ruleID: String, endedAt: Timestamp?) -> RecordedSamples {
        RecordedSamples(ruleID: ruleID, fingerprint: e.fingerprint, episode: e.episode, events: e.buffer,
                        leadInFrom: e.leadInFrom, endedAt: endedAt, truncated: e.truncated)
    }

    /// A recorder for a new rule set that keeps the samples held for names still watched, the
    /// episodes of rules still loaded and what is not drained yet.
    public func replacing(_ set: RuleSet) -> RuleSampleRecorder {
        var next = RuleSampleRecorder(rules: set, symbols: symbols, settings: settings)
        next.handedOutUntil = handedOutUntil
        next.finished = finished
        for (_, episode) in active {
            let id = rules[episode.rule].rule.id
            guard let r = next.ruleIndex[id], r < next.ringOfRule.count else {
                next.finished.append(Self.batch(episode, ruleID: id, endedAt: nil))
                continue
            }
            var moved = episode
            moved.rule = r
            let key = Int64(r) << 32 | Int64(next.groupID(episode.fingerprint))
            next.active[key] = moved
            next.dirty.insert(key)
            let ring = Int(next.ringOfRule[r])
            if !next.followedRules[ring].contains(Int32(r)) { next.followedRules[ring].append(Int32(r)) }
            next.rings.followed[ring] = Int32(next.followedRules[ring].count)
        }
        for (nameID, ring) in ringOfName.enumerated() where ring >= 0 && nameID < next.ringOfName.count {
            let to = next.ringOfName[nameID]
            if to >= 0 { rings.forEach(ring: Int(ring), from: .min) { next.rings.append($0, ring: Int(to)) } }
        }
        return next
    }

    mutating func follow(_ e: Event, ring: Int) {
        for r in followedRules[ring] {
            let g = group(of: e, rule: Int(r))
            guard g >= 0 else { continue }
            let key = Int64(r) << 32 | Int64(g)
            guard var episode = active[key] else { continue }
            if episode.count >= settings.perIncident {
                if !episode.truncated {
                    truncatedEpisodes += 1
                    episode.truncated = true
                    active[key] = episode
                    dirty.insert(key)
                }
                continue
            }
            episode.count += 1
            episode.buffer.append(e)
            active[key] = episode
            dirty.insert(key)
            recorded += 1
        }
    }

    /// Keeps the slow path's memory bounded: the group caches start over once nothing is recorded,
    /// and an alert's "handed out until" is forgotten once the rings no longer reach back to it.
    mutating func forgetOld(now: Timestamp) {
        if active.isEmpty, groupIDs.count > 100_000 {
            groupIDs = [:]
            nextGroup = 0
            seriesGroup = Array(repeating: [:], count: rules.count)
        }
        if handedOutUntil.count > 10_000 {
            let horizon = now.nanoseconds &- settings.keep.nanoseconds
            handedOutUntil = handedOutUntil.filter { $0.value >= horizon }
        }
    }

    mutating func groupID(_ fingerprint: String) -> Int32 {
        if let g = groupIDs[fingerprint] { return g }
        if groupIDs.count >= Self.maximumGroups || nextGroup == .max {
            // A label that changes with every sample (a request id under `group_by: series`)
            // while an alert stays firing: forget every group but those being recorded.
            let recording = Set(active.values.map(\.fingerprint))
            groupIDs = groupIDs.filter { recording.contains($0.key) }
            seriesGroup = Array(repeating: [:], count: rules.count)
            if nextGroup == .max { nextGroup = (groupIDs.values.max() ?? -1) &+ 1 }
        }
        let g = nextGroup
        nextGroup &+= 1
        groupIDs[fingerprint] = g
        return g
    }

    /// The alert group of rule `r` a sample falls in (-1 when the rule's matchers refuse it), cached per series.
    mutating func group(of e: Event, rule r: Int) -> Int32 {
        let key = UInt64(e.labels.id) << 32 | UInt64(e.source.id)
        if let known = seriesGroup[r][key] { return known }
        let rule = rules[r]
        let pairs = symbols.pairs(e.labels)
        var g: Int32 = -1
        if rule.matchers.allSatisfy({ $0.matches(pairs, source: e.source, symbols: symbols) }) {
            let fingerprint = RuleGrouping.fingerprint(rule: rule.rule, labels: symbols.labels(e.labels),
                                                       source: symbols.name(e.source))
            g = groupID(fingerprint)
        }
        // Bounded: past this many series a rule's answers are worked out again each time.
        if seriesGroup[r].count < 65_536 { seriesGroup[r][key] = g }
        return g
    }
}

/// Fixed-capacity rings of events in one allocation, oldest overwritten first. A class with raw
/// storage so the hot path's append is a store and two integer updates: no array uniqueness
/// checks or reference counting. Pages are committed by the kernel only as rings fill. Owned
/// and used by one ``RuleSampleRecorder`` at a time (the detection actor's).
final class SampleRings: @unchecked Sendable {
    let ringCount: Int
    let capacity: Int
    let storage: UnsafeMutablePointer<Event>
    let heads: UnsafeMutablePointer<Int>
    let counts: UnsafeMutablePointer<Int>
    /// Per ring: how many rules have an episode being recorded on it.
    let followed: UnsafeMutablePointer<Int32>

    init(rings: Int, capacity: Int) {
        ringCount = rings
        self.capacity = capacity
        storage = .allocate(capacity: max(1, rings * capacity))
        heads = .allocate(capacity: max(1, rings))
        heads.initialize(repeating: 0, count: max(1, rings))
        counts = .allocate(capacity: max(1, rings))
        counts.initialize(repeating: 0, count: max(1, rings))
        followed = .allocate(capacity: max(1, rings))
        followed.initialize(repeating: 0, count: max(1, rings))
    }

    deinit {
        storage.deallocate()
        heads.deallocate()
        counts.deallocate()
        followed.deallocate()
    }

    @inline(__always)
    func append(_ e: Event, ring: Int) {
        let h = heads[ring]
        (storage + ring * capacity + h).initialize(to: e)
        heads[ring] = h + 1 == capacity ? 0 : h + 1
        if counts[ring] < capacity { counts[ring] += 1 }
    }

    /// Oldest first, from the first event at or after `from` (events arrive nearly in time order,
    /// so the start is found by bisection and later ones are still checked).
    func forEach(ring: Int, from: Int64, _ body: (Event) -> Void) {
        let n = counts[ring]
        guard n > 0 else { return }
        let oldest = n < capacity ? 0 : heads[ring]
        let base = storage + ring * capacity
        @inline(__always) func at(_ i: Int) -> Event { base[(oldest + i) % capacity] }
        var lo = 0, hi = n
        while lo < hi {
            let mid = (lo + hi) / 2
            if at(mid).time.nanoseconds < from { lo = mid + 1 } else { hi = mid }
        }
        for i in lo..<n where at(i).time.nanoseconds >= from { body(at(i)) }
    }
}

/// The alert group a series falls in, as the engine forms it (``RuleEngine``'s `groupIndex`), with strings.
public enum RuleGrouping {
    /// The fingerprint of the alert a sample with `labels` from `source` belongs to under `rule`.
    public static func fingerprint(rule: Rule, labels: [String: String], source: String) -> String {
        var group: [String: String] = [:]
        switch rule.groupBy {
        case .series:
            group = labels
            if !source.isEmpty, group["source"] == nil { group["source"] = source }
        case .identityLabels, .labels:
            let names: [String]
            if case .labels(let n) = rule.groupBy { names = n } else { names = GroupBy.identityLabelNames }
            for name in names {
                let v = labels[name] ?? ""
                let value = v.isEmpty && name == "source" ? source : v
                if !value.isEmpty { group[name] = value }
            }
            if source.hasPrefix("plugin:"), !names.contains("source") { group["source"] = source }
        }
        return rule.id + (group.isEmpty ? "" : RuleTransition.labelText(group))
    }
}
