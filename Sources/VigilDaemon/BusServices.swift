import VigilControl
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
        var producerCapacity: [Lane: Int] = [:]
        var watermarks: [Lane: Watermarks] = [:]
        for lane in Lane.allCases {
            capacity[lane] = settings.capacity[lane.description] ?? 4096
            producerCapacity[lane] = settings.producerCapacity[lane.description] ?? 4096
            if let w = settings.laneWatermarks[lane.description] { watermarks[lane] = Watermarks(high: w.high, low: w.low) }
        }
        self.init(capacity: capacity, producerCapacity: producerCapacity, maxProducersPerLane: settings.maxProducersPerLane,
                  highWatermark: settings.highWatermark, lowWatermark: settings.lowWatermark, laneWatermarks: watermarks,
                  selfMonitoringInterval: settings.selfMonitoringInterval)
    }
}

/// Turns ingested events (strings) into bus events (interned) and publishes them.
///
/// Requests from the control socket are handled concurrently, so they share each lane's
/// lock-free ring rather than a ``BusProducer`` (which takes one caller at a time), and publish in
/// batches: one claim per 512 events.
struct BusIngest: Sendable {
    let bus: EventBus
    let symbols: SymbolTable
    static let batchSize = 512

    func event(_ e: IngestEvent, now: Timestamp) -> Event {
        Event(kind: e.kind, lane: e.lane ?? e.defaultLane, name: symbols.intern(e.name), value: e.value,
              unit: symbols.intern(e.unit), source: symbols.intern(e.source), labels: symbols.intern(labels: e.labels),
              time: e.time ?? now)
    }

    /// Publishes `count` copies. Never-drop lanes wait under backpressure; telemetry sheds.
    func publish(_ e: IngestEvent, count: Int, now: Timestamp) async -> String {
        let ev = event(e, now: now)
        let batch = [Event](repeating: ev, count: min(max(count, 0), Self.batchSize))
        if ev.lane == .telemetry {
            var shed = 0
            var paused = false
            batch.withUnsafeBufferPointer { buffer in
                var left = count
                while left > 0 {
                    let n = min(left, buffer.count)
                    let o = bus.offer(UnsafeBufferPointer(rebasing: buffer[..<n]), lane: .telemetry)
                    shed += o.shed
                    paused = o.shouldPause
                    left -= n
                }
            }
            return "accepted" + (shed > 0 ? ", \(shed) older telemetry event(s) shed" : "")
                + (paused ? " (lane above its high watermark)" : "")
        }
        var left = count
        while left > 0 {
            let n = min(left, batch.count)
            await bus.publish(n == batch.count ? batch : Array(batch[..<n]))
            left -= n
        }
        return "accepted"
    }
}

extension StatusView.LaneView {
    init(_ s: LaneStatistics) {
        self.init(lane: s.lane.description, depth: s.depth, capacity: s.capacity, published: s.published,
                  consumed: s.consumed, shed: s.shed, stalls: s.stalls, paused: s.aboveHighWatermark,
                  producers: s.producers)
    }
}

/// A brake on the bus consumer for tests only: with `VIGILD_TEST_BUS_CONSUMER_EVENTS_PER_SECOND`
/// set, the consumer takes at most that many events per second, so a test can flood the bus
/// faster than it drains and watch depth, sheds, stalls and memory (see Docs/eventbus.md).
/// Never set in production; the daemon logs a warning when it is.
struct ConsumerThrottle: Sendable {
    static let environmentVariable = "VIGILD_TEST_BUS_CONSUMER_EVENTS_PER_SECOND"
    let eventsPerSecond: Int

    static func fromEnvironment() -> ConsumerThrottle? {
        guard let text = ProcessInfo.processInfo.environment[environmentVariable], let rate = Int(text), rate > 0 else {
            return nil
        }
        return ConsumerThrottle(eventsPerSecond: rate)
    }

    /// Events per drain, so that each pause is about 50 ms.
    var batchSize: Int { max(1, min(4096, eventsPerSecond / 20)) }
}

/// The bus's single consumer: drains every lane in priority order and hands each batch to
/// `process`; parks when the bus is empty.
struct BusConsumerService: Service {
    let bus: EventBus
    let logger: Logger
    let process: @Sendable ([Event]) async -> Void
    /// Test-only; see ``ConsumerThrottle``.
    let throttle = ConsumerThrottle.fromEnvironment()

    func run() async throws {
        if let throttle {
            logger.warning("bus consumer slowed down for a test", metadata: [
                "events_per_second": "\(throttle.eventsPerSecond)", "variable": "\(ConsumerThrottle.environmentVariable)",
            ])
        }
        let (bus, process, throttle) = (self.bus, self.process, self.throttle)
        try await cancelWhenGracefulShutdown {
            await withTaskCancellationHandler {
                let maxBatch = throttle?.batchSize ?? 4096
                var batch: [Event] = []
                batch.reserveCapacity(maxBatch)
                let clock = ContinuousClock()
                let start = clock.now
                var consumed = 0
                while !Task.isCancelled {
                    batch.removeAll(keepingCapacity: true)
                    if bus.drainAll(into: &batch, max: maxBatch) == 0 {
                        await bus.waitForEvents()
                        continue
                    }
                    await process(batch)
                    if let throttle {
                        consumed += batch.count
                        let due = start + .seconds(Double(consumed) / Double(throttle.eventsPerSecond))
                        try? await clock.sleep(until: due)
                    }
                }
            } onCancel: {
                bus.interruptConsumer()
            }
        }
    }
}

/// Publishes the bus's own depth, sheds and stalls at the configured interval, through a
/// ``BusProducer`` of its own.
struct BusSelfMonitorService: Service {
    let bus: EventBus
    let symbols: SymbolTable
    let clock: any VigilClock

    func run() async throws {
        let (bus, symbols, clock) = (self.bus, self.symbols, self.clock)
        try await cancelWhenGracefulShutdown {
            var monitor = BusSelfMonitor(bus: bus, symbols: symbols)
            // A ring of its own: a telemetry flood sheds the flooder's events, never these.
            let producer = bus.makeProducer()
            let tick = min(monitor.interval, .seconds(1))
            while !Task.isCancelled {
                let events = monitor.events(now: clock.now())
                if !events.isEmpty {
                    events.withUnsafeBufferPointer { _ = producer.offer($0) }
                }
                // Cancellation at shutdown ends the sleep; that is the normal way out.
                try? await Task.sleep(for: tick)
            }
        }
    }
}
