import Foundation
import VigilCore

/// `POST /api/v1/agents/signals`: what a host agent forwards, and what the central daemon answers.
///
/// ```json
/// {"version": 1, "spool": "4f1c…", "spooled": 0, "agent_version": "0.1.0",
///  "signals": [{"seq": 41, "signal": { …a rule signal… }}, …]}
/// ```
///
/// `seq` numbers one spool's signals in the order they were seen; the central daemon applies each
/// once (its cursor per agent and spool moves in the same transaction) and answers the last one it
/// has, which the agent may then forget. An empty `signals` list is a call-in.
public struct AgentBatch: Sendable, Equatable {
    public struct Item: Sendable, Equatable {
        public var seq: Int64
        public var signal: RuleSignal
        public init(seq: Int64, signal: RuleSignal) {
            self.seq = seq
            self.signal = signal
        }
    }

    /// A forwarded signal the central daemon will not apply, and why. It is acknowledged all the
    /// same (a bad signal must not hold the spool back forever) and logged.
    public struct Refused: Sendable, Equatable, Codable {
        public var seq: Int64
        public var reason: String
        public init(seq: Int64, reason: String) {
            self.seq = seq
            self.reason = reason
        }
    }

    public var spool: String
    /// Signals still waiting in the agent's spool besides these.
    public var spooled: Int64
    public var agentVersion: String?
    public var items: [Item]
    public var refused: [Refused]

    public init(spool: String, spooled: Int64 = 0, agentVersion: String? = nil, items: [Item] = [], refused: [Refused] = []) {
        self.spool = spool
        self.spooled = spooled
        self.agentVersion = agentVersion
        self.items = items
        self.refused = refused
    }

    /// The highest sequence number the request carries (applied or refused), nil for a call-in.
    public var lastSeq: Int64? {
        let highest = max(items.last?.seq ?? 0, refused.map(\.seq).max() ?? 0)
        return highest > 0 ? highest : nil
    }
}

/// The central daemon's answer to a forwarded batch.
public struct AgentAcknowledgement: Sendable, Equatable, Codable {
    /// The agent's name (its token's person).
    public var agent: String
    public var spool: String
    /// Every signal up to this sequence number is applied (or refused for good): the agent may forget it.
    public var acknowledged: Int64?
    /// Signals of this request applied now.
    public var applied: Int
    /// Signals of this request already applied before (a replay).
    public var duplicates: Int
    public var refused: [AgentBatch.Refused]

    public init(agent: String, spool: String, acknowledged: Int64?, applied: Int, duplicates: Int, refused: [AgentBatch.Refused]) {
        self.agent = agent
        self.spool = spool
        self.acknowledged = acknowledged
        self.applied = applied
        self.duplicates = duplicates
        self.refused = refused
    }
}

/// Reads and checks a forwarded batch. The envelope must be right (else the whole request is a
/// 400 naming the field); each signal is checked on its own, and one that is malformed or out of
/// bounds is refused by its `seq` while the others are applied.
public enum AgentWire: WireText {
    public struct Refusal: Error, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public static let version = 1

