import VigilCore

/// A frame's top-level object after scanning: its `type` and other members. When the frame
/// has an `events` array, its events went into the caller's record buffer instead.
public struct ScannedFrame: Sendable {
    public var type: String
    public var members: [String: JSONValue]
    public var hasEvents: Bool
}

extension PluginMessage {
    /// Scans one frame payload. `records` receives the events of an `events` array (appended);
    /// the daemon's hot path uses this directly and never builds a ``PluginMessage`` for events.
    public static func scan(_ payload: UnsafeRawBufferPointer, frame: Int,
                            records: inout [EventRecord]) throws(ProtocolError) -> ScannedFrame {
        guard JSONScanner.isValidUTF8(payload) else {
            throw .invalidJSON(frame: frame, offset: 0, problem: "the frame is not valid UTF-8")
        }
        var s = JSONScanner(payload)
        var type: String?
        var members: [String: JSONValue] = [:]
        var hasEvents = false
        do throws(JSONScanError) {
            try s.expect(0x7B, "a JSON object")
            if try s.peek() != 0x7D {
                repeat {
                    let key = try s.stringSpan()
                    try s.expect(0x3A, "':'")
                    if s.spanEquals(key, "events"), try s.peek() == 0x5B {
                        try EventRecords.parseArray(&s, into: &records)
                        hasEvents = true
                    } else if s.spanEquals(key, "type"), try s.peek() == 0x22 {
                        type = try s.string()
                    } else {
                        let name = JSONScanner.decode(key, in: payload) ?? ""
                        members[name] = try s.value(depth: 1)
                    }
                } while try s.nextItem(closer: 0x7D)
            } else {
                s.index += 1
            }
            try s.finish()
        } catch {
            throw .invalidJSON(frame: frame, offset: error.offset, problem: error.problem)
        }
        guard let type else {
            throw .invalidMessage(frame: frame, type: "?", field: "type", problem: "is missing or not a string")
        }
        return ScannedFrame(type: type, members: members, hasEvents: hasEvents)
    }

    /// Decodes one frame payload into a message.
    public static func decode(_ payload: UnsafeRawBufferPointer, frame: Int) throws(ProtocolError) -> PluginMessage {
        var records: [EventRecord] = []
        let scanned = try scan(payload, frame: frame, records: &records)
        return try from(scanned, frame: frame, payload: payload, records: records)
    }

    /// Decodes one frame payload into a message.
    public static func decode(_ payload: [UInt8], frame: Int) throws(ProtocolError) -> PluginMessage {
        try payload.withUnsafeBytes { raw in Result { () throws(ProtocolError) in try decode(raw, frame: frame) } }.get()
    }

    /// Builds the message from a scanned frame.
    public static func from(_ scanned: ScannedFrame, frame: Int, payload: UnsafeRawBufferPointer,
                            records: [EventRecord]) throws(ProtocolError) -> PluginMessage {
        let f = MessageFields(frame: frame, type: scanned.type, members: scanned.members)
        switch scanned.type {
        case "hello":
            return .hello(Hello(protocolVersion: try f.int("protocol"), plugin: try f.string("plugin"),
                                version: try f.optionalString("version") ?? ""))
        case "welcome":
            return .welcome(Welcome(protocolVersion: try f.int("protocol"), config: f.members["config"] ?? .object([:])))
        case "reject":
            return .reject(reason: try f.string("reason"))
        case "events":
            guard scanned.hasEvents else {
                throw .invalidMessage(frame: frame, type: "events", field: "events", problem: "is missing or not an array")
            }
            return .events(EventBatch(payload: Array(payload), records: records))
        case "notify":
            let message = try f.object("message")
            let text = MessageFields(frame: frame, type: "notify", members: message)
            return .notify(NotifyRequest(id: try f.id(), incident: f.members["incident"] ?? .null,
                                         message: NotificationText(title: try text.string("title"), body: try text.optionalString("body") ?? ""),
                                         deadlineMilliseconds: try f.int64("deadline_ms")))
        case "act":
            return .act(ActRequest(id: try f.id(), action: try f.string("action"), params: try f.optionalObject("params") ?? [:],
                                   incident: f.members["incident"] ?? .null, dryRun: try f.optionalBool("dry_run") ?? false,
                                   deadlineMilliseconds: try f.int64("deadline_ms")))
        case "result":
            return .result(PluginResult(id: try f.id(), ok: try f.bool("ok"), detail: try f.optionalString("detail") ?? "",
                                        evidence: try f.optionalObject("evidence") ?? [:]))
        case "ping": return .ping(seq: try f.optionalInt64("seq") ?? 0)
        case "pong": return .pong(seq: try f.optionalInt64("seq") ?? 0)
        case "shutdown": return .shutdown(reason: try f.optionalString("reason") ?? "")
        case "log":
            return .log(LogLine(level: try f.optionalString("level") ?? "info", message: try f.string("message")))
        default:
            throw .unknownType(frame: frame, type: scanned.type)
        }
    }

    // MARK: encoding

