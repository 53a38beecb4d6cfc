/// One heartbeat of the configuration (`heartbeats:`): something that promises to call
/// `POST /api/v1/heartbeats/NAME` at least every ``interval``. A promise broken for longer than
/// ``grace`` opens an incident (a dead man's switch); the next beat resolves it.
public struct HeartbeatDefinition: Sendable, Equatable {
    public var name: String
    public var interval: Duration
    /// Extra time after the interval before the beat counts as missed (late senders, clock skew).
    public var grace: Duration
    /// A row of the incident-type table; nil lets the incident service choose.
    public var incidentType: String?
    /// A severity reference on the active ladder (`P2`, `High`); nil is Medium.
    public var severity: String?
    public var component: String?
    /// Labels the incident carries besides `heartbeat="NAME"`.
    public var labels: [String: String]

    public init(name: String, interval: Duration, grace: Duration = .zero, incidentType: String? = nil,
                severity: String? = nil, component: String? = nil, labels: [String: String] = [:]) {
        self.name = name
        self.interval = interval
        self.grace = grace
        self.incidentType = incidentType
        self.severity = severity
        self.component = component
        self.labels = labels
    }

    /// Names fit in one URL path segment: `[A-Za-z0-9_.-]`, 1 to ``maximumNameLength`` bytes.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= maximumNameLength && name != "." && name != ".."
            && name.utf8.allSatisfy { c in
                (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c == 46 || c == 45
            }
    }

    public static let maximumNameLength = 128
}

/// What is remembered of one heartbeat between beats (and, stored, across restarts).
public struct HeartbeatState: Sendable, Equatable {
    /// When Vigil started watching it: the reference for a heartbeat that never beat, so a
    /// sender that never calls is noticed one interval after the heartbeat was configured.
    public var since: Timestamp
    public var lastBeatAt: Timestamp?
    /// Told to the incident service as missed, and not since as recovered.
    public var missed: Bool

    public init(since: Timestamp, lastBeatAt: Timestamp? = nil, missed: Bool = false) {
        self.since = since
        self.lastBeatAt = lastBeatAt
        self.missed = missed
    }
}

/// The heartbeats and their states: when each is due and which have been missed. Pure: the
/// daemon feeds it beats and times and persists what it returns.
public struct HeartbeatBook: Sendable, Equatable {
    public private(set) var definitions: [String: HeartbeatDefinition]
    public private(set) var states: [String: HeartbeatState]

    /// - Parameter stored: the states a previous run left; a configured heartbeat without one
    ///   starts being watched at `now`. Stored states of heartbeats no longer configured are dropped.
    public init(_ definitions: [HeartbeatDefinition], stored: [String: HeartbeatState] = [:], now: Timestamp) {
        self.definitions = Dictionary(definitions.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.states = [:]
        for name in self.definitions.keys { states[name] = stored[name] ?? HeartbeatState(since: now) }
    }

    /// The time after which the heartbeat counts as missed (last beat, or when watching began,
    /// plus interval plus grace).
    public func deadline(_ name: String) -> Timestamp? {
        guard let d = definitions[name], let s = states[name] else { return nil }
        return (s.lastBeatAt ?? s.since) + d.interval + d.grace
    }

    /// What a beat changed.
    public enum BeatOutcome: Sendable, Equatable {
        /// Not a configured heartbeat.
        case unknown
        /// Recorded; the heartbeat was not missed.
        case recorded
        /// Recorded, and the heartbeat had been missed: its incident's condition cleared.
        case recovered
    }

    /// Records a beat at `now`.
    public mutating func beat(_ name: String, at now: Timestamp) -> BeatOutcome {
        guard definitions[name] != nil, var s = states[name] else { return .unknown }
        let wasMissed = s.missed
        // A beat delivered late (clock skew, a retried request) never moves the last beat back.
        if s.lastBeatAt.map({ $0 < now }) ?? true { s.lastBeatAt = now }
        s.missed = false
        states[name] = s
        return wasMissed ? .recovered : .recorded
    }

    /// Heartbeats whose deadline passed before `now` and that were not yet missed, now marked missed.
    public mutating func newlyMissed(at now: Timestamp) -> [String] {
        var out: [String] = []
        for name in definitions.keys.sorted() {
            guard let s = states[name], !s.missed, let deadline = deadline(name), now > deadline else { continue }
            states[name]?.missed = true
            out.append(name)
        }
        return out
    }

    /// Swaps in a reloaded list: kept heartbeats keep their state (a changed interval applies to
    /// the last beat already seen), new ones start being watched at `now`. Returns the removed
    /// heartbeats that were missed: their incidents should be told the condition cleared.
    public mutating func replace(_ new: [HeartbeatDefinition], now: Timestamp) -> [(HeartbeatDefinition, HeartbeatState)] {
        let old = (definitions, states)
        self = HeartbeatBook(new, stored: states, now: now)
        return old.0.keys.sorted().compactMap { name in
            guard definitions[name] == nil, let d = old.0[name], let s = old.1[name], s.missed else { return nil }
            return (d, s)
        }
    }
}