    public static func encode(spool: String, spooled: Int64, agentVersion: String, items: [(seq: Int64, body: Data)]) -> Data {
        var out = Data()
        out.append(contentsOf: #"{"version":1,"spool":"#.utf8)
        out.append(contentsOf: jsonString(spool).utf8)
        out.append(contentsOf: #","spooled":\#(spooled),"agent_version":"#.utf8)
        out.append(contentsOf: jsonString(agentVersion).utf8)
        out.append(contentsOf: #","signals":["#.utf8)
        for (i, item) in items.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"seq":\#(item.seq),"signal":"#.utf8)
            out.append(item.body)
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }

    static func jsonString(_ s: String) -> String {
        (try? String(decoding: JSONEncoder().encode(s), as: UTF8.self)) ?? "\"\""
    }

    /// Decodes and checks a request body. `now` bounds the signals' times: a time after it (an
    /// agent whose clock runs ahead) is taken as `now`, so no incident is detected in the future.
    public static func decode(_ bytes: [UInt8], now: Timestamp) throws(Refusal) -> AgentBatch {
        guard !bytes.isEmpty else { throw Refusal(message: "the body is empty; expected {\"version\": 1, \"spool\", \"signals\": [...]}") }
        let envelope: Envelope
        do { envelope = try JSONDecoder().decode(Envelope.self, from: Data(bytes)) } catch let refusal as Refusal {
            throw refusal
        } catch {
            throw Refusal(message: Self.decodingReason(error))
        }
        guard envelope.version == Self.version else { throw Refusal(message: "version must be \(Self.version), found \(envelope.version)") }
        let spool = envelope.spool
        guard !spool.isEmpty, spool.utf8.count <= AgentLimits.maximumSpoolIDLength,
              spool.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || $0 == 45 }) else {
            throw Refusal(message: "spool must be 1 to \(AgentLimits.maximumSpoolIDLength) letters, digits and '-'")
        }
        guard (envelope.spooled ?? 0) >= 0 else { throw Refusal(message: "spooled must be 0 or more") }
        if let v = envelope.agentVersion, v.utf8.count > 64 || !v.utf8.allSatisfy({ $0 >= 32 && $0 < 127 }) {
            throw Refusal(message: "agent_version must be at most 64 printable ASCII characters")
        }
        var batch = AgentBatch(spool: spool, spooled: envelope.spooled ?? 0, agentVersion: envelope.agentVersion)
        var previous: Int64 = 0
        for (index, entry) in envelope.signals.enumerated() {
            guard entry.seq > 0 else { throw Refusal(message: "signals[\(index)].seq must be above 0") }
            guard entry.seq > previous else {
                throw Refusal(message: "signals[\(index)].seq \(entry.seq) does not follow \(previous): sequence numbers must increase")
            }
            previous = entry.seq
            switch entry.signal {
            case .failure(let reason):
                batch.refused.append(.init(seq: entry.seq, reason: "signals[\(index)].signal: \(reason.message)"))
            case .success(let signal):
                switch Self.check(signal, now: now) {
                case .success(let checked): batch.items.append(.init(seq: entry.seq, signal: checked))
                case .failure(let refusal): batch.refused.append(.init(seq: entry.seq, reason: "signals[\(index)].signal.\(refusal.message)"))
                }
            }
        }
        return batch
    }

    struct Envelope: Decodable {
        var version: Int
        var spool: String
        var spooled: Int64?
        var agentVersion: String?
        var signals: [Entry]

        enum CodingKeys: String, CodingKey {
            case version, spool, spooled, signals
            case agentVersion = "agent_version"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            version = try c.decode(Int.self, forKey: .version)
            spool = try c.decode(String.self, forKey: .spool)
            spooled = try c.decodeIfPresent(Int64.self, forKey: .spooled)
            agentVersion = try c.decodeIfPresent(String.self, forKey: .agentVersion)
            var list = try c.nestedUnkeyedContainer(forKey: .signals)
            if let count = list.count, count > AgentLimits.maximumSignalsPerRequest {
                throw Refusal(message: "signals has \(count) entries; at most \(AgentLimits.maximumSignalsPerRequest) per request")
            }
            var entries: [Entry] = []
            while !list.isAtEnd { entries.append(try list.decode(Entry.self)) }
            signals = entries
        }
    }

    /// One `{seq, signal}`: a missing or malformed `seq` refuses the request; a malformed signal
    /// only itself.
    struct Entry: Decodable {
        var seq: Int64
        var signal: Result<RuleSignal, Refusal>

        enum CodingKeys: String, CodingKey { case seq, signal }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            seq = try c.decode(Int64.self, forKey: .seq)
            do { signal = .success(try c.decode(RuleSignal.self, forKey: .signal)) } catch {
                signal = .failure(Refusal(message: AgentWire.decodingReason(error, below: c.codingPath.count + 1)))
            }
        }
    }

    /// A signal made to keep the bounds ``check(_:now:)`` holds the central daemon to, on the
    /// agent before it is spooled, so a genuine signal is never refused: label values and texts
    /// are shortened (marked with `…`), labels past the count or with names that are not label
    /// names are left out (their number in `agent_labels_dropped`), a long fingerprint keeps its
    /// head and a hash of the whole (so it stays one incident), a value that is not finite becomes
    /// the largest finite one of its sign.
    public static func fit(_ signal: RuleSignal) -> RuleSignal {
        var s = signal
        var labels: [String: String] = [:]
        var dropped = 0
        for name in s.labels.keys.sorted() {
            guard LabelName.isValid(name), name.utf8.count <= 128, labels.count < AgentLimits.maximumLabels - 1 else {
                dropped += 1
                continue
            }
            labels[name] = shortened(s.labels[name] ?? "", to: AgentLimits.maximumLabelValueBytes)
        }
        if dropped > 0 { labels["agent_labels_dropped"] = "\(dropped)" }
        s.labels = labels
        if s.fingerprint.isEmpty { s.fingerprint = "-" }
        if s.fingerprint.utf8.count > AgentLimits.maximumFingerprintBytes {
            let hash = AlertFingerprint.hex(["fingerprint": s.fingerprint])
            s.fingerprint = shortened(s.fingerprint, to: AgentLimits.maximumFingerprintBytes - 20, mark: "") + "#" + hash
        }
        if s.ruleID.isEmpty { s.ruleID = "-" }
        s.ruleID = shortened(s.ruleID, to: 256)
        let limit = AgentLimits.maximumTextBytes
        s.expression = shortened(s.expression, to: limit)
        s.unit = shortened(s.unit, to: limit)
        s.section = s.section.map { shortened($0, to: limit) }
        s.incidentType = s.incidentType.map { shortened($0, to: limit) }
        s.severity = s.severity.map { shortened($0, to: limit) }
        s.containmentCategory = s.containmentCategory.map { shortened($0, to: limit) }
        s.description = s.description.map { shortened($0, to: limit) }
        s.runbook = s.runbook.map { shortened($0, to: limit) }
        if !s.value.isFinite { s.value = s.value.isNaN ? 0 : (s.value < 0 ? -.greatestFiniteMagnitude : .greatestFiniteMagnitude) }
        return s
    }

