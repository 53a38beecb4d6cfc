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
    return 0
}
