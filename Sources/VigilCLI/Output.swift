import Foundation
import VigilCore
import VigilControl

/// Renders rows as an aligned plain-text table (two spaces between columns).
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: String...) { self.header = header }

    mutating func add(_ cells: [String]) { rows.append(cells) }

    func render() -> String {
        let rows = self.rows.map { $0.map(TerminalText.cell) }
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

/// Text the CLI shows came from the daemon, and much of it from plugins and HTTP clients
/// (failure causes, action results, alert labels, titles): before it reaches a terminal, control
/// characters, escape sequences and bidirectional overrides are written as `\u{1B}`, so no
/// field can rewrite the operator's screen or forge a line of output.
enum TerminalText {
    /// Longest table cell shown, in bytes of UTF-8 (a cut cell says how much was cut).
    static let maximumCellBytes = 2048

    /// One table cell or one-line field: line breaks and tabs escaped too, cut at
    /// ``maximumCellBytes``.
    static func cell(_ text: String) -> String { escaped(text, keepLines: false, limit: maximumCellBytes) }

    /// A whole block of output: its own line breaks and tabs kept, everything else escaped.
    static func block(_ text: String) -> String { escaped(text, keepLines: true, limit: Int.max) }

    static func escaped(_ text: String, keepLines: Bool, limit: Int) -> String {
        // The common case, plain text, is returned as it is.
        if text.utf8.count <= limit, !text.unicodeScalars.contains(where: { needsEscape($0, keepLines: keepLines) }) {
            return text
        }
        var out = ""
        var kept = 0
        for scalar in text.unicodeScalars {
            let piece: String
            if needsEscape(scalar, keepLines: keepLines) {
                switch scalar.value {
                case 0x0A: piece = "\\n"
                case 0x0D: piece = "\\r"
                case 0x09: piece = "\\t"
                default: piece = "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                }
            } else {
                piece = String(scalar)
            }
            guard kept + piece.utf8.count <= limit else { return out + "… (\(text.utf8.count) bytes, cut)" }
            kept += piece.utf8.count
            out += piece
        }
        return out
    }

    static func needsEscape(_ scalar: Unicode.Scalar, keepLines: Bool) -> Bool {
        switch scalar.value {
        case 0x0A, 0x09: !keepLines
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }
}

/// The CLI's `print`: every line it writes goes through ``TerminalText/block(_:)``. Fields that
/// must stay on one line are passed through ``TerminalText/cell(_:)`` where they are written.
func print(_ text: String = "") {
    Swift.print(TerminalText.block(text))
}

/// Writes JSON the way every `--json` flag does: pretty, keys sorted, snake_case keys.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    printJSONData(try encoder.encode(value))
}

/// Writes encoded JSON to standard output.
func printJSONData(_ data: Data) {
    // JSONEncoder escapes C0 controls; DEL, C1 controls, line separators and bidirectional
    // overrides (which can only stand inside strings) become `\u` escapes too.
    var text = ""
    for scalar in String(decoding: data, as: UTF8.self).unicodeScalars {
        if TerminalText.needsEscape(scalar, keepLines: true) {
            let hex = String(scalar.value, radix: 16)
            text += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        } else {
            text.unicodeScalars.append(scalar)
        }
    }
    Swift.print(text)
}

/// A short human form of an SLA state: `running (12m left)`, `breached 3m ago`, `met`.
func describe(_ sla: IncidentView.SLA) -> String {
    guard let remaining = sla.remainingSeconds else { return sla.state }
    func span(_ s: Int) -> String {
        let a = abs(s)
        if a >= 3600 { return "\(a / 3600)h\(a % 3600 / 60)m" }
        if a >= 60 { return "\(a / 60)m" }
        return "\(a)s"
    }
    return remaining >= 0 ? "running (\(span(remaining)) left)" : "breached \(span(remaining)) ago"
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((TerminalText.block(message) + "\n").utf8))
}

/// RFC 4180 cells for `--csv`: quoted when they hold a comma, a quote or a line break; a cell a
/// spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return first) is
/// prefixed with `'`, since values come from alert labels and other people's text.
enum CSV {
    static func cell(_ text: String?) -> String {
        var t = text ?? ""
        if let first = t.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { t = "'" + t }
        guard t.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return t }
        return "\"" + t.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Rows joined with CRLF, as RFC 4180 has them.
    static func document(_ rows: [String]) -> String { rows.joined(separator: "\r\n") + "\r\n" }
}
