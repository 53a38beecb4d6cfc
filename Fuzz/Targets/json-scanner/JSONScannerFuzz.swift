import FuzzSupport
import VigilCore
import VigilPluginProtocol

/// Any bytes: the scanner either refuses them at an offset inside the input, or gives a value
/// that the writer prints canonically and that parses back equal.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONScanner(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = input(data, size)
    let value: JSONValue
    do {
        value = try JSONValue.parse(bytes)
    } catch {
        invariant(error.offset >= 0 && error.offset <= bytes.count, "error offset \(error.offset) outside \(bytes.count) bytes")
        return 0
    }
    var writer = JSONWriter()
    writer.value(value)
    let again: JSONValue
    do {
        again = try JSONValue.parse(writer.bytes)
    } catch {
        invariant(false, "the writer's output does not parse: \(error) in \(String(decoding: writer.bytes, as: UTF8.self))")
        return 0
    }
    invariant(again == value, "round trip changed the value: \(value) -> \(again)")
    var second = JSONWriter()
    second.value(again)
    invariant(second.bytes == writer.bytes, "the writer's output is not canonical")
    return 0
}
