/// Text a plugin wrote, made safe to put into the daemon's log: one line, no terminal control
/// sequences, bounded length.
///
/// A plugin's `log` frame or stderr line is copied into `vigild`'s log; unescaped, a newline
/// would let it forge lines that read as the daemon's own, an escape sequence would rewrite an
/// operator's terminal, and a megabyte line would fill the disk at the rate limit's pace.
public enum LogText {
    /// Longest text kept, in bytes of UTF-8 (a cut line says how much was cut).
    public static let maximumBytes = 1024
    /// Longest `detail` of a plugin's `result` kept (stored with the action, shown by the CLI).
    public static let maximumDetailBytes = 4096

    /// Control characters (C0, DEL, C1), line and paragraph separators and bidirectional
    /// overrides are written as `\n`, `\u{1B}`…; text past `limit` bytes is cut.
    /// Like ``sanitized(_:limit:)`` but leaves backslashes as they are: for text that may
    /// already be sanitized (a failure cause built from an escaped hello name), which then reads
    /// the same instead of doubling its backslashes. Control characters are still escaped.
    public static func controlsEscaped(_ text: String, limit: Int = maximumBytes) -> String {
        guard text.utf8.count > limit || text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        var kept = 0
        for scalar in text.unicodeScalars {
            let piece = isControl(scalar) ? escape(scalar) : String(scalar)
            guard kept + piece.utf8.count <= limit else { return out + "… (\(text.utf8.count) bytes, cut)" }
            kept += piece.utf8.count
            out += piece
        }
        return out
    }

    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    static func escape(_ scalar: Unicode.Scalar) -> String {
        switch scalar.value {
        case 0x0A: "\\n"
        case 0x0D: "\\r"
        case 0x09: "\\t"
        default: "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
        }
    }

    public static func sanitized(_ text: String, limit: Int = maximumBytes) -> String {
        var out = ""
        out.reserveCapacity(min(text.utf8.count, limit) + 16)
        var kept = 0
        for scalar in text.unicodeScalars {
            let piece: String
            switch scalar.value {
            case 0x0A: piece = "\\n"
            case 0x0D: piece = "\\r"
            case 0x09: piece = "\\t"
            case 0x5C: piece = "\\\\"
            case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069:
                piece = "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: piece = String(scalar)
            }
            let size = piece.utf8.count
            guard kept + size <= limit else {
                let total = text.utf8.count
                out += "… (\(total) bytes, cut)"
                return out
            }
            kept += size
            out += piece
        }
        return out
    }
}
