import VigilCore
import VigilIncidents
import VigilStore

/// Why an on-call override change was refused.
public enum OnCallOverrideChangeError: Error, CustomStringConvertible, Sendable {
    case invalid(OnCallOverrideError)
    case notFound(Int64)
    case alreadyRemoved(id: Int64, at: Timestamp, by: String)
    case alreadyEnded(id: Int64, at: Timestamp)
    case tooMany(limit: Int)

    public var description: String {
        switch self {
        case .invalid(let e): e.description
        case .notFound(let id): "no on-call override \(id)"
        case .alreadyRemoved(let id, let at, let by): "on-call override \(id) was already removed at \(at.rfc3339) by \(by)"
        case .alreadyEnded(let id, let at): "on-call override \(id) already ended at \(at.rfc3339)"
        case .tooMany(let limit):
            "\(limit) on-call overrides are current or still to come; at most \(limit) are kept (remove some first)"
        }
    }
}

extension IncidentService {
    /// How far back the roster keeps stored overrides in force: questions about the recent past
    /// (`vigil oncall --at -3 days`, a schedule starting last week) see them; older ones stay in
    /// the table as a record but no longer shape answers.
    static let overrideHistory: Duration = .seconds(90 * 86_400)
    /// Most overrides current or still to come at once (a bound on what one token can make the
    /// daemon hold and scan for every page).
    static let maximumLiveOverrides = 1000

    /// Reads the stored overrides into the roster: at start, before anything is paged.
    public func restoreOnCallOverrides() async throws {
        let records = try await store.onCallOverrides(endingAfter: clock.now() - Self.overrideHistory)
        overrideRecords = Dictionary(records.compactMap { r in r.id.map { ($0, r) } }, uniquingKeysWith: { a, _ in a })
        applyStoredOverrides()
    }

    /// Stores an override made by `actor` and applies it at once: from the moment it returns,
    /// pages, escalations and role assignments go to the override's person.
    public func addOnCallOverride(_ request: OnCallOverrideRequest, actor: String) async throws -> OnCallOverrideRecord {
        let now = clock.now()
        let valid: RosterOverride
        do { valid = try request.validated(roster: workflow.policy.roster, now: now) } catch {
            throw OnCallOverrideChangeError.invalid(error)
        }
        let record = OnCallOverrideRecord(rotation: valid.rotation, person: valid.person, startsAt: valid.from,
                                          endsAt: valid.until, reason: request.reason.trimmingWhitespace(),
                                          createdAt: now, createdBy: actor)
        let limit = Self.maximumLiveOverrides
        guard let stored = try await store.insertOnCallOverride(record, unlessMoreThan: limit, liveAt: now) else {
            throw OnCallOverrideChangeError.tooMany(limit: limit)
        }
        if let id = stored.id { overrideRecords[id] = stored }
        applyStoredOverrides()
        logger.notice("on-call override added", metadata: [
            "id": "\(stored.id ?? 0)", "rotation": "\(stored.rotation)", "person": "\(stored.person)",
            "from": "\(valid.from.rfc3339)", "until": "\(valid.until.rfc3339)", "actor": "\(actor)"])
        return stored
    }

    /// Removes an override by `actor`: one to come never applies, one in force ends now.
    public func removeOnCallOverride(id: Int64, actor: String) async throws -> OnCallOverrideRecord {
        let now = clock.now()
        let removed = try await store.removeOnCallOverride(id: id, at: now, by: actor) { r throws(OnCallOverrideChangeError) in
            if let at = r.removedAt {
                throw .alreadyRemoved(id: id, at: Timestamp(nanoseconds: at), by: r.removedBy ?? "?")
            }
            if r.endsAt <= now.nanoseconds { throw .alreadyEnded(id: id, at: Timestamp(nanoseconds: r.endsAt)) }
        }
        guard let removed else { throw OnCallOverrideChangeError.notFound(id) }
        overrideRecords[id] = removed
        applyStoredOverrides()
        logger.notice("on-call override removed", metadata: ["id": "\(id)", "actor": "\(actor)"])
        return removed
    }

    /// The configuration's overrides, then the stored ones in the order they were made.
    func applyStoredOverrides() {
        let horizon = clock.now() - Self.overrideHistory
        overrideRecords = overrideRecords.filter { $0.value.effectiveEnd > horizon }
        let stored = overrideRecords.sorted { $0.key < $1.key }.compactMap(\.value.rosterOverride)
        setRosterOverrides(stored)
    }
}
