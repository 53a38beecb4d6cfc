import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VigilConfig
import VigilControl
import VigilCore
import VigilRules
import VigilStore

/// The samples the detection keeps around rule incidents: a ``RuleSampleRecorder`` fed from
/// ``Detection``'s hot path, and a writer that stores what it hands out.
///
/// ``Detection`` holds one of these (its `recording`) and calls ``record(_:)`` with every batch
/// before the rules see it, and ``observe(_:)`` with every batch of signals the rules produce.
struct RuleSampleRecording: Sendable {
    var recorder: RuleSampleRecorder
    let writer: RuleSampleWriter

    init(rules: RuleSet, symbols: SymbolTable, settings: SampleRecordingSettings, writer: RuleSampleWriter) {
        recorder = RuleSampleRecorder(rules: rules, symbols: symbols, settings: settings)
        self.writer = writer
    }

    @inline(__always)
    mutating func record(_ events: [Event]) { recorder.record(events) }

    /// Starts and ends episodes as the signals say, and hands what is queued to the writer.
    mutating func observe(_ signals: [RuleSignal]) {
        if !signals.isEmpty { recorder.observe(signals) }
        let out = recorder.drain()
        if !out.isEmpty { writer.submit(out) }
    }

    mutating func replace(_ rules: RuleSet) { recorder = recorder.replacing(rules) }
}

extension Detection {
    /// Starts keeping samples around rule incidents.
    func setRecording(_ recording: RuleSampleRecording) { self.recording = recording }
    /// Samples queued for the writer so far, and episodes still recorded.
    var recordingState: (recorded: Int, active: [String]) {
        (recording?.recorder.recorded ?? 0, recording?.recorder.activeFingerprints ?? [])
    }
}

/// Resolves recorded samples to NDJSON lines and stores them, off the detection's actor: one
/// batch at a time through the store's writer queue. At most `queueLimit` batches wait; beyond
/// that new ones are dropped and counted. Deletes recordings past the retention once an hour.
final class RuleSampleWriter: Sendable {
    let store: Store
    let symbols: SymbolTable
    let clock: any VigilClock
    let retention: Duration
    let logger: Logger
    private let stream: AsyncStream<[RecordedSamples]>
    private let continuation: AsyncStream<[RecordedSamples]>.Continuation
    private let counters = Mutex<(written: Int, dropped: Int, lastPrune: Int64, queued: Int)>((0, 0, .min, 0))
    /// The most samples waiting to be written, all batches together (a slow store and a storm
    /// of alerts must not pile the rings' contents up in memory).
    let queuedSampleLimit: Int

    init(store: Store, symbols: SymbolTable, clock: any VigilClock, retention: Duration, logger: Logger, queueLimit: Int = 256,
         queuedSampleLimit: Int = 500_000) {
        self.queuedSampleLimit = queuedSampleLimit
        self.store = store
        self.symbols = symbols
        self.clock = clock
        self.retention = retention
        self.logger = logger
        (stream, continuation) = AsyncStream.makeStream(of: [RecordedSamples].self, bufferingPolicy: .bufferingOldest(queueLimit))
    }

    /// Samples written and batches dropped (queue full) so far.
    var statistics: (written: Int, dropped: Int) { counters.withLock { ($0.written, $0.dropped) } }

    func submit(_ batches: [RecordedSamples]) {
        let samples = batches.reduce(0) { $0 &+ $1.events.count }
        let admitted = counters.withLock { c -> Bool in
            guard c.queued <= queuedSampleLimit &- samples else { c.dropped += 1; return false }
            c.queued += samples
            return true
        }
        guard admitted else { return }
        if case .dropped = continuation.yield(batches) {
            counters.withLock { $0.dropped += 1; $0.queued -= samples }
        }
    }

    func finish() { continuation.finish() }

    /// Writes until ``finish()`` (or cancellation).
    func run() async {
        for await batches in stream {
            let samples = batches.reduce(0) { $0 &+ $1.events.count }
            await write(batches)
            counters.withLock { $0.queued -= samples }
        }
    }

    func write(_ batches: [RecordedSamples]) async {
        let out = batches.map { b in
            RuleSampleBatch(ruleID: b.ruleID, fingerprint: b.fingerprint, episode: b.episode.nanoseconds,
                            leadInFrom: b.leadInFrom?.nanoseconds, endedAt: b.endedAt?.nanoseconds, truncated: b.truncated,
                            lines: b.events.map { ($0.time.nanoseconds, SampleRecording.line(sample($0))) })
        }
        do {
            try await store.saveRuleSamples(out)
            counters.withLock { $0.written += out.reduce(0) { $0 + $1.lines.count } }
        } catch {
            logger.warning("recorded rule samples not stored", metadata: ["error": "\(error)"])
        }
        let now = clock.now().nanoseconds
        let due = counters.withLock { c -> Bool in
            guard c.lastPrune == .min || now - c.lastPrune > 3_600_000_000_000 else { return false }
            c.lastPrune = now
            return true
        }
        if due {
            do { try await store.pruneRuleSamples(before: now &- retention.nanoseconds) } catch {
                logger.warning("old rule recordings not pruned", metadata: ["error": "\(error)"])
            }
        }
    }

