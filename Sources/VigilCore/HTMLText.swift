/// Text made safe for HTML and XML: element content and double- or single-quoted attributes.
///
/// Compared by Unicode scalar, not by `Character`: a quote followed by a combining mark is one
/// `Character` and slips past a comparison of characters (found in review of the console).
/// C0 control characters other than tab and line breaks are dropped, as are U+FFFE and U+FFFF:
/// XML does not allow them and they mean nothing on a page.
public enum HTMLText {
    public static func escaped(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        out.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "\"": out.append(contentsOf: "&quot;".unicodeScalars)
            case "'": out.append(contentsOf: "&#39;".unicodeScalars)
            case "\t", "\n", "\r": out.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                out.append(scalar)
            }
        }
        return String(out)
    }
}