    /// The JSON payload of this message (without the length prefix).
    public func encodedPayload() -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"type\":")
        w.string(typeName)
        switch self {
        case .hello(let h):
            w.raw(",\"protocol\":"); w.integer(Int64(h.protocolVersion))
            w.raw(",\"plugin\":"); w.string(h.plugin)
            w.raw(",\"version\":"); w.string(h.version)
        case .welcome(let m):
            w.raw(",\"protocol\":"); w.integer(Int64(m.protocolVersion))
            w.raw(",\"config\":"); w.value(m.config)
        case .reject(let reason):
            w.raw(",\"reason\":"); w.string(reason)
        case .events(let batch):
            w.raw(",\"events\":[")
            for (k, e) in batch.events().enumerated() {
                if k > 0 { w.byte(0x2C) }
                EventEncoding.write(e, to: &w)
            }
            w.byte(0x5D)
        case .notify(let n):
            w.raw(",\"id\":"); w.string(n.id)
            w.raw(",\"incident\":"); w.value(n.incident)
            w.raw(",\"message\":{\"title\":"); w.string(n.message.title)
            w.raw(",\"body\":"); w.string(n.message.body)
            w.raw("},\"deadline_ms\":"); w.integer(n.deadlineMilliseconds)
        case .act(let a):
            w.raw(",\"id\":"); w.string(a.id)
            w.raw(",\"action\":"); w.string(a.action)
            w.raw(",\"params\":"); w.value(.object(a.params))
            w.raw(",\"incident\":"); w.value(a.incident)
            w.raw(",\"dry_run\":"); w.bool(a.dryRun)
            w.raw(",\"deadline_ms\":"); w.integer(a.deadlineMilliseconds)
        case .result(let r):
            w.raw(",\"id\":"); w.string(r.id)
            w.raw(",\"ok\":"); w.bool(r.ok)
            w.raw(",\"detail\":"); w.string(r.detail)
            w.raw(",\"evidence\":"); w.value(.object(r.evidence))
        case .ping(let seq), .pong(let seq):
            w.raw(",\"seq\":"); w.integer(seq)
        case .shutdown(let reason):
            w.raw(",\"reason\":"); w.string(reason)
        case .log(let line):
            w.raw(",\"level\":"); w.string(line.level)
            w.raw(",\"message\":"); w.string(line.message)
        }
        w.byte(0x7D)
        return w.bytes
    }

    /// This message as a complete frame (length prefix and payload).
    public func encodedFrame() -> [UInt8] { Frame.encode(encodedPayload()) }
}

/// Writing events the way the SDKs batch them.
public enum EventEncoding {
    /// Appends one event object.
    public static func write(_ e: WireEvent, to w: inout JSONWriter) {
        w.raw("{\"name\":"); w.string(e.name)
        if let v = e.value, v.isFinite { w.raw(",\"value\":"); w.number(v) }
        if !e.unit.isEmpty { w.raw(",\"unit\":"); w.string(e.unit) }
        if !e.labels.isEmpty { w.raw(",\"labels\":"); w.labels(e.labels) }
        if let t = e.time { w.raw(",\"time\":"); w.number(t.seconds) }
        w.byte(0x7D)
    }

    /// A complete `events` frame for `events`.
    public static func frame(_ events: [WireEvent]) -> [UInt8] {
        var w = JSONWriter(capacity: 64 + events.count * 96)
        w.raw("{\"type\":\"events\",\"events\":[")
        for (k, e) in events.enumerated() {
            if k > 0 { w.byte(0x2C) }
            write(e, to: &w)
        }
        w.raw("]}")
        return Frame.encode(w.bytes)
    }
}

/// Typed access to a message's members, with errors naming frame, type and field.
struct MessageFields {
    let frame: Int
    let type: String
    let members: [String: JSONValue]

    func problem(_ field: String, _ text: String) -> ProtocolError {
        .invalidMessage(frame: frame, type: type, field: field, problem: text)
    }

    func string(_ key: String) throws(ProtocolError) -> String {
        guard let v = try optionalString(key) else { throw problem(key, "is missing") }
        return v
    }

    func optionalString(_ key: String) throws(ProtocolError) -> String? {
        guard let v = members[key], v != .null else { return nil }
        guard let s = v.stringValue else { throw problem(key, "must be a string") }
        return s
    }

    func optionalInt64(_ key: String) throws(ProtocolError) -> Int64? {
        guard let v = members[key], v != .null else { return nil }
        guard let n = v.doubleValue, n.rounded() == n, abs(n) < 9.2e18 else { throw problem(key, "must be a whole number") }
        return Int64(n)
    }

    func int64(_ key: String) throws(ProtocolError) -> Int64 {
        guard let v = try optionalInt64(key) else { throw problem(key, "is missing") }
        return v
    }

    func int(_ key: String) throws(ProtocolError) -> Int {
        let v = try int64(key)
        guard let i = Int(exactly: v) else { throw problem(key, "is out of range") }
        return i
    }

    func bool(_ key: String) throws(ProtocolError) -> Bool {
        guard let v = try optionalBool(key) else { throw problem(key, "is missing") }
        return v
    }

    func optionalBool(_ key: String) throws(ProtocolError) -> Bool? {
        guard let v = members[key], v != .null else { return nil }
        guard let b = v.boolValue else { throw problem(key, "must be true or false") }
        return b
    }

    func object(_ key: String) throws(ProtocolError) -> [String: JSONValue] {
        guard let v = try optionalObject(key) else { throw problem(key, "is missing") }
        return v
    }

    func optionalObject(_ key: String) throws(ProtocolError) -> [String: JSONValue]? {
        guard let v = members[key], v != .null else { return nil }
        guard let o = v.objectValue else { throw problem(key, "must be an object") }
        return o
    }

    /// Request ids are strings; a number is accepted and read as its decimal text.
    func id() throws(ProtocolError) -> String {
        switch members["id"] {
        case .string(let s)?: return s
        case .number(let n)? where n.rounded() == n && abs(n) < 9e15: return String(Int64(n))
        case nil, .null?: throw problem("id", "is missing")
        default: throw problem("id", "must be a string")
        }
    }
}
