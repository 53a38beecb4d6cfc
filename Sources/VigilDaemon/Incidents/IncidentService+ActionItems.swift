import Foundation
import VigilCore
import VigilIncidents
import VigilStore

/// A refused action-item request, with the sentence the operator sees.
public enum ActionItemError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(Int64)
    case invalid(String)
    case conflict(String)

    public var description: String {
        switch self {
        case .notFound(let id): "no action item \(id)"
        case .invalid(let m), .conflict(let m): m
        }
    }
}

/// What an action-item request sets; nil leaves a field as it is (an update) or empty (a new item).
public struct ActionItemFields: Sendable, Equatable {
    public var title: String?
    public var owner: String?
    public var due: Timestamp?
    /// Remove the due date (an update).
    public var clearDue = false
    public var category: String?
    public var successCriteria: String?
    public var dependsOn: [Int64]?
    public var trackerURL: String?
    public var state: String?
    public var note: String?

    public init(title: String? = nil, owner: String? = nil, due: Timestamp? = nil, category: String? = nil,
                successCriteria: String? = nil, dependsOn: [Int64]? = nil, trackerURL: String? = nil,
                state: String? = nil, note: String? = nil) {
        self.title = title
        self.owner = owner
        self.due = due
        self.category = category
        self.successCriteria = successCriteria
        self.dependsOn = dependsOn
        self.trackerURL = trackerURL
        self.state = state
        self.note = note
    }
}

/// Seed 004 Phase 5's action items: created for an incident, owned by a roster person, due on a
/// date, categorised, with success criteria, dependencies and a tracker link, and moved through
/// ``ActionItemState``. Each change is one transaction with a line on the incident's timeline.
extension IncidentService {
    static let maximumDependencies = 50
    /// An action item due this far in the past or future is a mistyped date.
    static let plausibleDue = Duration.seconds(10 * 366 * 86_400)

    public func addActionItem(incident: String, fields: ActionItemFields, actor: String) async throws -> ActionItemRecord {
        let now = clock.now()
        let policy = workflow.policy
        return try await itemWrite { tx in
            guard let i = try tx.incident(id: incident) else { throw IncidentServiceError.notFound(incident) }
            guard let title = fields.title?.trimmingWhitespace(), !title.isEmpty else {
                throw ActionItemError.invalid("title: say what is to be done")
            }
            var item = ActionItemRecord(incidentID: i.id, kind: "improvement", title: title, owner: nil, dueAt: nil,
                                        state: ActionItemState.open.rawValue, createdAt: now)
            var f = fields
            f.state = nil
            let graph = try tx.actionItemGraph(reachableFrom: f.dependsOn ?? [])
            try Self.apply(f, to: &item, graph: graph, policy: policy, now: now, creating: true)
            item.updatedAt = now.nanoseconds
            item.updatedBy = actor
            try tx.save(&item)
            var change = IncidentChange(incident: i)
            change.record(.followUp, at: now, by: actor, "Action item #\(item.id ?? 0) added: \(title)" + Self.summary(item),
                          ["action_item": "\(item.id ?? 0)", "title": title, "owner": item.owner ?? "",
                           "category": item.category ?? "", "state": item.state])
            _ = try tx.commit(StoreChange(change))
            return item
        }
    }

    public func updateActionItem(id: Int64, fields: ActionItemFields, actor: String) async throws -> ActionItemRecord {
        let now = clock.now()
        let policy = workflow.policy
        return try await itemWrite { tx in
            guard var item = try tx.actionItem(id: id) else { throw ActionItemError.notFound(id) }
            let before = item
            let graph = try tx.actionItemGraph(reachableFrom: (fields.dependsOn ?? []) + item.dependsOn)
            try Self.apply(fields, to: &item, graph: graph, policy: policy, now: now, creating: false)
            guard item != before || fields.note != nil else { return item }
            item.updatedAt = now.nanoseconds
            item.updatedBy = actor
            try tx.save(&item)
            if let incidentID = item.incidentID, let i = try tx.incident(id: incidentID) {
                var what: [String] = []
                if item.state != before.state { what.append("\(before.state) → \(item.state)") }
                if item.owner != before.owner { what.append("owner \(item.owner ?? "none")") }
                if item.dueAt != before.dueAt { what.append("due \(item.dueAt.map { Timestamp(nanoseconds: $0).rfc3339 } ?? "none")") }
                if item.title != before.title { what.append("title \"\(item.title)\"") }
                if item.category != before.category { what.append("category \(item.category ?? "none")") }
                if item.successCriteria != before.successCriteria { what.append("success criteria changed") }
                if item.dependsOn != before.dependsOn {
                    what.append("depends on " + (item.dependsOn.isEmpty ? "nothing" : item.dependsOn.map { "#\($0)" }.joined(separator: ", ")))
                }
                if item.trackerURL != before.trackerURL { what.append("tracker \(item.trackerURL ?? "none")") }
                var change = IncidentChange(incident: i)
                change.record(.followUp, at: now, by: actor,
                              "Action item #\(id) \(item.title): " + (what.isEmpty ? "noted" : what.joined(separator: "; "))
                                  + (fields.note.map { " — \($0)" } ?? ""),
                              ["action_item": "\(id)", "state": item.state, "from": before.state])
                _ = try tx.commit(StoreChange(change))
            }
            return item
        }
    }

