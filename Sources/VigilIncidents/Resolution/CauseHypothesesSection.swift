import VigilCore

/// The post-mortem's `possible_causes` section: ranked hypotheses as a numbered list, each open,
/// confirmed or rejected by a person (`vigil postmortem hypothesis ID N --confirm|--reject`).
/// The section is plain Markdown like every other one, so it can be edited by hand too; the
/// verdicts are read back from it by number, and kept by reference when Vigil drafts it again.
public enum CauseHypothesesSection {
    public enum Verdict: String, Sendable, CaseIterable {
        case open, confirmed, rejected
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// No item with that number: the numbers there are.
        case noSuchHypothesis(Int, known: [Int])
        public var description: String {
            switch self {
            case .noSuchHypothesis(let n, let known):
                known.isEmpty ? "the post-mortem lists no hypotheses (possible_causes is empty); redraft it with vigil postmortem edit ID --redraft"
                    : "no hypothesis \(n); the possible causes are numbered \(known.map(String.init).joined(separator: ", "))"
            }
        }
    }

    /// The section Vigil drafts: how it was ranked, then one item per hypothesis.
    public static func draft(_ hypotheses: [CauseHypothesis], incidentID: String, lookback: Duration) -> String {
        let window = DurationText.format(lookback)
        guard !hypotheses.isEmpty else {
            return "Nothing recorded within \(window) before detection: no deploys or other changes, no containment actions, "
                + "no incidents on this incident's components or those they depend on."
        }
        var lines = ["Ranked by nearness in time (within \(window) before detection) and in the component dependency map; "
            + "confirm or reject each: `vigil postmortem hypothesis \(incidentID) N --confirm|--reject --note \"…\"`.", ""]
        for (i, h) in hypotheses.enumerated() {
            lines.append("\(i + 1). [\(Verdict.open.rawValue)] \(PostMortemDraft.oneLine(h.explanation)) "
                + "(\(h.candidate.reference); score \(String(format2: h.score)))")
        }
        return lines.joined(separator: "\n")
    }

    /// The section with item `number` marked `verdict` by `actor`, the note on the line below
    /// (replacing an earlier verdict's).
    public static func mark(_ text: String, number: Int, verdict: Verdict, actor: String, at time: Timestamp,
                            note: String?) throws(Failure) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let items = itemIndices(lines)
        guard let index = items[number] else { throw .noSuchHypothesis(number, known: items.keys.sorted()) }
        guard let parsed = item(lines[index]) else { throw .noSuchHypothesis(number, known: items.keys.sorted()) }
        lines[index] = "\(number). [\(verdict.rawValue)] " + parsed.rest
        var end = index + 1
        while end < lines.count, lines[end].hasPrefix("   ") { end += 1 }
        lines.removeSubrange((index + 1)..<end)
        if verdict != .open {
            let words = "   - \(verdict.rawValue) by \(actor) at \(time.rfc3339)" + (note.map { ": " + PostMortemDraft.oneLine($0) } ?? "")
            lines.insert(words, at: index + 1)
        }
        return lines.joined(separator: "\n")
    }

    /// `new` (a fresh draft) with the verdicts `old` held for the same references carried over:
    /// a redraft re-ranks, it does not forget what people decided.
    public static func carryVerdicts(from old: String, into new: String) -> String {
        let oldLines = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var decided: [String: (Verdict, [String])] = [:]
        for (_, index) in itemIndices(oldLines) {
            guard let parsed = item(oldLines[index]), parsed.verdict != .open, let ref = reference(parsed.rest) else { continue }
            var notes: [String] = []
            var i = index + 1
            while i < oldLines.count, oldLines[i].hasPrefix("   ") { notes.append(oldLines[i]); i += 1 }
            decided[ref] = (parsed.verdict, notes)
        }
        guard !decided.isEmpty else { return new }
        var out: [String] = []
        for line in new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            guard let parsed = item(line), let ref = reference(parsed.rest), let (verdict, notes) = decided[ref] else {
                out.append(line)
                continue
            }
            out.append("\(parsed.number). [\(verdict.rawValue)] " + parsed.rest)
            out += notes
        }
        return out.joined(separator: "\n")
    }

    /// The verdict of each numbered item.
    public static func verdicts(_ text: String) -> [Int: Verdict] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return itemIndices(lines).compactMapValues { item(lines[$0])?.verdict }
    }

    static func itemIndices(_ lines: [String]) -> [Int: Int] {
        var out: [Int: Int] = [:]
        for (i, line) in lines.enumerated() {
            if let parsed = item(line), out[parsed.number] == nil { out[parsed.number] = i }
        }
        return out
    }

    /// `12. [open] rest` → (12, open, rest).
    static func item(_ line: String) -> (number: Int, verdict: Verdict, rest: String)? {
        guard let dot = line.firstIndex(of: "."), let number = Int(line[..<dot]), number > 0 else { return nil }
        let after = line[line.index(after: dot)...]
        guard after.hasPrefix(" ["), let close = after.firstIndex(of: "]"),
              let verdict = Verdict(rawValue: String(after[after.index(after.startIndex, offsetBy: 2)..<close])) else { return nil }
        return (number, verdict, String(after[after.index(after: close)...].drop(while: { $0 == " " })))
    }

    /// The reference in an item's closing parenthesis: `(change 12; score 0.91)` → `change 12`.
    static func reference(_ rest: String) -> String? {
        guard rest.hasSuffix(")"), let open = rest.ranges(of: " (").last else { return nil }
        let inside = rest[open.upperBound..<rest.index(before: rest.endIndex)]
        guard let semicolon = inside.firstRange(of: "; score ") else { return nil }
        return String(inside[..<semicolon.lowerBound])
    }
}

extension String {
    /// Two decimals, without Foundation's formatter.
    init(format2 value: Double) {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        self = "\(hundredths / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }
}
