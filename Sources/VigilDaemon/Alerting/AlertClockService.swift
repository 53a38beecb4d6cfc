import ServiceLifecycle

/// Ticks the alerts each time the pacer says so (``AlertService/tick()``): an alert whose lease
/// (`endsAt`) ran out without the sender renewing it resolves here, and with it, possibly, its
/// group's incident.
/// Time comes from the service's injected clock; the pacer only says how often to look.
public struct AlertClockService: Service {
    let alerts: AlertService
    let pacer: any IncidentTickPacer

    public init(alerts: AlertService, pacer: any IncidentTickPacer = IntervalTickPacer()) {
        self.alerts = alerts
        self.pacer = pacer
    }

    public func run() async throws {
        let (alerts, pacer) = (self.alerts, self.pacer)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await alerts.tick()
                guard await pacer.next() else { return }
            }
        }
    }
}
