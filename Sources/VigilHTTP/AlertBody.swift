import Foundation
import VigilCore
import VigilPluginProtocol

/// The Alertmanager API v2 wire format of posted alerts (`postableAlerts`), read by hand so every
/// refusal says which alert and which field, with Alertmanager's status codes: JSON that does
/// not fit the schema's types → 400, a missing required field or a malformed `generatorURL` →
/// 422 (go-openapi's codes 602 and 601), and per-alert validation (``validate(_:now:resolveTimeout:)``)
/// → 400 naming each invalid alert while the valid ones are kept. Foundation and the scanner
/// only, so the fuzz package links it (target `alerts`; public for it); ``AlertWire`` turns
/// refusals into answers.
public enum AlertBody: WireText {
    /// One posted alert before defaults and validation (times absent when nil).
    public struct Posted: Sendable {
        public var labels: [String: String]
        public var annotations: [String: String]
        public var startsAt: Timestamp?
        public var endsAt: Timestamp?
        public var generatorURL: String
    }

    /// Why a body was refused: 400 (`unprocessable` false) or 422 with go-openapi's code.
    public struct Refusal: Error, Equatable {
        public var unprocessable: Bool
        public var message: String
        public var code: Int?

        init(badRequest message: String) {
            unprocessable = false
            self.message = message
        }

        init(unprocessable message: String, code: Int) {
            unprocessable = true
            self.message = message
            self.code = code
        }
    }

    static func parseFailure(_ why: String) -> Refusal {
        Refusal(badRequest: "parsing alerts body failed, because \(why)")
    }

    /// Decodes a body into posted alerts, or throws the refusal Alertmanager would answer with.
    /// Parsed by the plugin protocol's scanner (strings validated as UTF-8, nesting bounded):
    /// Foundation's `JSONSerialization` and the casts out of `Any` were measured at a third of
    /// the daemon's work per posted alert.
    public static func decode(_ raw: UnsafeRawBufferPointer) throws(Refusal) -> [Posted] {
        guard raw.contains(where: { !($0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09) }) else {
            throw Refusal(unprocessable: "alerts in body is required", code: 602)
        }
        let top: JSONValue
        do { top = try JSONValue.parse(raw) } catch {
            throw parseFailure("the body is not valid JSON (UTF-8): \(error.problem) at byte \(error.offset)")
        }
        if case .null = top { return [] }
        guard case .array(let items) = top else {
            throw parseFailure("the body is \(kind(top)), expected a list of alerts")
        }
        // Type errors first (Alertmanager decodes the whole body before validating the schema).
        var posted: [Posted?] = []
        posted.reserveCapacity(items.count)
        var missing: Refusal?
        for (i, item) in items.enumerated() {
            if case .null = item {
                missing = missing ?? Refusal(unprocessable: "\(i) in body is required", code: 602)
                posted.append(nil)
                continue
            }
            guard case .object(let object) = item else {
                throw parseFailure("alert \(i) is \(kind(item)), expected an object")
            }
            let labels = try stringMap(object["labels"], field: "\(i).labels")
            if labels == nil { missing = missing ?? Refusal(unprocessable: "\(i).labels in body is required", code: 602) }
            let annotations = try stringMap(object["annotations"], field: "\(i).annotations") ?? [:]
            let startsAt = try time(object["startsAt"], field: "\(i).startsAt")
            let endsAt = try time(object["endsAt"], field: "\(i).endsAt")
            var url = ""
            switch object["generatorURL"] {
            case nil, .null?: break
            case .string(let s)?: url = s
            case let other?: throw parseFailure("\(i).generatorURL is \(kind(other)), expected a string")
            }
            posted.append(labels.map { Posted(labels: $0, annotations: annotations, startsAt: startsAt, endsAt: endsAt,
                                              generatorURL: url) })
        }
        if let missing { throw missing }
        for (i, p) in posted.enumerated() {
            if let p, !p.generatorURL.isEmpty, !isURI(p.generatorURL) {
                throw Refusal(unprocessable: "\(i).generatorURL in body must be of type uri: \"\(p.generatorURL.prefix(200))\"",
                              code: 601)
            }
        }
        return posted.compactMap { $0 }
    }

    /// Alertmanager's defaults and `alert.Validate`: empty label values dropped, a missing start
    /// is now (or the end when only that is given), a missing end is now + `resolveTimeout`.
    /// Returns the valid alerts and one message per invalid one.
    public static func validate(_ posted: [Posted], now: Timestamp, resolveTimeout: Duration) -> (valid: [Alert], errors: [String]) {
        var valid: [Alert] = []
        var errors: [String] = []
        for p in posted {
            let labels = p.labels.filter { !$0.value.isEmpty }
            let startsAt = p.startsAt ?? p.endsAt ?? now
            let endsAt = p.endsAt ?? (now + resolveTimeout)
            if endsAt < startsAt { errors.append("start time must be before end time"); continue }
            if let bad = labels.keys.sorted().first(where: { !LabelName.isValid($0) }) {
                errors.append("invalid label set: invalid name \(quoted(bad))")
                continue
            }
            if labels.isEmpty { errors.append("at least one label pair required"); continue }
            if let bad = p.annotations.keys.sorted().first(where: { !LabelName.isValid($0) }) {
                errors.append("invalid annotations: invalid name \(quoted(bad))")
                continue
            }
            if labels.count > maximumLabels {
                errors.append("too many labels: \(labels.count), at most \(maximumLabels)")
                continue
            }
            if let big = labels.first(where: { $0.value.utf8.count > maximumValueBytes }) {
                errors.append("label \(quoted(big.key)) is longer than \(maximumValueBytes) bytes")
                continue
            }
            valid.append(Alert(labels: labels, annotations: p.annotations, startsAt: startsAt, endsAt: endsAt,
                               updatedAt: now, generatorURL: p.generatorURL))
        }
        return (valid, errors)
    }

    static func stringMap(_ value: JSONValue?, field: String) throws(Refusal) -> [String: String]? {
        switch value {
        case nil, .null?: return nil
        case .object(let object)?:
            var out: [String: String] = [:]
            out.reserveCapacity(object.count)
            for (k, v) in object {
                guard case .string(let s) = v else {
                    throw parseFailure("\(field).\(k.prefix(100)) is \(kind(v)), expected a string")
                }
                out[k] = s
            }
            return out
        case let other?:
            throw parseFailure("\(field) is \(kind(other)), expected an object of strings")
        }
    }

    static func time(_ value: JSONValue?, field: String) throws(Refusal) -> Timestamp? {
        switch value {
        case nil, .null?: return nil
        case .string(let text)?:
            switch WireTime.parse(text) {
            case .zero: return nil
            case .time(let t): return t
            case .invalid:
                throw parseFailure("\(field) \(quoted(text)) is not an RFC 3339 time like 2026-12-05T09:00:00Z")
            }
        case let other?:
            throw parseFailure("\(field) is \(kind(other)), expected an RFC 3339 time")
        }
    }
}
