import Foundation
import VigilTestSupport
import Logging
import ServiceLifecycle
import Testing
import VigilConfig
import VigilCore
import VigilDaemon
import VigilIncidents
import VigilStore

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// Monday 2026-03-02 10:00 UTC (the shipped roster's primary on-call is dave that week).
let monday = Timestamp(nanoseconds: 1_772_445_600_000_000_000)

func minutes(_ m: Int) -> Duration { .seconds(m * 60) }

func temporaryDatabasePath() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-inc-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir + "/vigil.db"
}

func shippedPolicy(ladder: String = "p1-p4") throws -> IncidentPolicy {
    let path = repositoryRoot + "/Config/vigil.yaml"
    let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "active: p1-p4", with: "active: \(ladder)")
    return try ConfigLoader.load(text: text, file: path).policy
}

func cpuSignal(at time: Timestamp, value: Double = 97) -> RuleSignal {
    RuleSignal(transition: .firing, ruleID: "cpu_usage_high", expression: "cpu_usage > 90% for 5 minutes",
               section: "system_health", labels: ["host": "web-1"], fingerprint: "cpu_usage_high{host=web-1}",
               value: value, unit: "%", firstHeldAt: time - minutes(5), at: time)
}

/// The incident service over a real SQLite file, driven by a manual clock.
@Suite struct IncidentServiceTests {
    struct Run {
        var escalations: [String]
        var timeline: [TimelineEntry]
        var incident: Incident
        var notifications: Int
    }

    /// Declares a P0 at `monday` and ticks once a minute for 60 minutes; optionally restarts
    /// (new store, new service over the same file) or acknowledges at a given minute.
    func simulateP0(restartAt: Int? = nil, ackAt: Int? = nil) async throws -> Run {
        let path = try temporaryDatabasePath()
        let clock = ManualClock(monday)
        let policy = try shippedPolicy(ladder: "p0-p3")
        var store = try Store(path: path)
        var service = IncidentService(store: store, policy: policy, clock: clock, logger: quietLogger)
        let id = try await service.declare(ClassificationInput(title: "Everything is down", severity: "P0"), actor: "dave").id
        for minute in 1...60 {
            clock.set(monday + minutes(minute))
            if minute == restartAt {
                store = try Store(path: path)
                service = IncidentService(store: store, policy: policy, clock: clock, logger: quietLogger)
            }
            if minute == ackAt { _ = try await service.acknowledge(id, actor: "dave", note: nil) }
            await service.tick()
        }
        let timeline = try await store.timeline(incidentID: id)
        let escalations = timeline.filter { $0.kind == .escalated }.map {
            "\(Int(($0.time - monday).inSeconds / 60))m level \($0.data["level"] ?? "?") \($0.data["person"] ?? "-")"
        }
        return Run(escalations: escalations, timeline: timeline,
                   incident: try #require(try await store.incident(id: id)),
                   notifications: try await store.notifications(incidentID: id).count)
    }

    @Test func unacknowledgedP0EscalatesAtTheRightMinutes() async throws {
        let run = try await simulateP0()
        #expect(run.escalations == ["15m level 1 dave", "30m level 2 erin", "45m level 3 frank"])
        #expect(run.incident.slaBreachedAt == monday + minutes(15))
        #expect(run.incident.roles["team_lead"] == "dave")
        #expect(run.incident.roles["engineering_manager"] == "erin")
        #expect(run.incident.roles["cto"] == "frank")
        #expect(run.incident.roles["incident_commander"] == "frank")
    }

    @Test func acknowledgingStopsTheEscalation() async throws {
        let run = try await simulateP0(ackAt: 20)
        #expect(run.escalations == ["15m level 1 dave"])
        #expect(run.incident.acknowledgedAt == monday + minutes(20))
    }

