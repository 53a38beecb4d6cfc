import Foundation
import VigilCore
import VigilRules

/// Recorded samples for `vigil rules test --replay`: NDJSON, one event per line with the wire
/// protocol's event fields (documented in `Docs/rules.md`):
///
/// ```
/// {"name":"cpu_usage","value":93,"unit":"%","labels":{"host":"web-1"},"time":"2026-01-05T09:00:00Z"}
/// {"name":"plugin_isolation_breach_detected","labels":{"plugin":"dns"},"time":1767603600.5}
/// ```
///
/// `value` absent or null makes a signal; `time` (epoch seconds or RFC 3339) is required, since a
/// replay runs on the samples' own clock. `kind` (`metric`/`signal`) and `source` are optional;
/// other fields (such as `lane`) are accepted and ignored.
public enum SampleRecording {
    /// A line that is not a usable sample, rendered `file:line: what is wrong`.
    public struct LineError: Error, Equatable, CustomStringConvertible, Sendable {
        public var file: String
        public var line: Int
        public var message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    /// Parses one line (1-based `number`); nil for a blank line.
    public static func parse(line text: some StringProtocol, number: Int, file: String) -> Result<ReplaySample, LineError>? {
        let trimmed = text.trimmingWhitespace()
        if trimmed.isEmpty { return nil }
        func fail(_ message: String) -> Result<ReplaySample, LineError> {
            .failure(LineError(file: file, line: number, message: message))
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(trimmed.utf8))
        } catch {
            return fail("not a JSON object: \(reason(error))")
        }
        guard let object = value.objectValue else { return fail("expected a JSON object like {\"name\":…,\"time\":…}") }
        guard let nameValue = object["name"] else { return fail("missing \"name\"") }
        guard let name = nameValue.stringValue, isName(name) else {
            return fail("\"name\" must be a metric or signal name (letters, digits, '_' and ':'), found \(nameValue)")
        }
        var kind: EventKind = .metric
        var number = 1.0
        switch object["value"] {
        case nil, .null?: kind = .signal
        case .number(let n)?: number = n
        case let other?: return fail("\"value\" must be a number or null, found \(other)")
        }
        if let k = object["kind"] {
            switch k.stringValue {
            case "metric"?:
                guard kind == .metric else { return fail("a metric needs a numeric \"value\"") }
            case "signal"?: kind = .signal
            default: return fail("\"kind\" must be \"metric\" or \"signal\", found \(k)")
            }
        }
        var unit = ""
        if let u = object["unit"] {
            guard let s = u.stringValue else { return fail("\"unit\" must be a string, found \(u)") }
            unit = s
        }
        var labels: [String: String] = [:]
        if let l = object["labels"] {
            guard let pairs = l.objectValue else { return fail("\"labels\" must be an object of strings, found \(l)") }
            for (k, v) in pairs {
                guard let s = v.stringValue else { return fail("label \"\(k)\" must be a string, found \(v)") }
                labels[k] = s
            }
        }
        var source = ""
        if let s = object["source"] {
            guard let text = s.stringValue else { return fail("\"source\" must be a string, found \(s)") }
            source = text
        }
        let time: Timestamp
        switch object["time"] {
        case .number(let seconds)? where seconds.isFinite && abs(seconds) < 9e9:
            time = Timestamp(seconds: seconds)
        case .string(let s)?:
            guard let t = RFC3339.parse(s) else {
                return fail("\"time\" must be epoch seconds or RFC 3339 like 2026-01-05T09:00:00Z, found \"\(s)\"")
            }
            time = t
        case nil:
            return fail("missing \"time\": a replayed sample needs its own time (epoch seconds or RFC 3339)")
        case let other?:
            return fail("\"time\" must be epoch seconds or RFC 3339 like 2026-01-05T09:00:00Z, found \(other)")
        }
        return .success(ReplaySample(kind: kind, name: name, value: number, unit: unit, labels: labels, source: source,
                                     time: time))
    }

    /// Writes a sample as one NDJSON line (time in RFC 3339), the inverse of ``parse(line:number:file:)``.
    public static func line(_ s: ReplaySample) -> String {
        var object: [String: JSONValue] = ["name": .string(s.name), "time": .string(s.time.rfc3339)]
        if s.kind == .metric { object["value"] = .number(s.value) }
        if !s.unit.isEmpty { object["unit"] = .string(s.unit) }
        if !s.labels.isEmpty { object["labels"] = .object(s.labels.mapValues { .string($0) }) }
        if !s.source.isEmpty { object["source"] = .string(s.source) }
        return JSONValue.object(object).description
    }

    static func isName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, !(first >= "0" && first <= "9") else { return false }
        return s.unicodeScalars.allSatisfy {
            ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || $0 == "_" || $0 == ":"
        }
    }

    static func reason(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            return (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
                ?? context.debugDescription
        }
        return "\(error)"
    }
}

extension SampleRecording {
    /// An incident's recorded samples (`rules.samples`' NDJSON lines) ready for ``RuleSuggestion``:
    /// the lines that parse, in time order, and one error per line that does not.
    public static func incident(id: String, title: String, state: String, falsePositive: String?, finished: Bool,
                                end: String?, truncated: Bool, lines: [String]) -> (IncidentSamples, [LineError]) {
        var samples: [ReplaySample] = []
        var errors: [LineError] = []
        for (n, line) in lines.enumerated() {
            switch parse(line: line, number: n + 1, file: "incident:\(id)") {
            case .success(let s)?: samples.append(s)
            case .failure(let e)?: errors.append(e)
            case nil: break
            }
        }
        samples.sort { $0.time < $1.time }
        return (IncidentSamples(id: id, title: title, state: state, falsePositive: falsePositive, finished: finished,
                                end: end.flatMap(RFC3339.parse), truncated: truncated, samples: samples), errors)
    }
}
