import Foundation
import VigilCore

/// What the hand-written wire readers (`AlertWire`, `WebhookWire`) share: the label bounds, how a
/// refusal names a value, and go-openapi's `uri` check; Foundation only, so the fuzz package links it with
/// the webhook reader.
protocol WireText {}

extension WireText {
    /// Largest label set one alert may carry, by any intake (Alertmanager has none; this bounds
    /// what one alert can make Vigil hold).
    static var maximumLabels: Int { 256 }
    /// Largest label value, in bytes.
    static var maximumValueBytes: Int { 64 << 10 }

    /// A value quoted for an error message: at most 200 characters, `\` and `"` escaped.
    static func quoted(_ s: String) -> String {
        "\"" + String(s.prefix(200)).replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// go-openapi's `uri` format (Go's `url.ParseRequestURI`): an absolute URI or an absolute path.
    static func isURI(_ s: String) -> Bool {
        if s.hasPrefix("/") { return !s.contains(where: { $0.isWhitespace }) }
        guard let colon = s.firstIndex(of: ":"), colon != s.startIndex else { return false }
        let scheme = s[..<colon]
        guard let first = scheme.first, first.isASCII, first.isLetter,
              scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == ".") })
        else { return false }
        return !s.contains(where: { $0 == " " || $0 == "\n" })
    }

    /// What a parsed JSON value is, as a refusal names it ("a list", "null", …).
    static func kind(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .string: "a string"
        case .number, .bool: "a number or boolean"
        case .array: "a list"
        case .object: "an object"
        }
    }

    /// What a decoded JSON value is, as a refusal names it ("a list", "null", …).
    static func kind(_ value: Any) -> String {
        switch value {
        case is NSNull: "null"
        case is String: "a string"
        case is NSNumber: "a number or boolean"
        case is [Any]: "a list"
        case is [String: Any]: "an object"
        default: "a value of another type"
        }
    }
}
