import FuzzSupport
import VigilCore
import VigilPluginProtocol

/// An `events` frame as the daemon's hot path reads it (`PluginMessage.scan` into records, then
/// the records' spans). Every span must lie inside the payload and decode; re-encoding the events
/// the way the SDKs do must give the same events back.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEventBatch(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let payload = input(data, size)
    var records: [EventRecord] = []
    let scanned: ScannedFrame
    do {
        scanned = try payload.withUnsafeBytes { raw throws(ProtocolError) in
            try PluginMessage.scan(raw, frame: 1, records: &records)
        }
    } catch {
        invariant((error as? ProtocolError)?.frame == 1, "not a protocol error for frame 1: \(error)")
        return 0
    }
    invariant(records.isEmpty || scanned.hasEvents, "records without an events array")
    for r in records {
        check(r.name, in: payload)
        if let u = r.unit { check(u, in: payload) }
        if let l = r.labels {
            invariant(l.lowerBound >= 0 && l.upperBound <= payload.count && payload[l.lowerBound] == 0x7B
                      && payload[l.upperBound - 1] == 0x7D, "labels range \(l) is not an object of the payload")
            guard case .object(let o) = try? JSONValue.parse(Array(payload[l])) else {
                invariant(false, "labels range does not parse as an object"); return 0
            }
            invariant(o.values.allSatisfy { $0.stringValue != nil }, "a label value is not a string")
        }
        if let v = r.value { invariant(v.isFinite, "value \(v) is not finite") }
    }
    let events = EventBatch(payload: payload, records: records).events()
    // Numeric seconds cannot carry a time within a microsecond of what Int64 nanoseconds hold.
    let edge: Int64 = 9_223_372_036_000_000_000
    guard events.allSatisfy({ ($0.time?.nanoseconds.magnitude ?? 0) < UInt64(edge) }) else { return 0 }
    let frame = EventEncoding.frame(events)
    let again: [WireEvent]
    do {
        guard case .events(let batch) = try PluginMessage.decode(Array(frame.dropFirst(4)), frame: 2) else {
            invariant(false, "re-encoded events are not an events message"); return 0
        }
        again = batch.events()
    } catch {
        invariant(false, "re-encoded events do not decode: \(error)"); return 0
    }
    invariant(again.count == events.count, "\(events.count) events became \(again.count)")
    for (a, b) in zip(events, again) {
        invariant(a.name == b.name && a.unit == b.unit && a.labels == b.labels && a.value == b.value,
                  "event changed: \(a) -> \(b)")
        switch (a.time, b.time) {
        case (nil, nil): break
        case (let x?, let y?):
            invariant((x.nanoseconds - y.nanoseconds).magnitude <= 4_000, "time moved: \(x.nanoseconds) -> \(y.nanoseconds)")
        default: invariant(false, "time appeared or vanished: \(String(describing: a.time)) -> \(String(describing: b.time))")
        }
    }
    return 0
}

func check(_ span: StringSpan, in payload: [UInt8]) {
    invariant(span.start >= 1 && span.start <= span.end && span.end < payload.count
              && payload[span.start - 1] == 0x22 && payload[span.end] == 0x22, "span \(span) is not a string of the payload")
    let text = payload.withUnsafeBytes { EventRecords.string(span, in: $0) }
    invariant(span.end == span.start || !text.isEmpty, "span \(span) does not decode")
}
