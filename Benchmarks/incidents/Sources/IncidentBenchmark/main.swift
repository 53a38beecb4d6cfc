import Foundation
import IncidentDaemon
import Logging
import VigilCore
import VigilIncidents
import VigilStore

// Prints one "name value" line per figure (milliseconds, best of 3, fresh database each run);
// run.sh formats them. Everything goes through IncidentService and a real SQLite file (WAL,
// synchronous=FULL), like the daemon.

let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
let start = Timestamp(nanoseconds: 1_772_445_600_000_000_000)

/// Seed 000's ladder and escalation row, enough for the service to classify and page.
func policy() -> IncidentPolicy {
    let ladder = SeverityLadder(name: "p1-p4", levels: [
        SeverityLevel(code: "P1", name: "Critical", description: "", responseTime: .seconds(900), statusUpdateInterval: .seconds(1800)),
        SeverityLevel(code: "P2", name: "High", description: "", responseTime: .seconds(3600), statusUpdateInterval: .seconds(3600)),
        SeverityLevel(code: "P3", name: "Medium", description: "", responseTime: .seconds(14_400)),
        SeverityLevel(code: "P4", name: "Low", description: "", responseTime: nil),
    ])
    var p = IncidentPolicy(ladder: ladder)
    p.escalation = EscalationPaths(chains: ["on_call_engineer": [
        "P1": [.role("team_lead"), .role("engineering_manager"), .role("cto")], "P2": [.role("team_lead")],
        "P3": [.role("team_lead")], "P4": [.backlog]]])
    p.roster = Roster(people: [Person(id: "alice", name: "Alice", contacts: ["email": "a@example.org"])],
                      rotations: [Rotation(id: "primary", role: "on_call_engineer", members: ["alice"], start: start - .seconds(86_400),
                                           period: .seconds(7 * 86_400))])
    return p
}

func signal(_ fingerprint: String, at t: Timestamp) -> RuleSignal {
    RuleSignal(transition: .firing, ruleID: "cpu_usage_high", expression: "cpu_usage > 90% for 5 minutes",
               section: "system_health", labels: ["host": fingerprint], fingerprint: fingerprint, value: 97, unit: "%",
               firstHeldAt: t, at: t)
}

func freshService(_ clock: ManualClock) throws -> (IncidentService, Store) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let store = try Store(path: dir + "/vigil.db")
    return (IncidentService(store: store, policy: policy(), clock: clock, logger: logger), store)
}

func best(_ runs: Int = 3, _ body: () async throws -> Void) async throws -> Double {
    var fastest = Double.infinity
    for _ in 0..<runs {
        let t0 = ContinuousClock.now
        try await body()
        let d = ContinuousClock.now - t0
        fastest = min(fastest, Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
    }
    return fastest
}

let storm = Array(repeating: signal("web-1", at: start), count: 10_000)
var transactions = 0
var occurrences = 0
let stormMs = try await best {
    let clock = ManualClock(start)
    let (service, store) = try freshService(clock)
    let before = store.committedWrites
    await service.ingest(storm)
    transactions = store.committedWrites - before
    occurrences = try await store.incidents().first?.occurrences ?? -1
}
print("storm_10000_ms \(stormMs)")
print("storm_transactions \(transactions)")
print("storm_occurrences \(occurrences)")

let spread = (0..<10_000).map { signal("host-\($0 % 100)", at: start + .seconds($0)) }
let spreadMs = try await best {
    let (service, _) = try freshService(ManualClock(start))
    await service.ingest(spread)
}
print("spread_10000_over_100_ms \(spreadMs)")

var concurrentTransactions = 0
let concurrentMs = try await best {
    let (service, store) = try freshService(ManualClock(start))
    let before = store.committedWrites
    await withTaskGroup(of: Void.self) { group in
        for i in 0..<1_000 { group.addTask { await service.ingest([signal("web-1", at: start + .seconds(i))]) } }
    }
    concurrentTransactions = store.committedWrites - before
}
print("concurrent_1000_single_ms \(concurrentMs)")
print("concurrent_transactions \(concurrentTransactions)")

var tickMs = 0.0
do {
    let clock = ManualClock(start)
    let (service, _) = try freshService(clock)
    await service.ingest((0..<1_000).map { signal("host-\($0)", at: start) })
    clock.advance(by: .seconds(60))
    tickMs = try await best { await service.tick() }
}
print("tick_1000_open_none_due_ms \(tickMs)")
