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

/// Writes JSON the way every `--json` flag does: pretty, keys sorted, snake_case keys.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    let data = try encoder.encode(value)
    print(String(decoding: data, as: UTF8.self))
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
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
