import FuzzSupport
import VigilMatchers
import VigilSilences

/// Matcher text as operators, `amtool` and HTTP filters send it, and the regex engine behind it.
/// A list that parses prints in a form that parses back to the same list; a regex that compiles
/// runs on text derived from the input without trapping, and its negation says the opposite.
/// The same bytes as a `POST /api/v2/silences` body: refused with a 400 or 422, or a draft.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMatchers(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = input(data, size)
    do { _ = try AlertmanagerSilenceSchema.decodePostable(bytes) } catch {
        invariant(error.status == 400 || error.status == 422, "a body refused with \(error.status)")
    }
    guard let text = String(validating: bytes, as: UTF8.self) else { return 0 }
    if let list = try? LabelMatchers.parse(text) {
        let printed = list.description
        do {
            let again = try LabelMatchers.parse(printed)
            invariant(again == list, "printing changed the matchers: \(printed) reads as \(again)")
        } catch {
            invariant(false, "the printed matchers do not parse: \(printed): \(error)")
        }
        var labels: [String: String] = [:]
        for m in list.matchers { labels[m.name] = String(text.prefix(64)) }
        _ = list.matches(labels)
    }
    // The whole input as one regex, matched against the input itself and a few fixed texts.
    if let re = try? LabelMatcher(name: "l", type: .regexp, value: text),
       let not = try? LabelMatcher(name: "l", type: .notRegexp, value: text) {
        for candidate in [text, "", "a", String(text.reversed())] {
            invariant(re.matches(value: candidate) != not.matches(value: candidate), "=~ and !~ agree on \(candidate)")
        }
    }
    return 0
}
