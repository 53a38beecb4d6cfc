import VigilControl
import VigilCore
import VigilIncidents
import VigilStore

/// `oncall.schedule`, `oncall.overrides`, `oncall.override` and `oncall.override.remove`.
extension IncidentControl {
    /// The longest period one `oncall.schedule` covers.
    static let maximumScheduleDays = 31

    /// Args: `from` (now, an RFC 3339 time or an offset; default now), `days` (1–31, default
    /// 14), `component`. Every staffed role's segments over the period.
    func schedule(_ r: ControlRequest, policy: IncidentPolicy) throws(ControlFailure) -> JSONValue {
        let now = clock.now()
        let from = try OnCallTime.parse(try r.text("from", maxBytes: 64), now: now, argument: "from")
        let days = try r.integer("days", default: 14, in: 1...Self.maximumScheduleDays)
        let (end, overflow) = from.nanoseconds.addingReportingOverflow(Int64(days) * 86_400_000_000_000)
        guard !overflow else { throw ControlFailure("from: \(from.rfc3339) plus \(days) days is past the last time Vigil can hold") }
        let until = Timestamp(nanoseconds: end)
        let component = try r.text("component")
        let schedule = OnCallSchedule(roster: policy.roster)
        let roles = schedule.roles.map { role in
            let rotation = schedule.rotation(for: role, component: component)
            let (segments, truncated) = schedule.segments(role: role, component: component, from: from, until: until)
            let roleName = RoleNames.display(role, policy: policy)
            return OnCallScheduleView.RoleSchedule(
                role: role, roleName: roleName, rotation: rotation?.id,
                segments: segments.map {
                    .init(role: $0.role, roleName: roleName, person: $0.person.id, personName: $0.person.name,
                          rotation: $0.rotation, from: $0.from.rfc3339, until: $0.until.rfc3339, override: $0.isOverride)
                },
                truncated: truncated)
        }
        do {
            return try JSONValue.encoding(OnCallScheduleView(from: from.rfc3339, until: until.rfc3339, component: component,
                                                             roles: roles))
        } catch {
            throw ControlFailure("oncall.schedule: cannot encode the answer: \(error)", kind: .unavailable)
        }
    }

    /// Args: `rotation` (optional). The overrides in force now or still to come, made at run
    /// time or configured, by start.
    func overrides(_ r: ControlRequest, policy: IncidentPolicy) async throws -> JSONValue {
        let rotation = try r.text("rotation", maxBytes: 128)
        let now = clock.now()
        var views: [(from: Timestamp, order: Int64, view: OnCallOverrideView)] = []
        for o in await service.configuredOverrides where o.until > now && (rotation == nil || o.rotation == rotation) {
            views.append((o.from, -1, OnCallOverrideView(
                source: "configuration", rotation: o.rotation, role: role(of: o.rotation, policy: policy),
                roleName: role(of: o.rotation, policy: policy).map { RoleNames.display($0, policy: policy) },
                person: o.person, personName: OnCallSchedule(roster: policy.roster).person(o.person)?.name,
                from: o.from.rfc3339, until: o.until.rfc3339, active: o.from <= now)))
        }
        for record in try await store.onCallOverrides(endingAfter: now) where rotation == nil || record.rotation == rotation {
            views.append((Timestamp(nanoseconds: record.startsAt), record.id ?? 0, view(record, policy: policy, now: now)))
        }
        return try JSONValue.encoding(views.sorted { ($0.from, $0.order) < ($1.from, $1.order) }.map(\.view))
    }

    /// Args: `rotation`, `person`, `from` (RFC 3339, default now), `until` (RFC 3339), `reason`;
    /// `as` on the control socket. Answers the stored override.
    func addOverride(_ r: ControlRequest, user: ControlCaller, policy: IncidentPolicy) async throws -> JSONValue {
        guard let rotation = try r.text("rotation", maxBytes: 128) else {
            throw ControlFailure("rotation: missing; the id of a rotation (known: "
                + policy.roster.rotations.map(\.id).joined(separator: ", ") + ")")
        }
        guard let person = try r.text("person", maxBytes: 128) else {
            throw ControlFailure("person: missing; the roster id of the person who takes over")
        }
        guard let until = try r.time("until") else {
            throw ControlFailure("until: missing; when the override ends, as an RFC 3339 time like 2026-03-02T09:00:00Z")
        }
        let reason: String
        switch r.args["reason"] {
        case .string(let text)?: reason = text
        case nil, .null?: reason = ""
        case _?: throw ControlFailure("reason: expected text")
        }
        let request = OnCallOverrideRequest(rotation: rotation, person: person, from: try r.time("from"), until: until,
                                            reason: reason)
        let record = try await service.addOnCallOverride(request, actor: try actor(r, user: user, policy: policy))
        return try JSONValue.encoding(view(record, policy: policy, now: clock.now()))
    }

    /// Args: `id`. Answers the override as removed.
    func removeOverride(_ r: ControlRequest, user: ControlCaller, policy: IncidentPolicy) async throws -> JSONValue {
        guard r.args["id"] != nil else { throw ControlFailure("id: missing; the override's id (vigil oncall override list)") }
        let id = try r.integer("id", default: 0, in: 1...Int.max)
        let record = try await service.removeOnCallOverride(id: Int64(id), actor: try actor(r, user: user, policy: policy))
        return try JSONValue.encoding(view(record, policy: policy, now: clock.now()))
    }

    func view(_ record: OnCallOverrideRecord, policy: IncidentPolicy, now: Timestamp) -> OnCallOverrideView {
        let role = role(of: record.rotation, policy: policy)
        let end = record.effectiveEnd
        return OnCallOverrideView(
            id: record.id, source: "runtime", rotation: record.rotation, role: role,
            roleName: role.map { RoleNames.display($0, policy: policy) }, person: record.person,
            personName: OnCallSchedule(roster: policy.roster).person(record.person)?.name,
            from: Timestamp(nanoseconds: record.startsAt).rfc3339, until: Timestamp(nanoseconds: record.endsAt).rfc3339,
            active: record.startsAt <= now.nanoseconds && now < end, reason: record.reason,
            createdAt: Timestamp(nanoseconds: record.createdAt).rfc3339, createdBy: record.createdBy,
            removedAt: record.removedAt.map { Timestamp(nanoseconds: $0).rfc3339 }, removedBy: record.removedBy)
    }

    private func role(of rotation: String, policy: IncidentPolicy) -> String? {
        policy.roster.rotations.first { $0.id == rotation }?.role
    }
}