    /// `text` cut to at most `bytes` UTF-8 bytes on a character boundary, ending with `mark` when cut.
    static func shortened(_ text: String, to bytes: Int, mark: String = "…") -> String {
        guard text.utf8.count > bytes else { return text }
        var out = ""
        var used = 0
        let room = max(0, bytes - mark.utf8.count)
        for c in text {
            let n = c.utf8.count
            if used + n > room { break }
            out.append(c)
            used += n
        }
        return out + mark
    }

    /// The bounds a forwarded signal must keep, with its future times brought back to `now`.
    static func check(_ s: RuleSignal, now: Timestamp) -> Result<RuleSignal, Refusal> {
        func fail(_ m: String) -> Result<RuleSignal, Refusal> { .failure(Refusal(message: m)) }
        guard !s.ruleID.isEmpty, s.ruleID.utf8.count <= 256 else { return fail("ruleID must be 1 to 256 bytes") }
        guard !s.fingerprint.isEmpty, s.fingerprint.utf8.count <= AgentLimits.maximumFingerprintBytes else {
            return fail("fingerprint must be 1 to \(AgentLimits.maximumFingerprintBytes) bytes")
        }
        guard s.labels.count <= AgentLimits.maximumLabels else {
            return fail("labels has \(s.labels.count) entries; at most \(AgentLimits.maximumLabels)")
        }
        for (name, value) in s.labels {
            guard LabelName.isValid(name), name.utf8.count <= 128 else {
                return fail("labels: \(quoted(String(name.prefix(64)))) is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, at most 128 bytes)")
            }
            guard value.utf8.count <= AgentLimits.maximumLabelValueBytes else {
                return fail("labels.\(name) has \(value.utf8.count) bytes; at most \(AgentLimits.maximumLabelValueBytes)")
            }
        }
        let texts: [(String, String?)] = [("expression", s.expression), ("section", s.section), ("unit", s.unit),
                                          ("incidentType", s.incidentType), ("severity", s.severity),
                                          ("containmentCategory", s.containmentCategory), ("description", s.description),
                                          ("runbook", s.runbook)]
        for (name, text) in texts {
            if let text, text.utf8.count > AgentLimits.maximumTextBytes {
                return fail("\(name) has \(text.utf8.count) bytes; at most \(AgentLimits.maximumTextBytes)")
            }
        }
        guard s.value.isFinite else { return fail("value must be a finite number") }
        // 2000-01-01 to now: older is a broken clock, later is brought back to now.
        let floor = Timestamp(nanoseconds: 946_684_800 * 1_000_000_000)
        guard s.at >= floor, s.firstHeldAt >= floor else { return fail("at and firstHeldAt must be after 2000-01-01") }
        var checked = s
        checked.at = min(s.at, now)
        checked.firstHeldAt = min(s.firstHeldAt, checked.at)
        return .success(checked)
    }

