import Foundation

/// Charts drawn on the server as SVG (no script, no library): grouped bars with a labelled
/// axis, a legend and a `<title>` a screen reader announces. Every text is escaped.
public enum ConsoleCharts {
    /// Colours with at least 4.5:1 contrast on white, distinguishable without colour too
    /// (the legend and the table beside each chart carry the same figures).
    static let palette = ["#0b4f9c", "#a00000", "#0a5c1f", "#7a4b00", "#5b2a86", "#00606b"]

    /// Grouped bars: one group per label, one bar per series. Non-finite or negative values draw as 0.
    public static func bars(title: String, labels: [String], series: [(name: String, values: [Double])], unit: String) -> String {
        let width = 720.0, height = 260.0, left = 56.0, right = 12.0, top = 16.0, bottom = 44.0
        let plotW = width - left - right, plotH = height - top - bottom
        let clean = series.map { s in (s.name, s.values.map { $0.isFinite && $0 > 0 ? $0 : 0 }) }
        let maxValue = clean.flatMap(\.1).max() ?? 0
        let scaleMax = niceCeiling(maxValue)
        var out = "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height + Double(max(1, clean.count)) * 16))\" role=\"img\" aria-label=\"\(escaped(title))\" xmlns=\"http://www.w3.org/2000/svg\">"
        out += "<title>\(escaped(title))</title>"
        // Axis and grid.
        for i in 0...4 {
            let v = scaleMax * Double(i) / 4
            let y = top + plotH - plotH * Double(i) / 4
            out += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(width - right))\" y2=\"\(f(y))\" stroke=\"#ccc\" stroke-width=\"1\"/>"
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(escaped(format(v, unit: unit)))</text>"
        }
        let groups = max(labels.count, 1)
        let groupW = plotW / Double(groups)
        let barW = max(1, (groupW * 0.8) / Double(max(clean.count, 1)))
        for (g, label) in labels.enumerated() {
            let x0 = left + groupW * Double(g) + groupW * 0.1
            for (k, s) in clean.enumerated() where g < s.1.count {
                let v = s.1[g]
                let h = scaleMax > 0 ? plotH * v / scaleMax : 0
                let x = x0 + barW * Double(k)
                out += "<rect x=\"\(f(x))\" y=\"\(f(top + plotH - h))\" width=\"\(f(barW))\" height=\"\(f(h))\" fill=\"\(palette[k % palette.count])\"><title>\(escaped("\(s.0), \(label): \(format(v, unit: unit))"))</title></rect>"
            }
            // Every label when there is room, otherwise every few.
            let every = max(1, labels.count / 12)
            if g % every == 0 {
                out += "<text x=\"\(f(x0 + groupW * 0.4))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"middle\">\(escaped(label))</text>"
            }
        }
        for (k, s) in clean.enumerated() {
            let y = height + Double(k) * 16 - 8
            out += "<rect x=\"\(f(left))\" y=\"\(f(y - 9))\" width=\"10\" height=\"10\" fill=\"\(palette[k % palette.count])\"/>"
            out += "<text x=\"\(f(left + 16))\" y=\"\(f(y))\">\(escaped(s.0))</text>"
        }
        out += "</svg>"
        return out
    }

    /// 0, 1, 2, 5, 10, 20, 50… at or above `v`.
    static func niceCeiling(_ v: Double) -> Double {
        guard v.isFinite, v > 0 else { return 1 }
        let exponent = floor(log10(v))
        let base = pow(10, exponent)
        for m in [1.0, 2.0, 5.0, 10.0] where m * base >= v { return m * base }
        return 10 * base
    }

    /// A value with its unit: seconds read as `45 s`, `12 min`, `3.5 h`.
    static func format(_ v: Double, unit: String) -> String {
        switch unit {
        case "s":
            if v > 0, v < 1 { return String(format: "%.0f ms", v * 1000) }
            if v < 10 { return String(format: "%.1f s", v) }
            if v < 120 { return String(format: "%.0f s", v) }
            if v < 7200 { return String(format: "%.0f min", v / 60) }
            return String(format: "%.1f h", v / 3600)
        case "%": return String(format: "%.0f%%", v)
        default: return v == v.rounded() ? String(format: "%.0f", v) : String(format: "%.1f", v)
        }
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    static func escaped(_ text: String) -> String { ConsoleController.escaped(text) }
}
