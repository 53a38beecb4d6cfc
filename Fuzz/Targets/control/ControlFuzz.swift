import FuzzSupport
import VigilCore
import VigilControl
import VigilPluginProtocol

/// A request line of the control socket. A decoded request written back as JSON decodes equal.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzControl(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let line = input(data, size)
    let request: ControlRequest
    do {
        request = try ControlRequest.decode(line: line)
    } catch {
        invariant(!error.description.isEmpty, "an empty refusal")
        return 0
    }
    var w = JSONWriter()
    w.value(.object(["command": .string(request.command), "args": .object(request.args)]))
    do {
        let again = try ControlRequest.decode(line: w.bytes)
        invariant(again.command == request.command && again.args == request.args, "round trip changed the request")
    } catch {
        invariant(false, "a written request does not decode: \(error)")
    }
    // The same args as a `POST /api/v1/events` batch: each event is refused with a reason or
    // read into one the rules may take (valid names, finite value, no daemon name or label).
    if case .array(let items)? = request.args["events"] {
        let now = Timestamp(nanoseconds: 1_790_000_000_000_000_000)
        for item in items.prefix(EventBatchText.maximumEvents) {
            do {
                let e = try EventBatchText.event(item, source: "http:fuzz", now: now)
                invariant(e.validationError() == nil, "kept an invalid event")
                invariant(!EventName.isReservedForDaemon(e.name), "kept a daemon name")
                invariant(!IngestEvent.securitySignals.contains(e.name) && e.lane != .security, "kept a security signal")
                invariant(!e.labels.keys.contains(where: EventName.isReservedLabel), "kept a reserved label")
                invariant(e.labels.count <= EventBatchText.maximumLabels, "kept too many labels")
                invariant((e.time ?? now) <= now + .seconds(300), "kept a time far ahead")
                invariant(e.source == "http:fuzz", "the sender chose its source")
            } catch {
                invariant(!error.description.isEmpty, "an empty refusal")
            }
        }
    }
    return 0
}
