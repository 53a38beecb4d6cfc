/// One alert as an Alertmanager-compatible sender posts it, after validation: the label set
/// identifies it (its ``fingerprint``), the times say whether it fires.
///
/// A future `endsAt` is a lease: a sender that stops re-sending lets the alert resolve when the
/// lease runs out. `endsAt` at or before now means resolved.
public struct Alert: Sendable, Equatable, Codable {
    public var labels: [String: String]
    public var annotations: [String: String]
    public var startsAt: Timestamp
    public var endsAt: Timestamp
    /// When Vigil last received it.
    public var updatedAt: Timestamp
    public var generatorURL: String

    public init(labels: [String: String], annotations: [String: String] = [:], startsAt: Timestamp,
                endsAt: Timestamp, updatedAt: Timestamp, generatorURL: String = "") {
        self.labels = labels
        self.annotations = annotations
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.updatedAt = updatedAt
        self.generatorURL = generatorURL
    }

    /// Prometheus' fingerprint of the labels (annotations excluded), `%016x`.
    public var fingerprint: String { AlertFingerprint.hex(labels) }

    /// Firing at `now`: started and its lease not yet run out.
    public func isActive(at now: Timestamp) -> Bool { endsAt > now }
}

/// Prometheus' `model.LabelSet.Fingerprint` (prometheus/common model/signature.go): FNV-1a 64
/// over the labels sorted by name, each name and value followed by the byte 0xff.
public enum AlertFingerprint {
    static let offset: UInt64 = 14_695_981_039_346_656_037
    static let prime: UInt64 = 1_099_511_628_211

    public static func of(_ labels: [String: String]) -> UInt64 {
        var hash = offset
        @inline(__always) func add(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* prime
        }
        // Go sorts label names as byte strings; Swift's String `<` orders by Unicode scalars,
        // which for UTF-8 is the same order.
        for name in labels.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            for b in name.utf8 { add(b) }
            add(0xff)
            for b in labels[name, default: ""].utf8 { add(b) }
            add(0xff)
        }
        return hash
    }

    public static func hex(_ labels: [String: String]) -> String {
        let text = String(of(labels), radix: 16)
        return String(repeating: "0", count: max(0, 16 - text.count)) + text
    }
}

/// Label names as Prometheus allows them: `[a-zA-Z_][a-zA-Z0-9_]*`.
public enum LabelName {
    public static func isValid(_ name: String) -> Bool {
        guard let first = name.utf8.first else { return false }
        func letter(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 }
        guard letter(first) else { return false }
        return name.utf8.allSatisfy { letter($0) || ($0 >= 48 && $0 <= 57) }
    }
}

/// What the silences part of Vigil says about an alert: the ids of the silences muting it.
/// Implemented by the silence store; without one nothing is silenced.
public protocol AlertMuting: Sendable {
    /// Ids of the active silences matching `labels` at `now` (empty: not silenced).
    func silences(matching labels: [String: String], at now: Timestamp) async -> [String]
    /// The same for many label sets, answered in their order: one call for a whole evaluation
    /// pass (tens of thousands of alerts), not one suspension per alert.
    func silences(matchingEach labelSets: [[String: String]], at now: Timestamp) async -> [[String]]
}

extension AlertMuting {
    /// One ``silences(matching:at:)`` call per label set.
    public func silences(matchingEach labelSets: [[String: String]], at now: Timestamp) async -> [[String]] {
        var out: [[String]] = []
        out.reserveCapacity(labelSets.count)
        for labels in labelSets { out.append(await silences(matching: labels, at: now)) }
        return out
    }
}
