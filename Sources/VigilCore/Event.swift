/// An interned string: metric names, sources, units, label keys and values travel as these
/// 4-byte ids on the hot path, so an ``Event`` is a small trivially-copyable value with no
/// reference counting.
public struct Symbol: Hashable, Sendable, Comparable, Codable {
    public var id: UInt32
    public init(id: UInt32) { self.id = id }
    /// The empty string; id 0 in every table.
    public static let none = Symbol(id: 0)
    public static func < (a: Symbol, b: Symbol) -> Bool { a.id < b.id }
}

/// An interned, sorted set of labels (`{plugin="system-metrics", disk="/"}`); id 0 is the empty set.
public struct LabelSetID: Hashable, Sendable, Codable {
    public var id: UInt32
    public init(id: UInt32) { self.id = id }
    public static let empty = LabelSetID(id: 0)
}

/// The bus lane an event travels on; lanes differ in what they may lose.
public enum Lane: UInt8, CaseIterable, Sendable, Codable, CustomStringConvertible {
    /// Breaches, tampering, authentication: never dropped.
    case security = 0
    /// Signals that open or change incidents: never dropped.
    case incident = 1
    /// Metric samples: may be shed oldest-first under pressure, every shed sample counted.
    case telemetry = 2

    public var description: String {
        switch self {
        case .security: "security"
        case .incident: "incident"
        case .telemetry: "telemetry"
        }
    }

    public init?(name: String) {
        switch name {
        case "security": self = .security
        case "incident": self = .incident
        case "telemetry": self = .telemetry
        default: return nil
        }
    }
}

/// Whether an event is a measured value or an occurrence.
public enum EventKind: UInt8, Sendable, Codable {
    /// A sample of a named metric with a value (`cpu_usage` = 93 `%`).
    case metric = 0
    /// Something happened (`plugin_isolation_breach_detected`); ``Event/value`` is 1.
    case signal = 1
}

/// The unit of immutable value every source puts on the bus.
///
/// 40 bytes, no references: names, unit, source and labels are interned through a
/// ``SymbolTable`` owned by the daemon.
public struct Event: Sendable, Equatable {
    public var time: Timestamp
    public var value: Double
    public var name: Symbol
    public var source: Symbol
    public var unit: Symbol
    public var labels: LabelSetID
    public var kind: EventKind
    public var lane: Lane

    public init(kind: EventKind, lane: Lane, name: Symbol, value: Double, unit: Symbol = .none,
                source: Symbol = .none, labels: LabelSetID = .empty, time: Timestamp) {
        self.kind = kind
        self.lane = lane
        self.name = name
        self.value = value
        self.unit = unit
        self.source = source
        self.labels = labels
        self.time = time
    }
}
