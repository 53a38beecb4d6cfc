import VigilControl
import Foundation
import VigilCore
import VigilMatchers
import VigilSilences

/// `vigil silences` on the control socket: `silences.add`, `silences.list`, `silences.expire`,
/// `silences.preview`.
public struct SilenceControl: Sendable {
    public static let commands = ["silences.add", "silences.list", "silences.expire", "silences.preview"]
    public static func handles(_ command: String) -> Bool { commands.contains(command) }

    let service: SilenceService
    let clock: any VigilClock
    /// The alerts firing now (the alert service's, which the store may trail by a write).
    let activeAlerts: @Sendable () async -> [Alert]

    public init(service: SilenceService, clock: any VigilClock, activeAlerts: @escaping @Sendable () async -> [Alert] = { [] }) {
        self.service = service
        self.clock = clock
        self.activeAlerts = activeAlerts
    }

    public func handle(_ request: ControlRequest, actor: String) async throws -> JSONValue {
        switch request.command {
        case "silences.add": return try await add(request, actor: actor)
        case "silences.list": return try list(request)
        case "silences.expire": return try await expire(request, actor: actor)
        case "silences.preview": return try await preview(request)
        default: throw ControlFailure("unknown command \"\(request.command)\"")
        }
    }

    /// Args: `matchers` (list of texts like `team="db"`, joined as amtool joins them), `comment`,
    /// `endsAt` (RFC 3339) or `duration` (default 1 hour), `startsAt` (default now), `createdBy`
    /// (default: the socket user), `id` (to update).
    func add(_ request: ControlRequest, actor: String) async throws -> JSONValue {
        guard let texts = request.args["matchers"]?.arrayValue?.compactMap(\.stringValue), !texts.isEmpty else {
            throw ControlFailure("missing argument \"matchers\": at least one matcher like alertname=\"Disk\"")
        }
        let matchers: LabelMatchers
        do { matchers = try LabelMatchers.parse(texts.joined(separator: ",")) } catch {
            throw ControlFailure("matchers: \(error)")
        }
        let now = clock.now()
        let startsAt = try time(request, "startsAt") ?? now
        var endsAt = try time(request, "endsAt")
        if endsAt == nil {
            let text = request.optionalString("duration") ?? "1h"
            guard let d = DurationText.parse(text), d > .zero else {
                throw ControlFailure("duration: expected a duration like \"2h\" or \"30 minutes\", found \"\(text)\"")
            }
            endsAt = startsAt + d
        }
        guard let comment = request.optionalString("comment"), !comment.isEmpty else {
            throw ControlFailure("missing argument \"comment\": say why (it is in every affected incident's timeline)")
        }
        var draft = SilenceDraft(matchers: matchers.matchers.map { MatcherInput(name: $0.name, value: $0.value, type: $0.type) },
                                 startsAt: startsAt, endsAt: endsAt ?? now, createdBy: request.optionalString("createdBy") ?? actor,
                                 comment: comment)
        if let id = request.optionalString("id") {
            if let uuid = UUID(uuidString: id) { draft.id = uuid } else { draft.unparsableID = id }
        }
        do {
            let change = try await service.set(draft, actor: actor)
            return .object(["silenceID": .string(change.silence.idText)])
        } catch let e as SilenceError {
            throw ControlFailure(e.message)
        }
    }

    func list(_ request: ControlRequest) throws -> JSONValue {
        var filter: LabelMatchers?
        if let texts = request.args["filter"]?.arrayValue?.compactMap(\.stringValue), !texts.isEmpty {
            do { filter = try LabelMatchers.parse(texts.joined(separator: ",")) } catch {
                throw ControlFailure("filter: \(error)")
            }
        }
        let expired = request.args["expired"]?.boolValue ?? false
        let now = clock.now()
        let views = service.list(filter: filter).map { SilenceView($0, now: now) }
            .filter { ($0.status.state == SilenceState.expired.rawValue) == expired }
        let windows = service.maintenanceWindows.map { MaintenanceWindowView($0, now: now) }
        return .object(["silences": try JSONValue.encoding(views), "maintenanceWindows": try JSONValue.encoding(windows)])
    }

    func expire(_ request: ControlRequest, actor: String) async throws -> JSONValue {
        guard let ids = request.args["ids"]?.arrayValue?.compactMap(\.stringValue), !ids.isEmpty else {
            throw ControlFailure("missing argument \"ids\": the silence ids to expire")
        }
        var expired: [JSONValue] = []
        for id in ids {
            guard let uuid = UUID(uuidString: id) else { throw ControlFailure("silence \(id) not found") }
            do {
                try await service.expire(uuid, actor: actor)
                expired.append(.string(uuid.uuidString.lowercased()))
            } catch let e as SilenceError {
                throw ControlFailure(e.isNotFound ? "silence \(id) not found" : e.message)
            }
        }
        return .object(["expired": .array(expired)])
    }

    func time(_ request: ControlRequest, _ key: String) throws -> Timestamp? {
        guard let text = request.optionalString(key) else { return nil }
        guard let t = RFC3339.parse(text) else {
            throw ControlFailure("\(key): expected an RFC 3339 time like 2026-01-05T09:00:00Z, found \"\(text)\"")
        }
        return t
    }
}