    /// Checks and applies `f`: every problem is refused before anything is stored.
    static func apply(_ f: ActionItemFields, to item: inout ActionItemRecord, graph: (edges: [Int64: [Int64]], states: [Int64: String]),
                      policy: IncidentPolicy, now: Timestamp, creating: Bool) throws {
        func text(_ value: String?, _ field: String, limit: Int) throws -> String?? {
            guard let value else { return nil }
            let t = value.trimmingWhitespace()
            guard t.utf8.count <= limit else { throw ActionItemError.invalid("\(field): \(t.utf8.count) bytes; at most \(limit)") }
            guard !t.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" }) else {
                throw ActionItemError.invalid("\(field): contains control characters")
            }
            return .some(t.isEmpty ? nil : t)
        }
        if let t = try text(f.title, "title", limit: 500) {
            guard let t else { throw ActionItemError.invalid("title: say what is to be done") }
            item.title = t
        }
        if let o = try text(f.owner, "owner", limit: 200) {
            if let o {
                let people = OnCallSchedule(roster: policy.roster)
                guard let p = people.person(o) ?? policy.roster.people.first(where: { $0.name.lowercased() == o.lowercased() }) else {
                    throw ActionItemError.invalid("owner: unknown person \"\(o)\"; the roster has "
                        + policy.roster.people.map(\.id).joined(separator: ", "))
                }
                item.owner = p.id
            } else {
                item.owner = nil
            }
        }
        if f.clearDue { item.dueAt = nil }
        if let due = f.due {
            guard due > now - plausibleDue, due < now + plausibleDue else {
                throw ActionItemError.invalid("due: \(due.rfc3339) is not a plausible due date (more than ten years away)")
            }
            if creating || due != item.dueAt.map(Timestamp.init(nanoseconds:)), due <= now {
                throw ActionItemError.invalid("due: \(due.rfc3339) is already past")
            }
            if item.dueAt != due.nanoseconds {
                // A new date: its reminder and escalation are sent again.
                item.remindedAt = nil
                item.escalatedAt = nil
            }
            item.dueAt = due.nanoseconds
        }
        if let c = try text(f.category, "category", limit: 40) {
            if let c {
                guard let category = ActionItemCategory(rawValue: c.lowercased()) else {
                    throw ActionItemError.invalid("category: \"\(c)\" is not one of "
                        + ActionItemCategory.allCases.map(\.rawValue).joined(separator: ", "))
                }
                item.category = category.rawValue
            } else {
                item.category = nil
            }
        }
        if let s = try text(f.successCriteria, "success_criteria", limit: 2000) { item.successCriteria = s }
        if let u = try text(f.trackerURL, "tracker_url", limit: 2000) {
            if let u {
                guard let url = URL(string: u), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
                      url.host?.isEmpty == false else {
                    throw ActionItemError.invalid("tracker_url: \"\(u.prefix(80))\" is not an http(s) link")
                }
            }
            item.trackerURL = u
        }
        if let n = try text(f.note, "note", limit: 2000) { item.note = n }
        if let deps = f.dependsOn {
            guard deps.count <= maximumDependencies else {
                throw ActionItemError.invalid("depends_on: \(deps.count) items; at most \(maximumDependencies)")
            }
            var unique: [Int64] = []
            for d in deps where !unique.contains(d) {
                guard graph.states[d] != nil else { throw ActionItemError.invalid("depends_on: no action item \(d)") }
                unique.append(d)
            }
            if let id = item.id {
                if let loop = ActionItemGraph.cycle(item: id, dependsOn: unique, edges: graph.edges) {
                    throw ActionItemError.invalid("depends_on: that would make a cycle: "
                        + loop.map { "#\($0)" }.joined(separator: " → "))
                }
            }
            item.dependsOn = unique
        }
        if let s = try text(f.state, "state", limit: 40) {
            guard let s, let target = ActionItemState(rawValue: s.lowercased()) else {
                throw ActionItemError.invalid("state: \"\(s ?? "")\" is not one of " + ActionItemState.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let current = ActionItemState(rawValue: item.state) ?? .open
            if target != current {
                guard current.next.contains(target) else {
                    throw ActionItemError.conflict("state: action item #\(item.id ?? 0) cannot go from \(current.rawValue) to \(target.rawValue); "
                        + (current.next.isEmpty ? "it is final" : "allowed: " + current.next.map(\.rawValue).joined(separator: ", ")))
                }
                if target == .done || target == .verified {
                    let waiting = item.dependsOn.filter { !(ActionItemState(rawValue: graph.states[$0] ?? "open")?.isSettled ?? false) }
                    guard waiting.isEmpty else {
                        throw ActionItemError.conflict("state: action item #\(item.id ?? 0) depends on "
                            + waiting.map { "#\($0) (\(graph.states[$0] ?? "?"))" }.joined(separator: ", ") + ", not done yet")
                    }
                }
                if target == .verified, item.successCriteria == nil {
                    throw ActionItemError.invalid("state: give success_criteria before verifying (what was checked)")
                }
                if target == .dropped, f.note?.trimmingWhitespace().isEmpty ?? true {
                    throw ActionItemError.invalid("note: say why it is dropped")
                }
                item.state = target.rawValue
            }
        }
    }

    /// How long before its due date an action item's owner is reminded.
    static let actionItemReminderLead = Duration.seconds(86_400)
    /// The action items are looked at this often (of the injected clock), not at every tick.
    static let actionItemSweepInterval = Duration.seconds(60)

    /// Sends what is due: a reminder to the owner of an item due within a day, and when it is
    /// overdue the owner and the incident commander told; each once per item, in its own
    /// transaction with a timeline line. Returns how many items it told someone about.
    func sweepActionItems() async -> Int {
        let now = clock.now()
        if let last = lastActionItemSweep, now - last < Self.actionItemSweepInterval, now >= last { return 0 }
        lastActionItemSweep = now
        let due: [ActionItemRecord]
        do { due = try await store.actionItemsNeedingNotice(now: now, remindBy: now + Self.actionItemReminderLead) } catch {
            logger.error("action items: cannot read those coming due", metadata: ["error": "\(error)"])
            return 0
        }
        let workflow = self.workflow
        var told = 0
        for candidate in due {
            guard let id = candidate.id else { continue }
            do {
                let sent = try await store.write { tx -> Bool in
                    guard var item = try tx.actionItem(id: id), let dueAt = item.dueAt, let incidentID = item.incidentID,
                          ActionItemState(rawValue: item.state)?.isSettled == false,
                          let incident = try tx.incident(id: incidentID) else { return false }
                    // The post-mortem item is done once its incident has left the post-mortem step.
                    if item.kind == "post-mortem", incident.state == .closed {
                        item.state = ActionItemState.done.rawValue
                        item.note = "the incident was closed"
                        item.updatedAt = now.nanoseconds
                        item.updatedBy = IncidentWorkflow.systemActor
                        try tx.save(&item)
                        return false
                    }
                    let overdue = dueAt <= now.nanoseconds
                    guard overdue ? item.escalatedAt == nil : item.remindedAt == nil else { return false }
                    let notice = ActionItemNotice(id: id, title: item.title, owner: item.owner,
                                                  due: Timestamp(nanoseconds: dueAt), state: item.state, trackerURL: item.trackerURL)
                    let change = workflow.actionItemNotice(incident, item: notice, overdue: overdue, at: now)
                    // An overdue item needs no "due soon" reminder any more.
                    if overdue { item.escalatedAt = now.nanoseconds; item.remindedAt = item.remindedAt ?? now.nanoseconds }
                    else { item.remindedAt = now.nanoseconds }
                    try tx.save(&item)
                    _ = try tx.commit(StoreChange(change))
                    return true
                }
                if sent { told += 1 }
            } catch {
                logger.error("action items: cannot send a reminder", metadata: ["id": "\(id)", "error": "\(error)"])
            }
        }
        return told
    }

    /// ``write(_:)`` letting an ``ActionItemError`` through as itself.
    func itemWrite<T: Sendable>(_ body: @escaping @Sendable (StoreTransaction) throws -> T) async throws -> T {
        do { return try await store.write(body) } catch let e as ActionItemError { throw e } catch let e as IncidentServiceError {
            throw e
        } catch let e as ActionItemGraphTooLarge {
            throw ActionItemError.invalid(e.description)
        } catch { throw IncidentServiceError.storage("\(error)") }
    }

    static func summary(_ item: ActionItemRecord) -> String {
        var parts: [String] = []
        if let o = item.owner { parts.append("owner \(o)") }
        if let d = item.dueAt { parts.append("due \(Timestamp(nanoseconds: d).rfc3339)") }
        if let c = item.category { parts.append(c) }
        if !item.dependsOn.isEmpty { parts.append("after " + item.dependsOn.map { "#\($0)" }.joined(separator: ", ")) }
        return parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
    }
}
