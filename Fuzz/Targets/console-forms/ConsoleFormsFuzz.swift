import FuzzSupport
import VigilHTTP

/// A web console form body (`application/x-www-form-urlencoded`) from a browser or an attacker.
/// Whatever it is: no crash; a refusal names its problem; a form read is within the limits
/// (fields, name length) and reading `required`/`optional` with a limit never returns more.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConsoleForms(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = input(data, size)
    do {
        let form = try FormBody.parse(bytes)
        invariant(bytes.count <= FormBody.maximumBytes, "a form of \(bytes.count) bytes was read")
        invariant(form.fields.count <= FormBody.maximumFields, "\(form.fields.count) fields were read")
        for field in form.fields {
            invariant(field.name.utf8.count <= FormBody.maximumNameBytes, "a field name of \(field.name.utf8.count) bytes")
            if let v = try? form.optional(field.name, label: "x", limit: 10) {
                invariant(v.count <= 10 && !v.isEmpty, "optional returned \(v.count) characters over a limit of 10")
            }
        }
    } catch {
        invariant(!error.description.isEmpty, "an empty refusal")
    }
    return 0
}
