import VigilCore

/// The documented JSON form of one on-call override (`vigil oncall override list|add|remove
/// --json`, `oncall.overrides`): one made at run time, or one from the configuration's
/// `roster.overrides` (no id; change the file to change it).
public struct OnCallOverrideView: Codable, Sendable, Equatable {
    /// The stored override's id (what `oncall.override.remove` takes); nil for a configured one.
    public var id: Int64?
    /// `runtime` (made with `oncall.override`) or `configuration`.
    public var source: String
    public var rotation: String
    /// The role the rotation staffs, and how it reads.
    public var role: String?
    public var roleName: String?
    public var person: String
    public var personName: String?
    public var from: String
    public var until: String
    /// True while it is in force.
    public var active: Bool
    public var reason: String?
    public var createdAt: String?
    public var createdBy: String?
    public var removedAt: String?
    public var removedBy: String?

    public init(id: Int64? = nil, source: String, rotation: String, role: String? = nil, roleName: String? = nil,
                person: String, personName: String? = nil, from: String, until: String, active: Bool,
                reason: String? = nil, createdAt: String? = nil, createdBy: String? = nil, removedAt: String? = nil,
                removedBy: String? = nil) {
        self.id = id
        self.source = source
        self.rotation = rotation
        self.role = role
        self.roleName = roleName
        self.person = person
        self.personName = personName
        self.from = from
        self.until = until
        self.active = active
        self.reason = reason
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.removedAt = removedAt
        self.removedBy = removedBy
    }
}

/// The documented JSON form of `vigil oncall schedule --json` (`oncall.schedule`): who holds
/// each role over a period, as consecutive segments cut at handovers and overrides.
public struct OnCallScheduleView: Codable, Sendable, Equatable {
    /// One stretch during which one person holds the role.
    public struct Segment: Codable, Sendable, Equatable {
        public var role: String
        public var roleName: String
        public var person: String
        public var personName: String
        public var rotation: String
        public var from: String
        public var until: String
        /// True when an override put the person there.
        public var override: Bool

        public init(role: String, roleName: String, person: String, personName: String, rotation: String,
                    from: String, until: String, override: Bool) {
            self.role = role
            self.roleName = roleName
            self.person = person
            self.personName = personName
            self.rotation = rotation
            self.from = from
            self.until = until
            self.override = override
        }
    }

    /// One role's segments, in time order; a gap between two means nobody holds the role then.
    public struct RoleSchedule: Codable, Sendable, Equatable {
        public var role: String
        public var roleName: String
        /// The rotation answering for the role (and component).
        public var rotation: String?
        public var segments: [Segment]
        /// True when the answer stops early (more than 5,000 segments, or a rotation handing over
        /// more than 100,000 times in the period): the last segment's `until` is where it stops.
        public var truncated: Bool

        public init(role: String, roleName: String, rotation: String?, segments: [Segment], truncated: Bool) {
            self.role = role
            self.roleName = roleName
            self.rotation = rotation
            self.segments = segments
            self.truncated = truncated
        }
    }

    public var from: String
    public var until: String
    public var component: String?
    public var roles: [RoleSchedule]

    public init(from: String, until: String, component: String? = nil, roles: [RoleSchedule]) {
        self.from = from
        self.until = until
        self.component = component
        self.roles = roles
    }
}
