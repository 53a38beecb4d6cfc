import ArgumentParser
import VigilCore
import VigilControl

extension IncidentsCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one incident: classification rationale, roles, SLA, escalation, notifications and timeline.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id, e.g. INC-2026-0001.") var id: String
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            let v = try location.call("incidents.show", ["id": .string(id)]).decode(IncidentView.self)
            if json { try printJSON(v); return }
            print(IncidentReport(v).render())
        }
    }

    struct Timeline: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print an incident's timeline: who did what, when and why.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            let entries = try location.call("incidents.timeline", ["id": .string(id)]).decode([TimelineView].self)
            if json { try printJSON(entries); return }
            print(IncidentReport.timelineTable(entries))
        }
    }
}

/// The plain-text form of `vigil incidents show`.
struct IncidentReport {
    let v: IncidentView

    init(_ v: IncidentView) { self.v = v }

    func render() -> String {
        var out: [String] = ["\(v.id)  \(TerminalText.cell(v.title))"]
        var facts = TextTable("FIELD", "VALUE")
        facts.add(["severity", v.severity + (v.severityName.map { " (\($0))" } ?? "")])
        facts.add(["state", v.state + (v.backlog == true ? " (backlog)" : "")])
        facts.add(["type", v.type ?? "-"])
        facts.add(["source", v.source])
        if let f = v.fingerprint { facts.add(["fingerprint", f]) }
        if let c = v.channel { facts.add(["channel", c]) }
        facts.add(["detected", v.detectedAt])
        facts.add(["opened", v.createdAt])
        facts.add(["occurrences", "\(v.occurrences), last seen \(v.lastSeenAt)"])
        if let flaps = v.flapCount, flaps > 0 { facts.add(["flaps", "\(flaps)"]) }
        if let cleared = v.conditionClearedAt { facts.add(["condition", "cleared at \(cleared)"]) }
        var sla = describe(v.sla)
        if let rt = v.sla.responseTime { sla += " (\(rt))" }
        if let d = v.sla.deadline { sla += ", deadline \(d)" }
        facts.add(["response SLA", sla])
        facts.add(["acknowledged", v.acknowledgedAt ?? "-"])
        if let e = v.escalation {
            facts.add(["escalation", "level \(v.escalationLevel) — \(e.responder): \(e.path)"])
            for step in e.upcoming {
                facts.add(["  next", "level \(step.level) \(step.step)" + (step.person.map { " (\($0))" } ?? "")
                    + " at \(step.due) if not acknowledged"])
            }
        }
        if let s = v.statusUpdates, let cadence = s.cadence {
            facts.add(["status updates", "every \(cadence)" + (s.nextDue.map { ", next due \($0)" } ?? ", none scheduled")])
        }
        if let c = v.containmentCategory { facts.add(["containment", c]) }
        if let r = v.runbook { facts.add(["runbook", r]) }
        if let r = v.resolvedAt { facts.add(["resolved", r]) }
        if let p = v.postMortemDueAt { facts.add(["post-mortem due", p]) }
        if let w = v.recoveryWatch {
            let when = w.state == "watching" ? "until \(w.until)" : (w.endedAt.map { "since \($0)" } ?? "")
            facts.add(["recovery watch", "\(w.state) \(when): \(w.expression)"])
        }
        if let c = v.closedAt { facts.add(["closed", c]) }
        if !v.summary.isEmpty { facts.add(["summary", v.summary]) }
        out.append(facts.render().split(separator: "\n").dropFirst().joined(separator: "\n"))

        if let roles = v.roleDetails, !roles.isEmpty {
            out.append("\nROLES")
            var t = TextTable("ROLE", "PERSON")
            for r in roles { t.add(["  " + r.roleName, r.person + (r.personName.map { " (\($0))" } ?? "")]) }
            out.append(t.render().split(separator: "\n").dropFirst().joined(separator: "\n"))
        }
        if let c = v.classification, !c.rationale.isEmpty {
            out.append("\nCLASSIFICATION RATIONALE")
            out += c.rationale.map { "  - \(TerminalText.cell($0))" }
        }
        if let r = v.resolution {
            out.append("\nRESOLUTION")
            out.append("  resolved by:  \(TerminalText.cell(r.resolvedBy))")
            out.append("  summary:      \(TerminalText.cell(r.summary))")
            out.append("  verification: \(TerminalText.cell(r.verification))")
            if let rc = r.rootCause { out.append("  root cause:   \(TerminalText.cell(rc))") }
            for a in r.actions { out.append("  action:       \(TerminalText.cell(a))") }
        }
        if let items = v.actionItems, !items.isEmpty {
            out.append("\nACTION ITEMS")
            var t = TextTable("ID", "KIND", "STATE", "OWNER", "DUE", "TITLE")
            for i in items { t.add(["\(i.id ?? 0)", i.kind, i.state, i.owner ?? "-", i.dueAt ?? "-", i.title]) }
            out.append(t.render())
        }
        if let notes = v.notifications, !notes.isEmpty {
            out.append("\nNOTIFICATIONS")
            var t = TextTable("ID", "CHANNEL", "TO", "STATE", "TRIES", "SUBJECT")
            for n in notes {
                t.add(["\(n.id ?? 0)", n.channel, n.recipients.joined(separator: ","), n.state, "\(n.attempts)", n.subject])
            }
            out.append(t.render())
        }
        if let timeline = v.timeline, !timeline.isEmpty {
            out.append("\nTIMELINE")
            out.append(Self.timelineTable(timeline))
        }
        return out.joined(separator: "\n")
    }

    static func timelineTable(_ entries: [TimelineView]) -> String {
        var t = TextTable("#", "TIME", "ACTOR", "KIND", "MESSAGE")
        for e in entries { t.add(["\(e.sequence)", e.time, e.actor, e.kind, e.message]) }
        return t.render()
    }
}
