import VigilCore

/// Who holds a role at a moment: the person, the rotation that put them there, and the shift.
public struct OnCallShift: Sendable, Equatable {
    public var role: String
    public var person: Person
    public var rotation: String
    public var from: Timestamp
    public var until: Timestamp
    /// True when an override (holiday cover, swap) replaced the rotation's member.
    public var isOverride: Bool
}

/// Answers "who is on call for X at T" from the roster's rotations and overrides.
///
/// One answer per role and component: rotations staffing the role that list the component win
/// over rotations covering every component (empty `components`); among equals, the first in the
/// configuration wins. Within a rotation, member *k* holds shift *k* (`start + k·period`),
/// cycling; an override covering the moment replaces the member (the last override listed wins).
public struct OnCallSchedule: Sendable {
    public let roster: Roster

    public init(roster: Roster) { self.roster = roster }

    public func person(_ id: String) -> Person? { roster.people.first { $0.id == id } }

    /// Every role some rotation staffs, in configuration order.
    public var roles: [String] {
        var out: [String] = []
        for r in roster.rotations where !out.contains(r.role) { out.append(r.role) }
        return out
    }

    /// The rotation that answers for `role` and `component`.
    public func rotation(for role: String, component: String?) -> Rotation? {
        let staffing = roster.rotations.filter { $0.role == role }
        if let c = component?.lowercased(),
           let specific = staffing.first(where: { $0.components.contains { $0.lowercased() == c } }) {
            return specific
        }
        return staffing.first { $0.components.isEmpty }
    }

    /// Who holds `role` for `component` at `time`; nil when no rotation covers it or it has not started.
    public func shift(role: String, component: String?, at time: Timestamp) -> OnCallShift? {
        guard let rotation = rotation(for: role, component: component) else { return nil }
        return shift(in: rotation, at: time)
    }

    /// The member of `rotation` on duty at `time`, overrides applied.
    public func shift(in rotation: Rotation, at time: Timestamp) -> OnCallShift? {
        let period = rotation.period.nanoseconds
        guard period > 0, !rotation.members.isEmpty, time >= rotation.start else { return nil }
        let k = (time.nanoseconds - rotation.start.nanoseconds) / period
        let from = Timestamp(nanoseconds: rotation.start.nanoseconds + k * period)
        let until = Timestamp(nanoseconds: from.nanoseconds + period)
        if let o = roster.overrides.last(where: { $0.rotation == rotation.id && $0.from <= time && time < $0.until }),
           let p = person(o.person) {
            return OnCallShift(role: rotation.role, person: p, rotation: rotation.id, from: o.from, until: o.until,
                               isOverride: true)
        }
        let memberIndex = Int(k % Int64(rotation.members.count))
        guard let p = person(rotation.members[memberIndex]) else { return nil }
        // An override starting inside this shift ends it early, so "until" is when the pager moves.
        let nextOverride = roster.overrides.filter { $0.rotation == rotation.id && $0.from > time && $0.from < until }
            .map(\.from).min()
        return OnCallShift(role: rotation.role, person: p, rotation: rotation.id, from: from,
                           until: nextOverride ?? until, isOverride: false)
    }

    /// One shift per staffed role at `time` (for `component` when given), in configuration order.
    public func shifts(at time: Timestamp, component: String? = nil) -> [OnCallShift] {
        roles.compactMap { shift(role: $0, component: component, at: time) }
    }
}

/// How roles read for people: `incident_commander` → `Incident Commander`, `cto` → `CTO`.
public enum RoleNames {
    static let known: [String: String] = [
        "on_call_engineer": "On-call Engineer", "team_lead": "Team Lead",
        "engineering_manager": "Engineering Manager", "cto": "CTO",
    ]

    public static func display(_ id: String, policy: IncidentPolicy) -> String {
        if let r = policy.roles.first(where: { $0.id == id }) { return r.name }
        if let k = known[id] { return k }
        if id.hasPrefix("specialist:") { return "Specialist (\(id.dropFirst("specialist:".count)))" }
        return id.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " ")
    }
}
