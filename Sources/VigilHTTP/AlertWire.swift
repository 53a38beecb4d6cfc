import Foundation
import Hummingbird
import VigilCore

/// The Alertmanager API v2 wire format of posted alerts (`postableAlerts`), decoded by hand so
/// every refusal says which alert and which field, with Alertmanager's status codes:
/// JSON that does not fit the schema's types → 400, a missing required field or a malformed
/// `generatorURL` → 422 (go-openapi's codes 602 and 601), and per-alert validation → 400 naming
/// each invalid alert while the valid ones are kept. The domain never sees these types.
enum AlertWire: WireText {
    /// One posted alert before defaults and validation (times absent when nil).
    struct Posted {
        var labels: [String: String]
        var annotations: [String: String]
        var startsAt: Timestamp?
        var endsAt: Timestamp?
        var generatorURL: String
    }

    /// Refuses bodies that are not JSON (`Content-Type` missing counts as octet-stream, as Go does).
    static func checkContentType(_ request: Request) throws {
        let raw = request.headers[.contentType] ?? "application/octet-stream"
        let media = raw.split(separator: ";", maxSplits: 1).first.map { $0.trimmingWhitespace().lowercased() } ?? ""
        guard media == "application/json" else {
            throw APIError(.unsupportedMediaType,
                           "unsupported media type \"\(raw.prefix(100))\", only [application/json] are allowed")
        }
    }

    static func parseFailure(_ why: String) -> APIError {
        APIError(.badRequest, "parsing alerts body failed, because \(why)")
    }

    /// Decodes the body into posted alerts, or throws the error Alertmanager would answer with.
    static func decode(_ body: ByteBuffer) throws -> [Posted] {
        let data = Data(body.readableBytesView)
        guard data.contains(where: { !($0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09) }) else {
            throw APIError(.unprocessableContent, "alerts in body is required", code: 602)
        }
        let top: Any
        do { top = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
            throw parseFailure("the body is not valid JSON (UTF-8): \((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? "unexpected input")")
        }
        if top is NSNull { return [] }
        guard let items = top as? [Any] else {
            throw parseFailure("the body is \(kind(top)), expected a list of alerts")
        }
        // Type errors first (Alertmanager decodes the whole body before validating the schema).
        var posted: [Posted?] = []
        posted.reserveCapacity(items.count)
        var missing: APIError?
        for (i, item) in items.enumerated() {
            if item is NSNull {
                missing = missing ?? APIError(.unprocessableContent, "\(i) in body is required", code: 602)
                posted.append(nil)
                continue
            }
            guard let object = item as? [String: Any] else {
                throw parseFailure("alert \(i) is \(kind(item)), expected an object")
            }
            let labels = try stringMap(object["labels"], field: "\(i).labels")
            if labels == nil { missing = missing ?? APIError(.unprocessableContent, "\(i).labels in body is required", code: 602) }
            let annotations = try stringMap(object["annotations"], field: "\(i).annotations") ?? [:]
            let startsAt = try time(object["startsAt"], field: "\(i).startsAt")
            let endsAt = try time(object["endsAt"], field: "\(i).endsAt")
            var url = ""
            if let u = object["generatorURL"], !(u is NSNull) {
                guard let s = u as? String else { throw parseFailure("\(i).generatorURL is \(kind(u)), expected a string") }
                url = s
            }
            posted.append(labels.map { Posted(labels: $0, annotations: annotations, startsAt: startsAt, endsAt: endsAt,
                                              generatorURL: url) })
        }
        if let missing { throw missing }
        for (i, p) in posted.enumerated() {
            if let p, !p.generatorURL.isEmpty, !isURI(p.generatorURL) {
                throw APIError(.unprocessableContent,
                               "\(i).generatorURL in body must be of type uri: \"\(p.generatorURL.prefix(200))\"", code: 601)
            }
        }
        return posted.compactMap { $0 }
    }

    /// Alertmanager's defaults and `alert.Validate`: empty label values dropped, a missing start
    /// is now (or the end when only that is given), a missing end is now + `resolveTimeout`.
    /// Returns the valid alerts and one message per invalid one.
    static func validate(_ posted: [Posted], now: Timestamp, resolveTimeout: Duration) -> (valid: [Alert], errors: [String]) {
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

    static func stringMap(_ value: Any?, field: String) throws -> [String: String]? {
        guard let value, !(value is NSNull) else { return nil }
        guard let object = value as? [String: Any] else {
            throw parseFailure("\(field) is \(kind(value)), expected an object of strings")
        }
        var out: [String: String] = [:]
        out.reserveCapacity(object.count)
        for (k, v) in object {
            guard let s = v as? String else {
                throw parseFailure("\(field).\(k.prefix(100)) is \(kind(v)), expected a string")
            }
            out[k] = s
        }
        return out
    }

    static func time(_ value: Any?, field: String) throws -> Timestamp? {
        guard let value, !(value is NSNull) else { return nil }
        guard let text = value as? String else { throw parseFailure("\(field) is \(kind(value)), expected an RFC 3339 time") }
        switch WireTime.parse(text) {
        case .zero: return nil
        case .time(let t): return t
        case .invalid:
            throw parseFailure("\(field) \(quoted(text)) is not an RFC 3339 time like 2026-12-05T09:00:00Z")
        }
    }
}