    func sample(_ e: Event) -> ReplaySample {
        ReplaySample(kind: e.kind, name: symbols.name(e.name), value: e.value, unit: symbols.name(e.unit),
                     labels: symbols.labels(e.labels), source: symbols.name(e.source), time: e.time)
    }
}

/// Runs the ``RuleSampleWriter`` as one of the daemon's services.
struct RuleSampleWriterService: Service {
    let writer: RuleSampleWriter

    func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler { await writer.run() } onGracefulShutdown: { writer.finish() }
        } onCancel: { writer.finish() }
    }
}

/// `rules.samples`: the recorded samples of one incident (`incident`) or of a rule's incidents
/// (`rule`), as NDJSON lines `vigil rules test --replay` reads.
enum RuleSampleQuery {
    static let maximumIncidents = 200
    static let maximumSamples = 200_000

    static func handle(_ r: ControlRequest, store: Store, clock: any VigilClock) async throws -> JSONValue {
        let incidentID = r.optionalString("incident")
        let ruleID = r.optionalString("rule")
        guard (incidentID == nil) != (ruleID == nil) else {
            throw ControlFailure("rules.samples needs exactly one of \"incident\" (an incident id) or \"rule\" (a rule id)")
        }
        var limit = maximumIncidents
        if let l = r.args["limit"] {
            guard let n = l.doubleValue, n.isFinite, n >= 1, n <= Double(maximumIncidents), n == n.rounded() else {
                throw ControlFailure("limit: a whole number from 1 to \(maximumIncidents)")
            }
            limit = Int(n)
        }
        var incidents: [Incident]
        if let incidentID {
            guard incidentID.utf8.count <= 200, !incidentID.isEmpty,
                  incidentID.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 32 && $0.value < 127 }) else {
                throw ControlFailure("incident: not an incident id")
            }
            guard let incident = try await store.incident(id: incidentID) else {
                throw ControlFailure("no incident \(incidentID)", kind: .notFound)
            }
            guard incident.source.hasPrefix("rule:"), incident.fingerprint != nil else {
                throw ControlFailure("incident \(incidentID) was not opened by a rule (source \(incident.source)); "
                                     + "only a rule's incidents have recorded samples", kind: .conflict)
            }
            incidents = [incident]
        } else {
            let id = ruleID ?? ""
            guard id.utf8.count <= 200, RuleIdentifiers.isValid(id) else {
                throw ControlFailure("rule: not a rule id (letters, digits, '_', '-', '.' and ':')")
            }
            incidents = try await store.incidents(source: "rule:\(id)", limit: limit)
        }
        var budget = maximumSamples
        var truncated = false
        var out: [RuleSamplesView.Incident] = []
        for i in incidents {
            guard let fingerprint = i.fingerprint else { continue }
            // Episodes after it was resolved (or dismissed) belong to the next incident of the alert.
            let end = [i.resolvedAt, i.closedAt].compactMap { $0 }.min()
            let episodes = try await store.ruleRecordings(fingerprint: fingerprint, from: i.detectedAt.nanoseconds,
                                                          to: end?.nanoseconds)
            var lines: [String] = []
            var cut = false
            for e in episodes {
                guard budget > 0 else { cut = true; truncated = true; break }
                let got = try await store.ruleSamples(fingerprint: fingerprint, episode: e.episode, limit: budget + 1)
                if got.count > budget { cut = true; truncated = true }
                let kept = got.prefix(budget)
                budget -= kept.count
                lines += kept
                cut = cut || e.truncated
            }
            let ended = episodes.last?.endedAt.map { Timestamp(nanoseconds: $0) }
            let finished = [.resolved, .postMortem, .closed].contains(i.state) || i.resolution != nil
            out.append(RuleSamplesView.Incident(id: i.id, title: i.title, state: i.state.rawValue, source: i.source,
                                         fingerprint: fingerprint, falsePositive: i.resolution?.falsePositive,
                                         finished: finished, detectedAt: i.detectedAt.rfc3339, end: ended?.rfc3339,
                                         truncated: cut, episodes: episodes.count, samples: lines))
        }
        return try JSONValue.encoding(RuleSamplesView(rule: ruleID, incidents: out, truncated: truncated))
    }
}