    @Test(arguments: [7, 20, 31, 46])
    func aRestartInTheMiddleChangesNothing(restartAt: Int) async throws {
        let straight = try await simulateP0()
        let restarted = try await simulateP0(restartAt: restartAt)
        func shape(_ t: [TimelineEntry]) -> [String] { t.map { "\($0.sequence) \($0.time) \($0.actor) \($0.kind) \($0.message)" } }
        #expect(shape(restarted.timeline) == shape(straight.timeline))
        #expect(restarted.incident == straight.incident)
        #expect(restarted.notifications == straight.notifications)
    }

    @Test func stormOfTenThousandIdenticalSignalsIsOneIncidentInOneTransaction() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let service = IncidentService(store: store, policy: try shippedPolicy(), clock: ManualClock(monday), logger: quietLogger)
        let before = store.committedWrites
        await service.ingest(Array(repeating: cpuSignal(at: monday), count: 10_000))
        #expect(store.committedWrites - before == 1)
        let incidents = try await store.incidents()
        #expect(incidents.count == 1)
        let incident = try #require(incidents.first)
        #expect(incident.occurrences == 10_000)
        #expect(incident.source == "rule:cpu_usage_high")
        #expect(try await store.evidence(incidentID: incident.id).map(\.kind) == ["signal", "signals"])
        #expect(try await store.timeline(incidentID: incident.id).filter { $0.kind == .occurrence }.count == 1)
        // The next storm joins the same incident.
        await service.ingest(Array(repeating: cpuSignal(at: monday + minutes(1)), count: 5_000))
        #expect(try await store.incidents().map(\.occurrences) == [15_000])
    }

    @Test func concurrentSingleSignalsJoinOneIncident() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let service = IncidentService(store: store, policy: try shippedPolicy(), clock: ManualClock(monday), logger: quietLogger)
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<500 { group.addTask { await service.ingest([cpuSignal(at: monday + .seconds(i))]) } }
        }
        let incidents = try await store.incidents()
        #expect(incidents.count == 1)
        #expect(incidents.first?.occurrences == 500)
        #expect(incidents.first?.lastSeenAt == monday + .seconds(499))
    }

    @Test func declaredIncidentWithAKeyDedups() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let service = IncidentService(store: store, policy: try shippedPolicy(), clock: ManualClock(monday), logger: quietLogger)
        let a = try await service.declare(ClassificationInput(title: "Disk full on db-1", severity: "P2"), actor: "bob", key: "disk-db-1")
        let b = try await service.declare(ClassificationInput(title: "db-1 disk again", severity: "P2"), actor: "erin", key: "disk-db-1")
        #expect(a.id == b.id)
        #expect(b.occurrences == 2)
        let c = try await service.declare(ClassificationInput(title: "Other", severity: "P2"), actor: "erin")
        #expect(c.id == "INC-2026-0002")
    }

    @Test func refusalsLeaveTheDatabaseUntouched() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let service = IncidentService(store: store, policy: try shippedPolicy(), clock: ManualClock(monday), logger: quietLogger)
        let incident = try await service.declare(ClassificationInput(title: "x", severity: "P2"), actor: "bob")
        let rows = try store.rowCounts()
        await #expect(throws: IncidentServiceError.self) {
            try await service.transition(incident.id, to: .resolved, reason: "done", actor: "bob")
        }
        await #expect(throws: IncidentServiceError.self) {
            try await service.acknowledge("INC-2026-0099", actor: "bob", note: nil)
        }
        #expect(try store.rowCounts() == rows)
    }

    @Test func statusPageFileFollowsTheIncident() async throws {
        let path = try temporaryDatabasePath()
        let store = try Store(path: path)
        let clock = ManualClock(monday)
        let pagePath = (path as NSString).deletingLastPathComponent + "/status-page.json"
        let page = StatusPagePublisher(path: pagePath, store: store, clock: clock, logger: quietLogger)
        let service = IncidentService(store: store, policy: try shippedPolicy(), clock: clock, logger: quietLogger,
                                      statusPage: page)
        let incident = try await service.declare(ClassificationInput(title: "Checkout down", serviceImpact: .completeOutage),
                                                 actor: "bob")
        func read() throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: pagePath))) }
        #expect(try read()["overall"]?.stringValue == "major_outage")
        for state: IncidentState in [.containing, .contained] {
            _ = try await service.transition(incident.id, to: state, reason: "r", actor: "bob")
        }
        let entry = try read()["incidents"]?.arrayValue?.first
        #expect(entry?["status"]?.stringValue == "Contained")
        #expect(entry?["updates"]?.arrayValue?.count == 2)
    }

    /// An alert storm opening an incident per alert regenerated the page (every user-impacting
    /// incident with its timeline) once per intake batch: most of the daemon's CPU. Requests
    /// from intake within the spacing coalesce into one regeneration when it has passed.
    @Test(.timeLimit(.minutes(1))) func intakeRegeneratesTheStatusPageAtMostOncePerSpacing() async throws {
        let path = try temporaryDatabasePath()
        let store = try Store(path: path)
        let pagePath = (path as NSString).deletingLastPathComponent + "/status-page.json"
        let page = StatusPagePublisher(path: pagePath, store: store, clock: ManualClock(monday), logger: quietLogger,
                                       spacing: .milliseconds(300))
        let started = ContinuousClock.now
        for _ in 0..<50 { page.publishSoon() }
        while await page.regenerations < 2 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(ContinuousClock.now - started >= .milliseconds(300), "the second waited for the spacing")
        try await Task.sleep(for: .milliseconds(700))
        #expect(await page.regenerations == 2, "fifty requests, two regenerations")
        #expect(FileManager.default.fileExists(atPath: pagePath))
    }
}

