import VigilCore

/// One event of an `events` frame, as positions in the frame's payload: nothing is decoded or
/// allocated until a consumer asks, so the daemon can intern by raw bytes.
public struct EventRecord: Sendable, Equatable {
    /// The event's `name` string.
    public var name: StringSpan
    /// The `unit` string, if present.
    public var unit: StringSpan?
    /// The raw bytes of the `labels` object (braces included), if present and not empty.
    public var labels: Range<Int>?
    /// The `value`; nil for a signal (no value, or `null`).
    public var value: Double?
    /// The `time`, if the plugin gave one.
    public var time: Timestamp?
}

/// A decoded event with its strings, for tests, the SDK and slow paths.
public struct WireEvent: Sendable, Equatable {
    public var name: String
    /// Nil for a signal.
    public var value: Double?
    public var unit: String
    public var labels: [String: String]
    public var time: Timestamp?

    public init(name: String, value: Double? = nil, unit: String = "", labels: [String: String] = [:], time: Timestamp? = nil) {
        self.name = name
        self.value = value
        self.unit = unit
        self.labels = labels
        self.time = time
    }
}

/// The events of one `events` frame: the payload bytes and where each event lies in them.
public struct EventBatch: Sendable, Equatable {
    public var payload: [UInt8]
    public var records: [EventRecord]

    public init(payload: [UInt8], records: [EventRecord]) {
        self.payload = payload
        self.records = records
    }

    public var count: Int { records.count }

    /// Every event with its strings decoded.
    public func events() -> [WireEvent] {
        payload.withUnsafeBytes { bytes in records.map { EventRecords.decode($0, in: bytes) } }
    }
}

/// Parsing and decoding of event records.
public enum EventRecords {
    /// Decodes one record's strings (the scanner already validated them; invalid UTF-8 was refused).
    public static func decode(_ r: EventRecord, in bytes: UnsafeRawBufferPointer) -> WireEvent {
        WireEvent(name: string(r.name, in: bytes), value: r.value, unit: r.unit.map { string($0, in: bytes) } ?? "",
                  labels: r.labels.map { labels($0, in: bytes) } ?? [:], time: r.time)
    }

    /// The text of a span.
    public static func string(_ span: StringSpan, in bytes: UnsafeRawBufferPointer) -> String {
        JSONScanner.decode(span, in: bytes) ?? ""
    }

    /// The labels object at `range` as a dictionary.
    public static func labels(_ range: Range<Int>, in bytes: UnsafeRawBufferPointer) -> [String: String] {
        guard let v = try? JSONValue.parse(UnsafeRawBufferPointer(rebasing: bytes[range])),
              let object = v.objectValue else { return [:] }
        return object.compactMapValues(\.stringValue)
    }

    /// Parses the `events` array at the scanner's position into `records`.
    static func parseArray(_ s: inout JSONScanner, into records: inout [EventRecord]) throws(JSONScanError) {
        try s.expect(0x5B, "'[' opening the events array")
        if try s.peek() == 0x5D { s.index += 1; return }
        repeat { records.append(try parseEvent(&s)) } while try s.nextItem(closer: 0x5D)
    }

    private static func parseEvent(_ s: inout JSONScanner) throws(JSONScanError) -> EventRecord {
        let objectStart = s.index
        try s.expect(0x7B, "an event object")
        var record = EventRecord(name: StringSpan(start: 0, end: 0, escaped: false), unit: nil, labels: nil, value: nil, time: nil)
        var sawName = false
        if try s.peek() != 0x7D {
            repeat {
                let key = try s.stringSpan()
                try s.expect(0x3A, "':'")
                if s.spanEquals(key, "name") {
                    let at = s.index
                    record.name = try s.stringSpan()
                    guard s.isValidText(record.name) else { throw s.fail("name is not valid UTF-8", at: at) }
                    sawName = true
                } else if s.spanEquals(key, "value") {
                    if try s.peek() == 0x6E { try s.literal("null") } else {
                        guard try s.peek() == 0x2D || (0x30...0x39).contains(s.bytes[s.index]) else {
                            throw s.fail("event value must be a number or null")
                        }
                        record.value = try s.number()
                    }
                } else if s.spanEquals(key, "unit") {
                    let at = s.index
                    let unit = try s.stringSpan()
                    guard s.isValidText(unit) else { throw s.fail("unit is not valid UTF-8", at: at) }
                    record.unit = unit
                } else if s.spanEquals(key, "labels") {
                    record.labels = try parseLabels(&s)
                } else if s.spanEquals(key, "time") {
                    record.time = try parseTime(&s)
                } else {
                    try s.skipValue(depth: 2)
                }
            } while try s.nextItem(closer: 0x7D)
        } else {
            s.index += 1
        }
        guard sawName else { throw s.fail("event has no \"name\"", at: objectStart) }
        return record
    }

    /// Validates a labels object (string values only) and returns its raw range; nil when empty.
    private static func parseLabels(_ s: inout JSONScanner) throws(JSONScanError) -> Range<Int>? {
        _ = try s.peek()
        let start = s.index
        try s.expect(0x7B, "a labels object")
        if try s.peek() == 0x7D { s.index += 1; return nil }
        repeat {
            let keyAt = s.index
            let key = try s.stringSpan()
            try s.expect(0x3A, "':'")
            guard try s.peek() == 0x22 else { throw s.fail("label values must be strings") }
            let valueAt = s.index
            let value = try s.stringSpan()
            // The payload's UTF-8 was validated as a whole; escapes can still hide a lone surrogate.
            guard s.isValidText(key) else { throw s.fail("label key is not valid UTF-8", at: keyAt) }
            guard s.isValidText(value) else { throw s.fail("label value is not valid UTF-8", at: valueAt) }
        } while try s.nextItem(closer: 0x7D)
        return start..<s.index
    }

    private static func parseTime(_ s: inout JSONScanner) throws(JSONScanError) -> Timestamp? {
        switch try s.peek() {
        case 0x6E: try s.literal("null"); return nil
        case 0x22:
            let at = s.index
            let text = try s.string()
            guard let t = RFC3339.parse(text) else {
                throw s.fail("time \"\(text.prefix(64))\" is not RFC 3339 between 1677 and 2262", at: at)
            }
            return t
        default:
            let at = s.index
            let seconds = try s.number()
            guard let t = Timestamp(checkedSeconds: seconds) else { throw s.fail("time out of range", at: at) }
            return t
        }
    }
}
