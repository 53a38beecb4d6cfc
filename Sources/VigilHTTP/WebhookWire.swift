import Foundation
import VigilCore

/// The webhook payloads other alerting systems send, decoded by hand so every refusal names
/// the field: Grafana unified alerting's webhook (`version: "1"`), Alertmanager's own webhook
/// (`version: "4"`, so an existing Alertmanager can forward to Vigil), and Vigil's generic shape
/// for everything else. Kept free of Hummingbird so the fuzz target builds it alone.
///
/// Problems with the body as a whole (not JSON, not an object, no `alerts` list) refuse it
/// whole; problems of one alert refuse that alert only (``Received/problem``), and the others
/// are kept, as `POST /api/v2/alerts` does. ``read(_:payload:now:lease:)`` is the whole of it,
/// public for the fuzz target (`Fuzz/Targets/webhooks`).
public enum WebhookWire: WireText {
    /// The payloads ``decode(_:as:)`` reads.
    enum Payload: String, Sendable {
        case grafana, alertmanager, generic

        /// The `version` the sender writes, for the group payloads.
        var version: String? {
            switch self {
            case .grafana: "1"
            case .alertmanager: "4"
            case .generic: nil
            }
        }
        var senderName: String {
            switch self {
            case .grafana: "Grafana's webhook payload"
            case .alertmanager: "Alertmanager's webhook payload"
            case .generic: "Vigil's generic webhook shape"
            }
        }
    }

    /// A whole-body refusal: the message names the field.
    struct Refusal: Error, Equatable, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// One alert as received, before defaults (``alerts(_:now:lease:)``); `problem` is set when
    /// this alert is refused.
    struct Received: Equatable {
        var firing = true
        var labels: [String: String] = [:]
        var annotations: [String: String] = [:]
        var startsAt: Timestamp?
        var endsAt: Timestamp?
        var generatorURL = ""
        var problem: String?
        /// Where it was in the body (`alerts[3]`; empty for a generic body of one object).
        var field = ""
    }

    /// Most alerts one request may carry (the body limit bounds it too).
    static let maximumAlerts = 10_000

    static let genericKeys = ["title", "status", "severity", "dedup_key", "labels", "description", "source_url"]

    /// What reading one webhook body gave.
    public enum Reading: Sendable, Equatable {
        /// The body as a whole was refused; the message names the field.
        case refused(String)
        /// The valid alerts, one message per refused alert, and how many the body held.
        case read(valid: [Alert], errors: [String], count: Int)
    }

    /// Decodes a body of `payload` (`grafana`, `alertmanager`, `generic`) into alerts as of `now`,
    /// firing ones holding a lease of `lease`.
    public static func read(_ data: Data, payload name: String, now: Timestamp, lease: Duration) -> Reading {
        guard let payload = Payload(rawValue: name) else { return .refused("no webhook payload named \(quoted(name))") }
        do throws(Refusal) {
            let received = try decode(data, as: payload)
            let (valid, errors) = alerts(received, now: now, lease: lease)
            return .read(valid: valid, errors: errors, count: received.count)
        } catch {
            return .refused(error.message)
        }
    }

    // MARK: decoding

    static func decode(_ data: Data, as payload: Payload) throws(Refusal) -> [Received] {
        guard data.contains(where: { !($0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09) }) else {
            throw Refusal(message: "the body is empty; expected \(payload.senderName)")
        }
        let top: Any
        do { top = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
            throw Refusal(message: "the body is not valid JSON (UTF-8): \((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? "unexpected input")")
        }
        switch payload {
        case .grafana, .alertmanager: return try group(top, payload: payload)
        case .generic: return try generic(top)
        }
    }

    /// Grafana's and Alertmanager's webhook: one notification of one group,
    /// `{receiver, status, alerts: [{status, labels, annotations, startsAt, endsAt, generatorURL, …}], version, …}`.
    static func group(_ top: Any, payload: Payload) throws(Refusal) -> [Received] {
        guard let object = top as? [String: Any] else {
            throw Refusal(message: "the body is \(kind(top)), expected an object (\(payload.senderName))")
        }
        if let v = object["version"], !(v is NSNull) {
            guard let text = v as? String else { throw Refusal(message: "version is \(kind(v)), expected a string") }
            if let expected = payload.version, text != expected {
                throw Refusal(message: "version \(quoted(text)) is not \(payload.senderName) version \(expected)")
            }
        }
        guard let raw = object["alerts"], !(raw is NSNull) else { throw Refusal(message: "alerts is required") }
        guard let items = raw as? [Any] else { throw Refusal(message: "alerts is \(kind(raw)), expected a list") }
        guard items.count <= maximumAlerts else {
            throw Refusal(message: "alerts has \(items.count) items, at most \(maximumAlerts) are accepted")
        }
        return items.enumerated().map { i, item in groupAlert(item, field: "alerts[\(i)]") }
    }

