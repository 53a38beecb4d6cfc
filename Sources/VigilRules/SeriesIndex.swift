import VigilCore

/// A series: the event name, its label set and the source it came from.
struct SeriesKey: Hashable, Sendable {
    var name: UInt32
    var labels: UInt32
    var source: UInt32
}

struct SeriesInfo: Sendable {
    var labels: LabelSetID
    var source: Symbol
    /// Index of the series' first slot in ``RuleEngine/slots``.
    var slotStart: Int32
}

/// One (series, rule) pair: whether the rule's matchers accept the series (group ≥ 0) and its
/// threshold state, if any.
struct Slot: Sendable {
    /// The alert group, or -1 when the rule's matchers refuse the series.
    var group: Int32
    /// Index into ``RuleEngine/thresholds``, or -1.
    var state: Int32
}

/// One alert of one rule: the group-by label values, interned.
struct GroupKey: Hashable, Sendable {
    var rule: Int32
    var values: [UInt32]
}

struct GroupRecord: Sendable {
    var rule: Int32
    var labels: [String: String]
    var fingerprint: String
    /// Threshold rules: how many series of the group are firing; the group resolves at zero.
    var firingSeries: Int32 = 0
    var episodeFirstHeld: Int64 = 0
    /// Window rules: index into ``RuleEngine/windows``, or -1.
    var window: Int32 = -1
}

extension RuleEngine {
    /// The index of a series, judging the matchers of every rule on its name the first time it is seen.
    @inline(__always)
    mutating func seriesIndex(name: Symbol, labels: LabelSetID, source: Symbol, bucket: Int32) -> Int32 {
        let key = SeriesKey(name: name.id, labels: labels.id, source: source.id)
        if let s = seriesTable[key] { return s }
        return addSeries(key, labels: labels, source: source, bucket: bucket)
    }

    mutating func addSeries(_ key: SeriesKey, labels: LabelSetID, source: Symbol, bucket: Int32) -> Int32 {
        let index = Int32(seriesInfo.count)
        let pairs = symbols.pairs(labels)
        let first = Int(bucketStart[Int(bucket)])
        let end = Int(bucketStart[Int(bucket) + 1])
        seriesInfo.append(SeriesInfo(labels: labels, source: source, slotStart: Int32(slots.count)))
        for j in first..<end {
            let r = Int(bucketRules[j])
            let accepted = rules[r].matchers.allSatisfy { $0.matches(pairs, source: source, symbols: symbols) }
            let group = accepted ? groupIndex(rule: r, pairs: pairs, labels: labels, source: source) : -1
            slots.append(Slot(group: group, state: -1))
        }
        seriesTable.insert(key, index)
        return index
    }

    /// The value of label `key` on a series; `source` falls back to the event's source.
    func labelValue(_ key: Symbol, pairs: [(key: Symbol, value: Symbol)], source: Symbol, isSource: Bool) -> Symbol {
        let v = pairs.first { $0.key == key }?.value ?? .none
        return v == .none && isSource ? source : v
    }

    mutating func groupIndex(rule r: Int, pairs: [(key: Symbol, value: Symbol)], labels: LabelSetID,
                             source: Symbol) -> Int32 {
        let rule = rules[r]
        var values: [UInt32]
        // The plugin that sent the series, as the daemon stamped it (`plugin:NAME`): whatever the
        // rule's grouping, one plugin's series never share an alert (or incident) with another's,
        // and the alert says who sent it. The daemon's own and the CLI's series group as before.
        let sender = isPluginSource(source) && !rule.groupNames.contains("source") ? source : .none
        if case .series = rule.rule.groupBy {
            values = [labels.id, source.id]
        } else {
            values = zip(rule.groupSymbols, rule.groupNames).map {
                labelValue($0.0, pairs: pairs, source: source, isSource: $0.1 == "source").id
            }
            if sender != .none { values.append(sender.id) }
        }
        let key = GroupKey(rule: Int32(r), values: values)
        if let g = groupTable[key] { return g }
        var groupLabels: [String: String] = [:]
        if case .series = rule.rule.groupBy {
            groupLabels = seriesLabels(labels: labels, source: source)
        } else {
            for (name, value) in zip(rule.groupNames, values) where value != 0 {
                groupLabels[name] = symbols.name(Symbol(id: value))
            }
            if sender != .none { groupLabels["source"] = symbols.name(sender) }
        }
        let fingerprint = rule.rule.id + (groupLabels.isEmpty ? "" : RuleTransition.labelText(groupLabels))
        let g = Int32(groups.count)
        groups.append(GroupRecord(rule: Int32(r), labels: groupLabels, fingerprint: fingerprint))
        groupTable[key] = g
        return g
    }

    /// Whether `source` is a plugin's, as its connection stamps it (`plugin:NAME`).
    func isPluginSource(_ source: Symbol) -> Bool {
        source != .none && symbols.name(source).hasPrefix("plugin:")
    }

    /// Every label of a series as strings, with `source` added when the labels do not carry one.
    func seriesLabels(labels: LabelSetID, source: Symbol) -> [String: String] {
        var out = symbols.labels(labels)
        if source != .none, out["source"] == nil { out["source"] = symbols.name(source) }
        return out
    }

    func seriesLabels(_ series: Int32) -> [String: String] {
        let info = seriesInfo[Int(series)]
        return seriesLabels(labels: info.labels, source: info.source)
    }

    // MARK: Output

    func signal(_ transition: RuleSignal.Transition, rule r: Int, labels: [String: String], group: Int32,
                value: Double, firstHeld: Int64, at: Int64) -> RuleSignal {
        let rule = rules[r]
        return RuleSignal(transition: transition, ruleID: rule.rule.id, expression: rule.expressionText,
                          section: rule.rule.section, labels: labels, fingerprint: groups[Int(group)].fingerprint,
                          value: value, unit: rule.unitText, firstHeldAt: Timestamp(nanoseconds: firstHeld),
                          at: Timestamp(nanoseconds: at), incidentType: rule.rule.incidentType,
                          severity: rule.rule.severity, containmentCategory: rule.rule.containmentCategory,
                          description: rule.rule.description, runbook: rule.rule.runbook)
    }

    /// Whose labels a recorded transition carries.
    enum Subject {
        case series(Int32)
        case labels([String: String])
    }

    mutating func record(_ kind: RuleTransition.Kind, rule r: Int, subject: Subject,
                         value: Double, firstHeld: Int64, at: Int64, cause: RuleTransition.Cause = .condition) {
        guard recordsTransitions else { return }
        let labels: [String: String]
        switch subject {
        case .series(let s): labels = seriesLabels(s)
        case .labels(let l): labels = l
        }
        transitions.append(RuleTransition(kind: kind, ruleID: rules[r].rule.id, series: labels, value: value,
                                          unit: rules[r].unitText, at: Timestamp(nanoseconds: at),
                                          firstHeldAt: Timestamp(nanoseconds: firstHeld), cause: cause))
    }

    /// A signal rule: every occurrence fires on its own; nothing resolves it but people.
    mutating func fireOccurrence(rule r: Int, group: Int32, series: Int32, value: Double, at t: Int64,
                                 into out: inout [RuleSignal]) {
        let labels = seriesLabels(series)
        out.append(signal(.firing, rule: r, labels: labels, group: group, value: value, firstHeld: t, at: t))
        record(.firing, rule: r, subject: .labels(labels), value: value, firstHeld: t, at: t)
    }
}
