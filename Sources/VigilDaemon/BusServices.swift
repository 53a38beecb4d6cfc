import Foundation
import Logging
import ServiceLifecycle
import VigilBus
import VigilConfig
import VigilCore

extension EventBusConfiguration {
    /// The bus configuration described by the `bus:` section of the daemon's configuration.
    init(_ settings: BusSettings) {
        var capacity: [Lane: Int] = [:]
        for lane in Lane.allCases { capacity[lane] = settings.capacity[lane.description] ?? 4096 }
        self.init(capacity: capacity, highWatermark: settings.highWatermark, lowWatermark: settings.lowWatermark,
                  selfMonitoringInterval: settings.selfMonitoringInterval)
    }
}

/// Turns ingested events (strings) into bus events (interned) and publishes them.
struct BusIngest: Sendable {
    let bus: EventBus
    let symbols: SymbolTable

    func event(_ e: IngestEvent, now: Timestamp) -> Event {
        Event(kind: e.kind, lane: e.lane ?? e.defaultLane, name: symbols.intern(e.name), value: e.value,
              unit: symbols.intern(e.unit), source: symbols.intern(e.source), labels: symbols.intern(labels: e.labels),
              time: e.time ?? now)
    }

    /// Publishes `count` copies. Never-drop lanes wait under backpressure; telemetry sheds.
    func publish(_ e: IngestEvent, count: Int, now: Timestamp) async -> String {
        let ev = event(e, now: now)
        if ev.lane == .telemetry {
            var shed = 0
            var paused = false
            for _ in 0..<count {
                let o = bus.offer(ev)
                shed += o.shed
                paused = o.shouldPause
            }
            return "accepted" + (shed > 0 ? ", \(shed) older telemetry event(s) shed" : "")
                + (paused ? " (lane above its high watermark)" : "")
        }
        await bus.publish([Event](repeating: ev, count: count))
        return "accepted"
    }
}

extension StatusView.LaneView {
    init(_ s: LaneStatistics) {
        self.init(lane: s.lane.description, depth: s.depth, capacity: s.capacity, published: s.published, shed: s.shed,
                  stalls: s.stalls)
    }
}

/// The bus's single consumer: drains every lane in priority order and hands each batch to
/// `process`; parks when the bus is empty.
struct BusConsumerService: Service {
    let bus: EventBus
    let logger: Logger
    let process: @Sendable ([Event]) async -> Void

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            await withTaskCancellationHandler {
                var batch: [Event] = []
                batch.reserveCapacity(4096)
                while !Task.isCancelled {
                    batch.removeAll(keepingCapacity: true)
                    if bus.drainAll(into: &batch, max: 4096) == 0 {
                        await bus.waitForEvents()
                        continue
                    }
                    await process(batch)
                }
            } onCancel: {
                bus.interruptConsumer()
            }
        }
    }
}

/// Publishes the bus's own depth, sheds and stalls at the configured interval.
struct BusSelfMonitorService: Service {
    let bus: EventBus
    let symbols: SymbolTable
    let clock: any VigilClock

    func run() async throws {
        let (bus, symbols, clock) = (self.bus, self.symbols, self.clock)
        try await cancelWhenGracefulShutdown {
            var monitor = BusSelfMonitor(bus: bus, symbols: symbols)
            let tick = min(monitor.interval, .seconds(1))
            while !Task.isCancelled {
                let events = monitor.events(now: clock.now())
                if !events.isEmpty {
                    events.withUnsafeBufferPointer { _ = bus.offer($0, lane: .telemetry) }
                }
                // Cancellation at shutdown ends the sleep; that is the normal way out.
                try? await Task.sleep(for: tick)
            }
        }
    }
}