/// The clock service over the incident service: paced by the test, stopped by graceful shutdown.
@Suite struct IncidentClockServiceTests {
    /// Advances the manual clock one minute per tick, for an hour.
    struct MinutePacer: IncidentTickPacer {
        let clock: ManualClock
        func next() async -> Bool {
            clock.advance(by: minutes(1))
            return clock.now() <= monday + minutes(60)
        }
    }

    @Test func serviceAdvancesTheClocks() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let clock = ManualClock(monday)
        let service = IncidentService(store: store, policy: try shippedPolicy(ladder: "p0-p3"), clock: clock, logger: quietLogger)
        let id = try await service.declare(ClassificationInput(title: "Down", severity: "Critical"), actor: "dave").id
        try await IncidentClockService(incidents: service, pacer: MinutePacer(clock: clock)).run()
        let levels = try await store.timeline(incidentID: id).filter { $0.kind == .escalated }
            .map { Int(($0.time - monday).inSeconds / 60) }
        #expect(levels == [15, 30, 45])
    }

    @Test func gracefulShutdownStopsIt() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let service = IncidentService(store: store, policy: try shippedPolicy(), clock: ManualClock(monday), logger: quietLogger)
        let clockService = IncidentClockService(incidents: service, pacer: IntervalTickPacer(interval: .seconds(3600)))
        let group = ServiceGroup(configuration: .init(services: [clockService], logger: quietLogger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}

/// The daemon opens one incident in a rolled-back transaction at start, so the first real burst
/// meets warm caches: it must leave nothing behind.
@Suite struct IncidentWarmUpTests {
    @Test func warmUpOpensAnIncidentAndRollsItAllBack() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let clock = ManualClock(monday)
        let service = IncidentService(store: store, policy: try shippedPolicy(), clock: clock, logger: quietLogger)
        let writes = store.committedWrites
        #expect(await service.warmUp())
        #expect(try await store.incidents().isEmpty)
        #expect(try await store.pendingNotifications().isEmpty)
        #expect(store.committedWrites == writes)
        // The id counter was rolled back too: the first real incident is number 1.
        await service.ingest([cpuSignal(at: monday)])
        let opened = try await store.incidents()
        #expect(opened.count == 1)
        #expect(opened.first?.id.hasSuffix("-0001") == true)
    }
}