    static func groupAlert(_ item: Any, field: String) -> Received {
        var r = Received(field: field)
        guard let a = item as? [String: Any] else {
            r.problem = "\(field) is \(kind(item)), expected an object"
            return r
        }
        do throws(Refusal) {
            r.firing = try status(a["status"], field: "\(field).status", required: true)
            guard let labels = try stringMap(a["labels"], field: "\(field).labels") else {
                throw Refusal(message: "\(field).labels is required")
            }
            r.labels = labels
            r.annotations = try stringMap(a["annotations"], field: "\(field).annotations") ?? [:]
            r.startsAt = try time(a["startsAt"], field: "\(field).startsAt")
            r.endsAt = try time(a["endsAt"], field: "\(field).endsAt")
            r.generatorURL = try url(a["generatorURL"], field: "\(field).generatorURL")
            // Grafana's extras are kept where a person reads them (unless an annotation says otherwise).
            for (key, annotation) in [("valueString", "value_string"), ("dashboardURL", "dashboard_url"),
                                      ("panelURL", "panel_url"), ("imageURL", "image_url")] {
                guard let v = try optionalString(a[key], field: "\(field).\(key)"), !v.isEmpty,
                      r.annotations[annotation] == nil else { continue }
                r.annotations[annotation] = v
            }
        } catch {
            r.problem = error.message
        }
        return r
    }

    /// Vigil's generic shape: one object or a list of them,
    /// `{"title", "status": "firing"|"resolved", "severity", "dedup_key", "labels", "description", "source_url"}`.
    /// The alert's identity is its labels plus `alertname`, which is `dedup_key` when given and
    /// `title` otherwise, so repeats of one problem are one alert.
    static func generic(_ top: Any) throws(Refusal) -> [Received] {
        let items: [Any]
        if let list = top as? [Any] {
            guard list.count <= maximumAlerts else {
                throw Refusal(message: "the body has \(list.count) alerts, at most \(maximumAlerts) are accepted")
            }
            items = list
        } else if top is [String: Any] {
            items = [top]
        } else {
            throw Refusal(message: "the body is \(kind(top)), expected an object or a list of objects (\(Payload.generic.senderName))")
        }
        let single = !(top is [Any])
        return items.enumerated().map { i, item in genericAlert(item, field: single ? "" : "[\(i)]") }
    }

