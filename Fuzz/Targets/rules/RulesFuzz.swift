import FuzzSupport
import VigilConfig
import VigilCore
import VigilRules

/// Rule text two ways: as one rule expression, and as a whole rule file (YAML around the rules).
/// A rule that parses prints in a canonical form that parses back to the same rule.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRules(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let text = String(validating: input(data, size), as: UTF8.self) else { return 0 }
    if let e = try? RuleParser.parse(text) { roundTrip(e) }
    do {
        let set = try RuleFileLoader.load(text: text, file: "fuzz-rules.yaml")
        var ids = Set<String>()
        for rule in set.rules {
            invariant(ids.insert(rule.id).inserted, "rule id \(rule.id) given twice")
            roundTrip(rule.expression)
        }
    } catch {
        invariant(!error.errors.isEmpty, "a refused rule file with no error")
        for e in error.errors { invariant(e.location.line >= 1 && e.location.column >= 1, "error at \(e.location)") }
    }
    return 0
}

func roundTrip(_ e: RuleExpression) {
    let printed = e.description
    do {
        let again = try RuleParser.parse(printed)
        invariant(again == e, "printing changed the rule: \(printed) reads as \(again.description)")
        invariant(again.description == printed, "the printed form is not canonical: \(printed) -> \(again.description)")
    } catch {
        invariant(false, "the printed rule does not parse: \(printed): \(error.message)")
    }
}
