import VigilControl
import VigilCore
import VigilStore

/// `changes.record` (a deploy hook's door: `POST /api/v1/changes`) and `changes.list`: the
/// changes root-cause help ranks against incidents (Docs/root-cause.md).
extension IncidentControl {
    static let changeCommands: Set<String> = ["changes.record", "changes.list"]

    func changes(_ r: ControlRequest, user: ControlCaller, policy: IncidentPolicy) async throws -> JSONValue {
        let now = clock.now()
        switch r.command {
        case "changes.record":
            let change = try Self.postedChange(r, actor: user.actor, now: now)
            let stored = try await store.recordChange(change)
            var warning: String?
            if let component = stored.component, !policy.components.dependsOn.isEmpty,
               !policy.components.known.contains(where: { $0.lowercased() == component.lowercased() }) {
                warning = "component \"\(component)\" is not in the configured dependency map (components:); "
                    + "it is stored, and ranks as a likely cause only of incidents on \(component) itself"
            }
            var view = Self.view(stored)
            view.warning = warning
            return try JSONValue.encoding(view)
        default:
            let since = try r.text("since", maxBytes: 64).map { try OnCallTime.parse($0, now: now, argument: "since") }
            let until = try r.text("until", maxBytes: 64).map { try OnCallTime.parse($0, now: now, argument: "until") }
            let component = try r.text("component", maxBytes: ChangeLimits.componentBytes)
            var kinds: [ChangeRecord.Kind]?
            if let names = try r.texts("kind", maxBytes: 32, maxItems: ChangeRecord.Kind.allCases.count) {
                kinds = try names.map { name throws(ControlFailure) in
                    guard let k = ChangeRecord.Kind(rawValue: name) else {
                        throw ControlFailure("kind: \"\(name)\" is not one of "
                            + ChangeRecord.Kind.allCases.map(\.rawValue).joined(separator: ", "))
                    }
                    return k
                }
            }
            let limit = try r.integer("limit", default: 100, in: 1...1000)
            let found = try await store.changes(since: since, until: until, component: component, kinds: kinds, limit: limit)
            return try JSONValue.encoding(found.map(Self.view))
        }
    }

    /// A posted change, checked as the hostile input it is: a kind a sender may post, a component
    /// name, bounded one-line texts, a time neither in the future (beyond clock drift) nor older
    /// than ``ChangeLimits/maximumAge``. Any refusal stores nothing.
    static func postedChange(_ r: ControlRequest, actor: String, now: Timestamp) throws(ControlFailure) -> ChangeRecord {
        let known: Set<String> = ["kind", "component", "subject", "summary", "detail", "at"]
        if let unknown = r.args.keys.sorted().first(where: { !known.contains($0) }) {
            throw ControlFailure("\(unknown.prefix(60)): not an argument of changes.record; it takes "
                + known.sorted().joined(separator: ", "))
        }
        let kindText = try r.text("kind", maxBytes: 32) ?? "deploy"
        guard let kind = ChangeRecord.Kind(rawValue: kindText) else {
            throw ControlFailure("kind: \"\(kindText)\" is not one of " + ChangeRecord.Kind.postable.map(\.rawValue).joined(separator: ", "))
        }
        guard ChangeRecord.Kind.postable.contains(kind) else {
            throw ControlFailure("kind: \(kind.rawValue) is recorded by vigild itself; a sender may post "
                + ChangeRecord.Kind.postable.map(\.rawValue).joined(separator: ", "))
        }
        guard let component = try r.text("component", maxBytes: ChangeLimits.componentBytes) else {
            throw ControlFailure("component: required (the component that changed, e.g. api)")
        }
        guard ChangeLimits.isValidComponent(component) else {
            throw ControlFailure("component: \"\(component)\" is not a component name (letters, digits, spaces and _ . - / :, "
                + "starting with a letter or digit)")
        }
        guard let summary = try r.text("summary", maxBytes: ChangeLimits.summaryBytes) else {
            throw ControlFailure("summary: required (what changed, e.g. release 2026.12.7)")
        }
        let subject = try r.text("subject", maxBytes: ChangeLimits.subjectBytes) ?? summary.prefix(ChangeLimits.subjectBytes).description
        var detail: String?
        switch r.args["detail"] {
        case nil, .null?: break
        case .string(let s)?:
            if let problem = ChangeLimits.problem("detail", s, maxBytes: ChangeLimits.detailBytes, multiline: true) {
                throw ControlFailure(problem)
            }
            detail = s.trimmingWhitespace().isEmpty ? nil : s
        case _?: throw ControlFailure("detail: expected text")
        }
        let time = try OnCallTime.parse(try r.text("at", maxBytes: 64), now: now, argument: "at")
        guard time <= now + ChangeLimits.maximumAhead else {
            throw ControlFailure("at: \(time.rfc3339) is in the future (now is \(now.rfc3339)); "
                + "a change is recorded once it happened")
        }
        guard time >= now - ChangeLimits.maximumAge else {
            throw ControlFailure("at: \(time.rfc3339) is more than 30 days ago; too old to explain an incident")
        }
        return ChangeRecord(time: time, kind: kind, component: component, subject: subject, summary: summary,
                            actor: actor, detail: detail, recordedAt: now)
    }

    static func view(_ c: ChangeRecord) -> ChangeView {
        ChangeView(id: c.id ?? 0, time: c.time.rfc3339, kind: c.kind.rawValue, component: c.component, subject: c.subject,
                   summary: c.summary, actor: c.actor, detail: c.detail, recordedAt: c.recordedAt.rfc3339)
    }
}