    static func genericAlert(_ item: Any, field: String) -> Received {
        var r = Received(field: field)
        func name(_ key: String) -> String { field.isEmpty ? key : "\(field).\(key)" }
        guard let a = item as? [String: Any] else {
            r.problem = "\(field.isEmpty ? "the body" : field) is \(kind(item)), expected an object"
            return r
        }
        do throws(Refusal) {
            if let unknown = a.keys.sorted().first(where: { !genericKeys.contains($0) }) {
                throw Refusal(message: "\(name(String(unknown.prefix(100)))) is not a field of the generic shape (\(genericKeys.joined(separator: ", ")))")
            }
            guard let title = try optionalString(a["title"], field: name("title")),
                  !title.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw Refusal(message: "\(name("title")) is required (a short text saying what is wrong)")
            }
            r.firing = try status(a["status"], field: name("status"), required: false)
            r.labels = try stringMap(a["labels"], field: name("labels")) ?? [:]
            let key = try optionalString(a["dedup_key"], field: name("dedup_key"))
            if r.labels["alertname"] == nil { r.labels["alertname"] = key.flatMap { $0.isEmpty ? nil : $0 } ?? title }
            if let severity = try optionalString(a["severity"], field: name("severity")), !severity.isEmpty {
                r.labels["severity"] = severity
            }
            r.annotations["summary"] = title
            if let d = try optionalString(a["description"], field: name("description")), !d.isEmpty {
                r.annotations["description"] = d
            }
            r.generatorURL = try url(a["source_url"], field: name("source_url"))
        } catch {
            r.problem = error.message
        }
        return r
    }

    // MARK: to alerts

    /// The received alerts as Vigil's alerts, with one message per refused one. A firing alert
    /// holds a lease of `lease` from `now` (webhook senders repeat a firing alert only every
    /// repeat interval, hours apart, and send `resolved` when it clears: their own `endsAt` is
    /// not a lease); a resolved one ends at its `endsAt`, or now.
    static func alerts(_ received: [Received], now: Timestamp, lease: Duration) -> (valid: [Alert], errors: [String]) {
        var valid: [Alert] = []
        var errors: [String] = []
        for r in received {
            if let problem = r.problem { errors.append(problem); continue }
            if let why = invalid(r) { errors.append(r.field.isEmpty ? why : "\(r.field).\(why)"); continue }
            let labels = r.labels.filter { !$0.value.isEmpty }
            let startsAt: Timestamp
            let endsAt: Timestamp
            if r.firing {
                startsAt = min(r.startsAt ?? now, now)
                endsAt = now + lease
            } else {
                endsAt = min(r.endsAt ?? now, now)
                startsAt = min(r.startsAt ?? endsAt, endsAt)
            }
            valid.append(Alert(labels: labels, annotations: r.annotations, startsAt: startsAt, endsAt: endsAt,
                               updatedAt: now, generatorURL: r.generatorURL))
        }
        return (valid, errors)
    }

    /// `POST /api/v2/alerts`' label rules: valid names, at least one non-empty label, bounded.
    static func invalid(_ r: Received) -> String? {
        let labels = r.labels.filter { !$0.value.isEmpty }
        if let bad = labels.keys.sorted().first(where: { !LabelName.isValid($0) }) {
            return "labels: invalid name \(quoted(bad))"
        }
        if labels.isEmpty { return "labels: at least one label pair required" }
        if labels.count > maximumLabels { return "labels: \(labels.count) labels, at most \(maximumLabels)" }
        if let big = labels.first(where: { $0.value.utf8.count > maximumValueBytes }) {
            return "labels: \(quoted(big.key)) is longer than \(maximumValueBytes) bytes"
        }
        if let bad = r.annotations.keys.sorted().first(where: { !LabelName.isValid($0) }) {
            return "annotations: invalid name \(quoted(bad))"
        }
        return nil
    }

    // MARK: fields

    static func status(_ value: Any?, field: String, required: Bool) throws(Refusal) -> Bool {
        guard let value, !(value is NSNull) else {
            if required { throw Refusal(message: "\(field) is required (firing or resolved)") }
            return true
        }
        guard let text = value as? String else { throw Refusal(message: "\(field) is \(kind(value)), expected firing or resolved") }
        switch text {
        case "firing": return true
        case "resolved": return false
        default: throw Refusal(message: "\(field) \(quoted(text)) is not firing or resolved")
        }
    }

    static func optionalString(_ value: Any?, field: String) throws(Refusal) -> String? {
        guard let value, !(value is NSNull) else { return nil }
        guard let s = value as? String else { throw Refusal(message: "\(field) is \(kind(value)), expected a string") }
        return s
    }

    static func url(_ value: Any?, field: String) throws(Refusal) -> String {
        guard let s = try optionalString(value, field: field), !s.isEmpty else { return "" }
        guard isURI(s) else { throw Refusal(message: "\(field) \(quoted(s)) is not an absolute URL or path") }
        return s
    }

    static func stringMap(_ value: Any?, field: String) throws(Refusal) -> [String: String]? {
        guard let value, !(value is NSNull) else { return nil }
        guard let object = value as? [String: Any] else {
            throw Refusal(message: "\(field) is \(kind(value)), expected an object of strings")
        }
        var out: [String: String] = [:]
        out.reserveCapacity(object.count)
        for (k, v) in object {
            guard let s = v as? String else {
                throw Refusal(message: "\(field).\(k.prefix(100)) is \(kind(v)), expected a string")
            }
            out[k] = s
        }
        return out
    }

    static func time(_ value: Any?, field: String) throws(Refusal) -> Timestamp? {
        guard let value, !(value is NSNull) else { return nil }
        guard let text = value as? String else { throw Refusal(message: "\(field) is \(kind(value)), expected an RFC 3339 time") }
        switch WireTime.parse(text) {
        case .zero: return nil
        case .time(let t): return t
        case .invalid: throw Refusal(message: "\(field) \(quoted(text)) is not an RFC 3339 time like 2026-12-05T09:00:00Z")
        }
    }
}
