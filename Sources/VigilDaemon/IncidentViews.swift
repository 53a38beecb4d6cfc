import VigilControl
import VigilCore
import VigilIncidents
import VigilStore

// The views themselves are `VigilControl`'s (shared with the CLI); here is how the daemon makes
// them from its domain values.

extension IncidentView {
    /// The view with only the ladder known (no roster names, escalation targets from an empty policy).
    public init(_ i: Incident, ladder: SeverityLadder, now: Timestamp, timeline: [TimelineEntry]? = nil) {
        self.init(i, policy: IncidentPolicy(ladder: ladder), now: now, timeline: timeline)
    }

    public init(_ i: Incident, policy: IncidentPolicy, now: Timestamp, timeline: [TimelineEntry]? = nil,
                notifications: [NotificationRecord]? = nil, actionItems: [ActionItemRecord]? = nil) {
        let ladder = policy.ladder
        let clock = ResponseClock(i, now: now)
        let sla = SLA(state: clock.state.rawValue, deadline: clock.deadline?.rfc3339,
                      remainingSeconds: clock.remaining.map { Int($0.inSeconds.rounded(.down)) },
                      responseTime: ladder.level(of: i.severity)?.responseTime.map(DurationText.format),
                      breachedAt: i.slaBreachedAt?.rfc3339)
        self.init(id: i.id, title: i.title, summary: i.summary, type: i.type, severity: i.severity.code,
                  severityName: ladder.level(of: i.severity)?.name, state: i.state.rawValue, source: i.source,
                  fingerprint: i.fingerprint, occurrences: i.occurrences, detectedAt: i.detectedAt.rfc3339,
                  createdAt: i.createdAt.rfc3339, updatedAt: i.updatedAt.rfc3339, lastSeenAt: i.lastSeenAt.rfc3339,
                  acknowledgedAt: i.acknowledgedAt?.rfc3339, resolvedAt: i.resolvedAt?.rfc3339,
                  closedAt: i.closedAt?.rfc3339, sla: sla)
        containmentCategory = i.containmentCategory
        runbook = i.runbook
        escalationLevel = i.escalationLevel
        let plan = EscalationPlan(policy: policy, incident: i)
        let schedule = OnCallSchedule(roster: policy.roster)
        let component = i.classification?.affectedComponents.first
        escalation = Escalation(
            responder: RoleNames.display(i.responderRole, policy: policy), path: plan.describe(policy: policy),
            level: i.escalationLevel, escalatedAt: i.escalatedAt?.rfc3339,
            upcoming: plan.upcoming(for: i).map { level, step, due in
                var person: String?
                if case .role(let r) = step { person = schedule.shift(role: r, component: component, at: due)?.person.id }
                return EscalationStepView(level: level, step: EscalationPlan.describe(step, policy: policy),
                                          person: person, due: due.rfc3339)
            })
        classification = i.classification
        roles = i.roles
        roleDetails = i.roles.sorted { $0.key < $1.key }.map {
            RoleView(role: $0.key, roleName: RoleNames.display($0.key, policy: policy), person: $0.value,
                     personName: schedule.person($0.value)?.name)
        }
        labels = i.labels
        channel = i.channel
        backlog = i.backlog
        statusUpdates = StatusUpdates(cadence: ladder.level(of: i.severity)?.statusUpdateInterval.map(DurationText.format),
                                      nextDue: i.nextStatusUpdateAt?.rfc3339)
        flapCount = i.flapCount
        conditionClearedAt = i.conditionClearedAt?.rfc3339
        postMortemDueAt = i.postMortemDueAt?.rfc3339
        resolution = i.resolution
        self.timeline = timeline?.map(TimelineView.init)
        self.notifications = notifications?.map {
            NotificationView(id: $0.id, channel: $0.channel, recipients: $0.recipients, subject: $0.subject,
                             state: $0.state, attempts: $0.attempts, lastError: $0.lastError)
        }
        self.actionItems = actionItems?.map { ActionItemView($0, now: nil) }
    }
}

extension TimelineView {
    public init(_ e: TimelineEntry) {
        self.init(sequence: e.sequence, time: e.time.rfc3339, actor: e.actor, kind: e.kind.rawValue, message: e.message,
                  data: e.data)
    }
}

extension OnCallView {
    public init(at: Timestamp, component: String?, shifts: [OnCallShift], policy: IncidentPolicy) {
        self.init(at: at.rfc3339, component: component, shifts: shifts.map {
            Shift(role: $0.role, roleName: RoleNames.display($0.role, policy: policy), person: $0.person.id,
                  personName: $0.person.name, contacts: $0.person.contacts, skills: $0.person.skills,
                  rotation: $0.rotation, from: $0.from.rfc3339, until: $0.until.rfc3339, override: $0.isOverride)
        })
    }
}

extension RunbookView {
    public init(_ r: Runbook, incident: String? = nil, progress: RunbookProgress? = nil) {
        self.init(name: r.name, title: r.title, incidentTypes: r.incidentTypes, file: r.file, incident: incident,
                  done: progress?.doneCount, next: progress?.nextStep,
                  steps: r.steps.enumerated().map { i, s in
                      let tick = progress?.ticks[i + 1]
                      let text = switch s { case .action(let name): name; case .check(let text): text }
                      return StepView(number: i + 1, kind: s.kind, text: text, done: progress.map { _ in tick?.done == true },
                                      by: tick?.actor, at: tick?.time.rfc3339, note: tick?.note)
                  })
    }
}

extension IncidentView.ActionItemView {
    /// The view of a stored item; `now` decides `overdue` (nil leaves it out).
    init(_ r: ActionItemRecord, now: Timestamp?) {
        func time(_ n: Int64?) -> String? { n.map { Timestamp(nanoseconds: $0).rfc3339 } }
        let settled = ActionItemState(rawValue: r.state)?.isSettled ?? false
        self.init(id: r.id, kind: r.kind, title: r.title, owner: r.owner, dueAt: time(r.dueAt), state: r.state,
                  incident: r.incidentID, category: r.category, successCriteria: r.successCriteria,
                  dependsOn: r.dependsOn.isEmpty ? nil : r.dependsOn, trackerUrl: r.trackerURL, note: r.note,
                  createdAt: time(r.createdAt), updatedAt: time(r.updatedAt), updatedBy: r.updatedBy,
                  overdue: now.map { now in !settled && (r.dueAt.map { $0 < now.nanoseconds } ?? false) })
    }
}
