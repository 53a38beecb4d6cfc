import Logging
import ServiceLifecycle
import VigilCore
import VigilHTTP
import VigilStore

/// The daemon's dead man's switches: records beats (stored before the sender is answered), and
/// tells the incident service about a heartbeat missed — as a detection rule's firing signal,
/// so it takes the same dedup and condition-cleared path as alerts and rules (one open incident
/// per heartbeat) — and, at its next beat, that the condition cleared.
///
/// Time is the injected clock's; ``HeartbeatClockService`` only says how often to look. A
/// restart loads the stored states: the deadline stays the stored last beat plus interval plus
/// grace, so downtime never earns a heartbeat a free interval.
public actor HeartbeatService: HeartbeatIntake {
    let store: Store
    let clock: any VigilClock
    let logger: Logger
    var book: HeartbeatBook
    var ladder: SeverityLadder
    var messages: [String: String] = [:]
    let deliver: @Sendable ([RuleSignal]) async -> Void

    /// Signal fingerprints of heartbeats carry this prefix: they never collide with a rule's or an alert group's.
    static let fingerprintPrefix = "heartbeat:"

    /// - Parameter deliver: hands signals to the incident service and returns once they are stored.
    public init(store: Store, heartbeats: [HeartbeatDefinition], ladder: SeverityLadder, clock: any VigilClock,
                logger: Logger, deliver: @escaping @Sendable ([RuleSignal]) async -> Void) {
        self.store = store
        self.clock = clock
        self.logger = logger
        self.ladder = ladder
        self.deliver = deliver
        self.book = HeartbeatBook(heartbeats, now: clock.now())
    }

    /// Loads the states a previous run stored; heartbeats configured for the first time start
    /// being watched now (and are stored, so the next restart keeps that start).
    public func restore() async throws {
        let records = try await store.heartbeats()
        let stored = Dictionary(records.map { ($0.name, $0.state) }, uniquingKeysWith: { a, _ in a })
        messages = Dictionary(records.compactMap { r in r.lastMessage.map { (r.name, $0) } }, uniquingKeysWith: { a, _ in a })
        let definitions = Array(book.definitions.values)
        book = HeartbeatBook(definitions, stored: stored, now: clock.now())
        let fresh = book.states.filter { stored[$0.key] == nil }
        try await store.saveHeartbeats(fresh.map { HeartbeatRecord(name: $0.key, state: $0.value) })
    }

    /// Swaps in a reloaded `heartbeats:` list and ladder. A removed heartbeat that was missed has
    /// its incident told the condition cleared (nothing will ever beat it again).
    public func replace(_ heartbeats: [HeartbeatDefinition], ladder: SeverityLadder) async {
        self.ladder = ladder
        let now = clock.now()
        let before = Set(book.states.keys)
        let removed = book.replace(heartbeats, now: now)
        if !removed.isEmpty {
            await deliver(removed.map { signal($0.0, state: $0.1, transition: .resolved, at: now) })
        }
        let gone = before.subtracting(book.states.keys)
        for name in gone { messages[name] = nil }
        let added = book.states.filter { !before.contains($0.key) }
        do {
            try await store.saveHeartbeats(added.map { HeartbeatRecord(name: $0.key, state: $0.value) }, removing: Array(gone))
        } catch {
            logger.error("heartbeats: cannot store the reloaded heartbeats", metadata: ["error": "\(error)"])
        }
        await evaluate()
    }

    // MARK: HeartbeatIntake

    public func beat(_ name: String, message: String?) async throws -> HeartbeatView? {
        let now = clock.now()
        var next = book
        guard next.beat(name, at: now) != .unknown, let state = next.states[name] else { return nil }
        // Stored before the sender is answered; the live book changes only once it is (and is
        // changed again, not overwritten: an evaluation may have run during the write).
        try await store.saveHeartbeats([HeartbeatRecord(name: name, state: state, lastMessage: message)])
        let outcome = book.beat(name, at: now)
        guard outcome != .unknown, let state = book.states[name] else { return nil }
        messages[name] = message
        if outcome == .recovered, let d = book.definitions[name] {
            logger.notice("heartbeat recovered", metadata: ["heartbeat": "\(name)"])
            await deliver([signal(d, state: state, transition: .resolved, at: now)])
        }
        return view(name)
    }

    public func heartbeats() async -> [HeartbeatView] {
        book.definitions.keys.sorted().compactMap(view)
    }

    /// Opens an incident for every heartbeat whose deadline passed since the last look, then
    /// stores that it did. Called by ``HeartbeatClockService``.
    public func evaluate() async {
        let now = clock.now()
        var next = book
        let missed = next.newlyMissed(at: now)
        guard !missed.isEmpty else { return }
        book = next
        let signals = missed.compactMap { name -> RuleSignal? in
            guard let d = book.definitions[name], let s = book.states[name] else { return nil }
            logger.warning("heartbeat missed", metadata: ["heartbeat": "\(name)",
                                                          "last_beat": "\(s.lastBeatAt.map(RFC3339.format) ?? "never")"])
            return signal(d, state: s, transition: .firing, at: now)
        }
        // Told first, stored after: a crash in between repeats the occurrence rather than losing it.
        await deliver(signals)
        do {
            try await store.saveHeartbeats(missed.compactMap { name in
                book.states[name].map { HeartbeatRecord(name: name, state: $0, lastMessage: messages[name]) }
            })
        } catch {
            logger.error("heartbeats: cannot store which heartbeats were missed", metadata: ["error": "\(error)"])
        }
    }

    func view(_ name: String) -> HeartbeatView? {
        guard let d = book.definitions[name], let s = book.states[name], let deadline = book.deadline(name) else { return nil }
        let state: HeartbeatView.State = s.missed ? .missed : (s.lastBeatAt == nil ? .waiting : .ok)
        return HeartbeatView(name: name, interval: d.interval, grace: d.grace, lastBeatAt: s.lastBeatAt,
                             deadline: deadline, state: state, lastMessage: messages[name])
    }

    func signal(_ d: HeartbeatDefinition, state s: HeartbeatState, transition: RuleSignal.Transition,
                at now: Timestamp) -> RuleSignal {
        var labels = d.labels
        labels["heartbeat"] = d.name
        if let component = d.component { labels["component"] = component }
        let deadline = (s.lastBeatAt ?? s.since) + d.interval + d.grace
        let last = s.lastBeatAt.map { "last beat at \(RFC3339.format($0))" } ?? "no beat since \(RFC3339.format(s.since))"
        let promise = "every \(DurationText.format(d.interval))"
            + (d.grace > .zero ? " (grace \(DurationText.format(d.grace)))" : "")
        let late = now - (s.lastBeatAt ?? s.since)
        return RuleSignal(transition: transition, ruleID: "heartbeat/\(d.name)", expression: "heartbeat \(d.name) \(promise)",
                          section: "heartbeats", labels: labels, fingerprint: Self.fingerprintPrefix + d.name,
                          value: transition == .firing ? Double(late.components.seconds) : 0, unit: "s",
                          firstHeldAt: min(deadline, now), at: now, incidentType: d.incidentType, severity: severity(d),
                          description: "Heartbeat \(d.name) missed: \(last), expected \(promise)")
    }

    /// The configured severity on the active ladder; Medium, then the least severe level, otherwise.
    func severity(_ d: HeartbeatDefinition) -> String? {
        if let reference = d.severity, let level = ladder.level(named: reference) { return level.code }
        if let level = ladder.level(named: AlertRouting.fallbackSeverity) { return level.code }
        return ladder.leastSevere?.code
    }
}

/// Looks for missed heartbeats each time the pacer says so, until graceful shutdown.
public struct HeartbeatClockService: Service {
    let heartbeats: HeartbeatService
    let pacer: any IncidentTickPacer

    public init(heartbeats: HeartbeatService, pacer: any IncidentTickPacer = IntervalTickPacer()) {
        self.heartbeats = heartbeats
        self.pacer = pacer
    }

    public func run() async throws {
        let (heartbeats, pacer) = (self.heartbeats, self.pacer)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await heartbeats.evaluate()
                guard await pacer.next() else { return }
            }
        }
    }
}
