import Foundation
import VigilConfig
import VigilCore
import VigilIncidents

/// The repository root, found from this file's path.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// The shipped configuration's policy, with `ladder` active (`p1-p4` or `p0-p3`).
func shippedPolicy(ladder: String = "p1-p4", edit: (String) -> String = { $0 }) throws -> IncidentPolicy {
    let path = repositoryRoot + "/Config/vigil.yaml"
    let text = try String(contentsOfFile: path, encoding: .utf8)
        .replacingOccurrences(of: "active: p1-p4", with: "active: \(ladder)")
    return try ConfigLoader.load(text: edit(text), file: path).policy
}

/// Monday 2026-03-02 10:00 UTC: eight whole weeks after the example rotations start, so the
/// weekly primary rotation (alice, bob, dave) is on member 8 % 3 = 2: dave.
let monday = Timestamp(nanoseconds: 1_772_445_600_000_000_000)

func minutes(_ m: Int) -> Duration { .seconds(m * 60) }

func workflow(_ policy: IncidentPolicy, at time: Timestamp = monday) -> (IncidentWorkflow, ManualClock) {
    let clock = ManualClock(time)
    return (IncidentWorkflow(policy: policy, clock: clock), clock)
}

/// Opens a declared incident the way the store would, with `id`.
func declare(_ w: IncidentWorkflow, _ input: ClassificationInput, id: String = "INC-2026-0001",
             actor: String = "alice", responder: String? = nil) throws -> IncidentChange {
    try w.declare(input, actor: actor, responder: responder).change(id: id)
}

/// Applies a change to a running timeline the way the store does (sequence numbers).
func apply(_ change: IncidentChange, to timeline: inout [TimelineEntry]) -> Incident {
    for var e in change.timeline {
        e.sequence = timeline.count + 1
        timeline.append(e)
    }
    return change.incident
}

func signal(_ transition: RuleSignal.Transition = .firing, at time: Timestamp, fingerprint: String = "cpu_high{host=web-1}",
            value: Double = 95, labels: [String: String] = ["host": "web-1"], section: String? = "system_health",
            incidentType: String? = nil, severity: String? = nil) -> RuleSignal {
    RuleSignal(transition: transition, ruleID: "cpu_high", expression: "cpu_usage > 90% for 5 minutes",
               section: section, labels: labels, fingerprint: fingerprint, value: value, unit: "%",
               firstHeldAt: time - minutes(5), at: time, incidentType: incidentType, severity: severity)
}
