import FuzzSupport
import VigilCore
import VigilPluginProtocol

/// A frame payload of any message type. A decoded message re-encodes to a payload that decodes to
/// the same message (events: the same events), and its complete frame goes through the frame
/// decoder unchanged.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessageCodec(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let payload = input(data, size)
    let message: PluginMessage
    do {
        message = try PluginMessage.decode(payload, frame: 7)
    } catch {
        invariant(error.frame == 7, "error names frame \(error.frame)")
        _ = error.description
        return 0
    }
    if case .events(let batch) = message,
       batch.events().contains(where: { ($0.time?.nanoseconds.magnitude ?? 0) >= 9_223_372_036_000_000_000 }) {
        return 0  // numeric seconds cannot carry these times exactly (see the event-batch target)
    }
    let encoded = message.encodedPayload()
    let again: PluginMessage
    do {
        again = try PluginMessage.decode(encoded, frame: 8)
    } catch {
        invariant(false, "re-encoded \(message.typeName) does not decode: \(error): \(String(decoding: encoded, as: UTF8.self))")
        return 0
    }
    switch (message, again) {
    case (.events(let a), .events(let b)):
        let (x, y) = (a.events(), b.events())
        invariant(x.count == y.count, "\(x.count) events became \(y.count)")
        for (e, f) in zip(x, y) {
            invariant(e.name == f.name && e.unit == f.unit && e.labels == f.labels && e.value == f.value
                      && (e.time == nil) == (f.time == nil), "event changed: \(e) -> \(f)")
        }
    default:
        invariant(again == message, "round trip changed the message: \(message) -> \(again)")
    }
    var decoder = FrameDecoder(maximumFrameBytes: max(encoded.count, 16), initialCapacity: 16)
    decoder.append(message.encodedFrame())
    do {
        let framed = try decoder.nextMessage()
        invariant(framed.map { $0.encodedPayload() == encoded } ?? false, "the framed message differs")
    } catch {
        invariant(false, "the encoded frame does not decode: \(error)")
    }
    return 0
}
