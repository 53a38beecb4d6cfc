import ServiceLifecycle
import VigilCore

/// Decides when the incident clocks are advanced next; `false` ends the service.
public protocol IncidentTickPacer: Sendable {
    func next() async -> Bool
}

/// Ticks at a fixed interval of real time (the daemon's pacer). The clocks themselves read the
/// injected ``VigilClock``; this only says how often to look.
public struct IntervalTickPacer: IncidentTickPacer {
    public var interval: Duration
    public init(interval: Duration = .seconds(1)) { self.interval = interval }
    public func next() async -> Bool { (try? await Task.sleep(for: interval)) != nil }
}

/// Advances SLA clocks, escalations and status-update reminders of every open incident
/// (``IncidentService/tick()``) each time the pacer says so, until graceful shutdown.
public struct IncidentClockService: Service {
    let incidents: IncidentService
    let pacer: any IncidentTickPacer

    public init(incidents: IncidentService, pacer: any IncidentTickPacer = IntervalTickPacer()) {
        self.incidents = incidents
        self.pacer = pacer
    }

    public func run() async throws {
        let (incidents, pacer) = (self.incidents, self.pacer)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await incidents.tick()
                guard await pacer.next() else { return }
            }
        }
    }
}
