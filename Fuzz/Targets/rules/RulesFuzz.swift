import FuzzSupport
import VigilConfig
import VigilCore
import VigilRules

/// Rule text two ways: as one rule expression, and as a whole rule file (YAML around the rules).
/// A rule that parses prints in a canonical form that parses back to the same rule, and so do
/// the lowered, narrowed forms a recovery watch keeps (`RuleLowering`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRules(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let text = String(validating: input(data, size), as: UTF8.self) else { return 0 }
    if let e = try? RuleParser.parse(text) {
        roundTrip(e)
        // The recovery watch stores its lowered, narrowed rule as text and parses it at start.
        let labels = ["host": String(text.prefix(40)), "source": "plugin:\(text.suffix(20))", "disk": "/\u{0}\"\\"]
        for factor in [0.8, 0.5, 1e-300] {
            let lowered = RuleLowering.lowered(e, factor: factor)
            if let t = e.condition?.threshold, t.isFinite {
                invariant(lowered.condition?.threshold.isFinite == true,
                          "lowering \(e.description) by \(factor) gave a threshold that is not finite")
            }
            let watched = RuleLowering.scoped(lowered, to: labels)
            roundTrip(watched)
        }
    }
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