    /// A decoding error as a message naming the field (`signals[3].seq: …`); `below` drops that
    /// many leading path components (a signal's own fields are named from the signal).
    static func decodingReason(_ error: any Error, below: Int = 0) -> String {
        if let refusal = error as? Refusal { return refusal.message }
        switch error as? DecodingError {
        case .keyNotFound(let key, let c)?: return "missing \(Self.path(Array((c.codingPath + [key]).dropFirst(below))))"
        case .typeMismatch(_, let c)?, .valueNotFound(_, let c)?:
            return "\(Self.path(Array(c.codingPath.dropFirst(below)))): \(String(c.debugDescription.prefix(120)))"
        case .dataCorrupted(let c)?:
            let path = Self.path(Array(c.codingPath.dropFirst(below)))
            let reason = c.underlyingError.map { "\($0)" } ?? c.debugDescription
            return (path.isEmpty ? "the body is not valid JSON" : path) + ": " + String(reason.prefix(160))
        default: return String("\(error)".prefix(200))
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        var out = ""
        for k in keys {
            if let i = k.intValue { out += "[\(i)]" } else { out += (out.isEmpty ? "" : ".") + k.stringValue }
        }
        return out
    }
}

// MARK: Containment actions run on an agent's host

/// A containment action the central daemon asks a host agent to run on its host
/// (`POST /api/v1/agents/commands`, the agent's long poll). It was requested, approved and is
/// recorded on the central daemon like any other action; the agent only runs it and answers.
public struct AgentCommand: Codable, Sendable, Equatable {
    public struct Evidence: Codable, Sendable, Equatable {
        public var time: Timestamp
        public var source: String
        public var kind: String
        public var content: String
        public init(time: Timestamp, source: String, kind: String, content: String) {
            self.time = time
            self.source = source
            self.kind = kind
            self.content = content
        }
    }

    public var id: String
    public var action: String
    public var params: [String: JSONValue]
    public var dryRun: Bool
    public var manual: Bool
    /// The action's own deadline on the agent.
    public var deadlineMilliseconds: Int64
    /// The incident as the central daemon has it (what built-in actions and plugins act on).
    public var incident: Incident
    public var evidence: [Evidence]
    /// Set when the agent is to undo what it did for this action: its own undo record, as it
    /// answered it (``AgentCommandResult/undo``).
    public var undo: JSONValue?

    public init(id: String, action: String, params: [String: JSONValue], dryRun: Bool, manual: Bool,
                deadlineMilliseconds: Int64, incident: Incident, evidence: [Evidence]) {
        self.id = id
        self.action = action
        self.params = params
        self.dryRun = dryRun
        self.manual = manual
        self.deadlineMilliseconds = deadlineMilliseconds
        self.incident = incident
        self.evidence = evidence
    }
}

/// What a host agent answers about one ``AgentCommand`` (`POST /api/v1/agents/results`).
public struct AgentCommandResult: Codable, Sendable, Equatable {
    public var id: String
    public var ok: Bool
    /// Nothing on the agent's host can perform it (neither built in nor declared by a plugin there).
    public var unavailable: Bool
    public var detail: String
    public var evidence: [String: JSONValue]
    /// How the agent will undo it, should the central daemon ask (kept with the action there).
    public var undo: JSONValue?

    public static let maximumDetailBytes = 4096
    public static let maximumEvidenceBytes = 64 * 1024

    public init(id: String, ok: Bool, unavailable: Bool, detail: String, evidence: [String: JSONValue]) {
        self.id = id
        self.ok = ok
        self.unavailable = unavailable
        self.detail = detail
        self.evidence = evidence
    }

    /// The result cut to its bounds: a long detail is shortened, oversized evidence replaced by a note.
    public func bounded() -> AgentCommandResult {
        var r = self
        if r.detail.utf8.count > Self.maximumDetailBytes {
            r.detail = String(decoding: Array(r.detail.utf8.prefix(Self.maximumDetailBytes)), as: UTF8.self) + "…"
        }
        if JSONValue.object(r.evidence).description.utf8.count > Self.maximumEvidenceBytes {
            r.evidence = ["truncated": .string("the agent's evidence was over \(Self.maximumEvidenceBytes) bytes")]
        }
        // An undo record past the bound cannot be kept whole; without it the action cannot be undone from here.
        if let undo = r.undo, undo.description.utf8.count > Self.maximumEvidenceBytes { r.undo = nil }
        return r
    }
}

/// `POST /api/v1/agents/commands` asks for work, waiting up to `wait_seconds` for some;
/// `POST /api/v1/agents/results` answers it.
public enum AgentCommandWire {
    public static let longestWait = 30

    public struct Poll: Codable, Sendable {
        public var waitSeconds: Int
        enum CodingKeys: String, CodingKey { case waitSeconds = "wait_seconds" }
        public init(waitSeconds: Int) { self.waitSeconds = waitSeconds }
    }

    public struct Commands: Codable, Sendable {
        public var commands: [AgentCommand]
        public init(commands: [AgentCommand]) { self.commands = commands }
    }

    public struct Results: Codable, Sendable {
        public var results: [AgentCommandResult]
        public init(results: [AgentCommandResult]) { self.results = results }
    }
}
