import VigilCore

/// One seat of the initial response team and why this person got it.
public struct TeamMember: Sendable, Equatable {
    public var role: String
    public var person: Person
    public var reason: String
}

/// Picks the initial response team (seed 004 "Team Notification and War Room Setup"): the roles
/// the severity's mobilisation calls for, staffed from whoever is on call, with the technical
/// lead and specialists chosen by skills matching the affected components.
///
/// Roles without a rotation of their own fall back: commander, operations and (by default)
/// technical lead to the on-call engineer, communications lead to the commander, security
/// engineer to an on-call person with the `security` skill, then anyone in the roster with it.
public struct ResponseTeamSelector: Sendable {
    public let policy: IncidentPolicy
    public let schedule: OnCallSchedule

    public init(policy: IncidentPolicy) {
        self.policy = policy
        self.schedule = OnCallSchedule(roster: policy.roster)
    }

    public func select(mobilisation: TeamMobilisation, components: [String], security: Bool,
                       at time: Timestamp) -> [TeamMember] {
        let component = components.first
        let onCall = schedule.shifts(at: time, component: component)
        var team: [TeamMember] = []
        func seat(_ role: String, _ person: Person?, _ reason: String) {
            guard let person, !team.contains(where: { $0.role == role }) else { return }
            team.append(TeamMember(role: role, person: person, reason: reason))
        }
        func rotationHolder(_ role: String) -> (Person, String)? {
            schedule.shift(role: role, component: component, at: time).map {
                ($0.person, "on call for \(RoleNames.display(role, policy: policy)) (rotation \($0.rotation)"
                    + ($0.isOverride ? ", override" : "") + ")")
            }
        }
        let engineer = rotationHolder(policy.handling.initialResponder) ?? rotationHolder("on_call_engineer")
        let commander = rotationHolder("incident_commander") ?? engineer
        seat("incident_commander", commander?.0, commander?.1 ?? "")

        if mobilisation == .primaryOnCall {
            seat("technical_lead", commander?.0, "the primary on-call engineer commands and fixes")
        }
        if mobilisation == .full || mobilisation == .coreWithSpecialists {
            let expert = bestSkilled(onCall.map(\.person), for: components)
            let technical = rotationHolder("technical_lead")
                ?? expert.map { ($0.0, "on call with skills \($0.1.joined(separator: ", "))") } ?? engineer
            seat("technical_lead", technical?.0, technical?.1 ?? "")
        }
        if mobilisation == .full || mobilisation == .coreWithSpecialists {
            let comms = rotationHolder("communications_lead")
                ?? commander.map { ($0.0, "incident commander also communicates (no communications rotation)") }
            seat("communications_lead", comms?.0, comms?.1 ?? "")
        }
        if mobilisation == .full {
            let ops = rotationHolder("operations_engineer") ?? engineer
            seat("operations_engineer", ops?.0, ops?.1 ?? "")
        }
        if mobilisation == .coreWithSpecialists {
            let seated = Set(team.map(\.person.id))
            for c in components {
                let covered = team.contains { Self.knows($0.person, c) }
                guard !covered else { continue }
                let candidates = onCall.map(\.person) + policy.roster.people
                if let expert = candidates.first(where: { Self.knows($0, c) && !seated.contains($0.id) }) {
                    let available = onCall.contains { $0.person.id == expert.id }
                    seat("specialist:\(c)", expert, "knows \(c)" + (available ? " and is on call" : ""))
                }
            }
        }
        if security {
            let sec = rotationHolder("security_engineer")
                ?? (onCall.map(\.person) + policy.roster.people).first { Self.knows($0, "security") }
                    .map { ($0, "has the security skill") }
            seat("security_engineer", sec?.0, sec.map { $0.1 + "; security implications detected" } ?? "")
        }
        return team
    }

    /// The person knowing most of `components`, with what they know; nil when nobody knows any.
    func bestSkilled(_ people: [Person], for components: [String]) -> (Person, [String])? {
        var best: (Person, [String])?
        for p in people {
            let known = components.filter { Self.knows(p, $0) }
            if !known.isEmpty, known.count > (best?.1.count ?? 0) { best = (p, known) }
        }
        return best
    }

    static func knows(_ person: Person, _ skill: String) -> Bool {
        person.skills.contains { $0.lowercased() == skill.lowercased() }
    }
}
