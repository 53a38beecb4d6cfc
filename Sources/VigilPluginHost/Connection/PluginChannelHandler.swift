import NIOCore
import VigilBus
import VigilCore
import VigilPluginProtocol

/// The one rule a `hello` is held to: this daemon's protocol version, and the plugin's own name.
enum HelloCheck {
    /// Why `hello` is refused for the plugin named `plugin`, or nil when it is accepted.
    static func refusal(of hello: Hello, plugin: String) -> String? {
        if hello.protocolVersion != WireProtocol.version {
            return "protocol \(hello.protocolVersion) is not supported; this daemon speaks protocol \(WireProtocol.version)"
        }
        if hello.plugin != plugin {
            return "hello names plugin \"\(LogText.sanitized(String(hello.plugin.prefix(80))))\" but this plugin is \"\(plugin)\""
        }
        return nil
    }
}

/// What a plugin connection tells the host, in the order it happened.
public enum ConnectionReport: Sendable, Equatable {
    case hello(Hello)
    case pong(seq: Int64)
    case result(PluginResult)
    case log(LogLine)
    /// Events were refused (`total` so far in this run); reported for the first of each kind only.
    case refused(reason: String, total: Int)
    /// Reading stopped (true) or resumed (false) because a bus lane was above its high watermark.
    case backpressure(paused: Bool)
    /// A frame broke the protocol; the connection is closed.
    case violation(ProtocolError)
    /// The plugin's end is closed; `unread`: bytes of a frame it never finished.
    case closed(unread: Int)
    /// The plugin's stderr went past ``LogFlood`` (what, in a sentence); its reading has stopped.
    case stderrFlood(String)
}

/// The daemon's end of one plugin's socket: splits frames, enforces the protocol, puts events on
/// the bus, and reports everything else to the host.
///
/// Backpressure: when a lane the plugin feeds is above its high watermark (or a never-drop lane
/// refuses events), the handler turns `autoRead` off, so the daemon stops reading the socket; the
/// kernel's socket buffer fills and the plugin's own `write` blocks. Reading resumes when the
/// lane has drained to its low watermark. Events a never-drop lane refused are kept and
/// offered again first: nothing on the security and incident lanes is lost.
final class PluginChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let kind: PluginKind
    /// The manifest's name: the only one a `hello` may give.
    private let pluginName: String
    private let account: PluginAccount
    private let limits: ConnectionLimits
    /// This connection's own rings on the bus: a flooding plugin fills, pauses and sheds only these.
    private let bus: BusProducer
    private let source: Symbol
    private let clock: any VigilClock
    private let report: @Sendable (ConnectionReport) -> Void
    private var decoder: FrameDecoder
    private var interner: EventInterner
    private var records: [EventRecord] = []
    private var lanes: [[Event]] = [[], [], []]
    /// Events a never-drop lane refused, in order, offered again before anything else.
    private var held: [(lane: Lane, events: [Event])] = []
    private var helloSeen = false
    /// Nothing more from this connection is acted on: it broke the protocol, or its `hello` was
    /// refused (the rest of the read buffer and every later read are dropped).
    private var stopped = false
    private var paused = false
    /// Reading is held back because control frames came faster than ``ConnectionLimits``.
    private var throttled = false
    private var controlFrames: TokenBucket
    private var refusedInRun = 0
    private var refusalKindsReported: Set<String> = []

    init(manifest: PluginManifest, bus: EventBus, symbols: SymbolTable, clock: any VigilClock,
         maximumFrameBytes: Int, account: PluginAccount, limits: ConnectionLimits = ConnectionLimits(),
         report: @escaping @Sendable (ConnectionReport) -> Void) {
        kind = manifest.kind
        pluginName = manifest.name
        self.account = account
        self.limits = limits
        self.bus = bus.makeProducer()
        // The daemon names the sender; nothing in a frame can change it.
        source = symbols.intern("plugin:\(manifest.name)")
        self.clock = clock
        self.report = report
        decoder = FrameDecoder(maximumFrameBytes: maximumFrameBytes)
        interner = EventInterner(symbols: symbols, manifest: manifest, budget: account.internBudget,
                                 limits: .init(maximumLabels: limits.maximumLabels,
                                               maximumLabelValueBytes: limits.maximumLabelValueBytes))
        controlFrames = TokenBucket(perSecond: limits.controlFramesPerSecond, burst: limits.controlFrameBurst, now: clock.now())
        for i in 0..<3 { lanes[i].reserveCapacity(1024) }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // Bounds what the daemon queues for a plugin that does not read (pongs are withheld
        // rather than queued once the buffer is past the high mark).
        context.channel.setOption(ChannelOptions.writeBufferWaterMark,
                                  value: .init(low: 32 << 10, high: 64 << 10)).whenComplete { _ in }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !stopped else { return }
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { decoder.append($0) }
        drainFrames(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        bus.close()
        report(.closed(unread: stopped ? 0 : decoder.bufferedByteCount))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: frames

    private func drainFrames(context: ChannelHandlerContext) {
        while !paused, !throttled, !stopped {
            do {
                let handled = try decoder.withNextFrame { (payload, number) throws(ProtocolError) -> Bool in
                    try handleFrame(payload, number: number, context: context)
                    return true
                }
                if handled == nil { return }
            } catch {
                stopped = true
                report(.violation(error))
                context.close(promise: nil)
                return
            }
        }
    }

    private func handleFrame(_ payload: UnsafeRawBufferPointer, number: Int,
                             context: ChannelHandlerContext) throws(ProtocolError) {
        records.removeAll(keepingCapacity: true)
        let scanned = try PluginMessage.scan(payload, frame: number, records: &records)
        if !helloSeen, scanned.type != "hello" {
            throw .unexpectedMessage(frame: number, type: scanned.type, expected: "hello")
        }
        if scanned.type == "events" {
            guard kind == .detector else {
                throw .unexpectedMessage(frame: number, type: "events", expected: "result, log, ping or pong (only detectors send events)")
            }
            guard scanned.hasEvents else {
                throw .invalidMessage(frame: number, type: "events", field: "events", problem: "is missing or not an array")
            }
            try publish(payload, frame: number, context: context)
            return
        }
        let message = try PluginMessage.from(scanned, frame: number, payload: payload, records: [])
        // A `result` spends no token: each must answer a request the daemon sent to this plugin
        // (anything else ends the run), so they are bounded by the daemon's own requests — and
        // counted, they capped a notifier at 200 pages a second.
        switch message {
        case .hello, .result: break
        default: spendControlToken(context: context)
        }
        switch message {
        case .hello(let hello):
            guard !helloSeen else { throw .unexpectedMessage(frame: number, type: "hello", expected: "no second hello") }
            helloSeen = true
            if let reason = HelloCheck.refusal(of: hello, plugin: pluginName) {
                // Refused here, before the next frame of the same read: nothing the plugin sent
                // after it (events, logs, results) is acted on. `reject` goes out, then the
                // connection closes; the host records the refusal from the report.
                stopped = true
                report(.hello(hello))
                let frame = PluginMessage.reject(reason: reason).encodedFrame()
                var buffer = context.channel.allocator.buffer(capacity: frame.count)
                buffer.writeBytes(frame)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
                return
            }
            // The host answers `welcome` (it checks the hello again: one rule, ``HelloCheck``).
            report(.hello(hello))
        case .pong(let seq): report(.pong(seq: seq))
        case .ping(let seq):
            // Only to a plugin that reads: a pong for one that never does would sit in memory.
            if context.channel.isWritable {
                write(PluginMessage.pong(seq: seq), context: context)
            } else {
                account.countWithheldPong()
            }
        case .result(let result):
            guard kind != .detector else {
                throw .unexpectedMessage(frame: number, type: "result", expected: "events, log, ping or pong (detectors get no requests)")
            }
            report(.result(result))
        case .log(let line): report(.log(line))
        case .welcome, .reject, .notify, .act, .shutdown, .events:
            throw .unexpectedMessage(frame: number, type: message.typeName, expected: "a message a plugin sends")
        }
    }

    private func write(_ message: PluginMessage, context: ChannelHandlerContext) {
        let frame = message.encodedFrame()
        var buffer = context.channel.allocator.buffer(capacity: frame.count)
        buffer.writeBytes(frame)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    // MARK: events

    private func publish(_ payload: UnsafeRawBufferPointer, frame: Int, context: ChannelHandlerContext) throws(ProtocolError) {
        let now = clock.now()
        // A plugin's clock may run ahead or far behind: an event is never dated in the future,
        // nor more than a day back (no rule looks that far, and far-off times would only make
        // the rules' time arithmetic wrap).
        let latest = now
        let earliest = now - .seconds(86_400)
        var refusedHere = 0
        for (index, record) in records.enumerated() {
            let name: EventInterner.NameEntry
            let labels: LabelSetID
            let unit: Symbol
            let kind: EventKind = record.value == nil ? .signal : .metric
            do throws(EventInterner.Violation) {
                name = try interner.name(record.name, in: payload)
            } catch {
                throw .invalidMessage(frame: frame, type: "events", field: "events[\(index)]", problem: error.problem)
            }
            let value = record.value ?? 1
            guard value.isFinite else {
                throw .invalidMessage(frame: frame, type: "events", field: "events[\(index)].value", problem: "must be finite")
            }
            if let refusal = name.refusal {
                try refuse(refusal, frame: frame, index: index, context: context)
                refusedHere += 1
                continue
            }
            guard let lane = name.lane(kind) else {
                try refuse(.undeclared("\(kind == .signal ? "signal" : "metric") " + interner.symbols.name(name.symbol)),
                           frame: frame, index: index, context: context)
                refusedHere += 1
                continue
            }
            do throws(EventInterner.LabelFailure) {
                labels = try interner.labels(record.labels, in: payload)
            } catch {
                switch error {
                case .violation(let v):
                    throw .invalidMessage(frame: frame, type: "events", field: "events[\(index)].labels", problem: v.problem)
                case .refused(let refusal):
                    try refuse(refusal, frame: frame, index: index, context: context)
                    refusedHere += 1
                    continue
                }
            }
            do throws(EventInterner.Refusal) {
                unit = try interner.unit(record.unit, in: payload)
            } catch {
                try refuse(error, frame: frame, index: index, context: context)
                refusedHere += 1
                continue
            }
            let time = record.time.map { max(min($0, latest), earliest) } ?? now
            lanes[Int(lane.rawValue)].append(Event(kind: kind, lane: lane, name: name.symbol, value: value,
                                                   unit: unit, source: source, labels: labels, time: time))
        }
        account.countReceived(records.count - refusedHere)
        var pauseFor: Lane?
        for lane in Lane.allCases {
            let i = Int(lane.rawValue)
            guard !lanes[i].isEmpty else { continue }
            if !held.isEmpty, lane != .telemetry {
                held.append((lane, lanes[i]))  // keep order behind what is already waiting
            } else {
                let outcome = lanes[i].withUnsafeBufferPointer { bus.offer($0, lane: lane) }
                if outcome.rejected > 0 {
                    held.append((lane, Array(lanes[i].suffix(outcome.rejected))))
                    pauseFor = lane
                } else if outcome.shouldPause, pauseFor == nil {
                    pauseFor = lane
                }
            }
            lanes[i].removeAll(keepingCapacity: true)
        }
        if let lane = pauseFor ?? held.first?.lane { pause(on: lane, context: context) }
    }

    /// Drops one event: counted, the plugin warned on the first of each kind (a `log` frame back
    /// to it, and a report to the host), the run ended once it keeps on past the tolerance — or at
    /// once for an impersonation (the whole frame is then dropped).
    private func refuse(_ refusal: EventInterner.Refusal, frame: Int, index: Int,
                        context: ChannelHandlerContext) throws(ProtocolError) {
        refusedInRun += 1
        account.countRefused(1)
        if refusal.isImpersonation {
            throw .invalidMessage(frame: frame, type: "events", field: "events[\(index)]",
                                  problem: "\(refusal): a plugin that speaks as the daemon or for another plugin is stopped")
        }
        if refusedInRun > limits.refusedEventsTolerated {
            throw .invalidMessage(frame: frame, type: "events", field: "events[\(index)]",
                                  problem: "more than \(limits.refusedEventsTolerated) refused events after the warning; last: \(refusal)")
        }
        guard refusalKindsReported.insert(refusal.category).inserted else { return }
        let warning = "vigild refused events[\(index)] of frame \(frame): \(refusal); such events are dropped, "
            + "and after \(limits.refusedEventsTolerated) refused events the plugin is stopped"
        if context.channel.isWritable { write(.log(LogLine(level: "warning", message: warning)), context: context) }
        report(.refused(reason: "\(refusal)", total: refusedInRun))
    }

    /// Takes one control-frame token; with none left, reading pauses until one has been refilled.
    private func spendControlToken(context: ChannelHandlerContext) {
        let left = controlFrames.spend(now: clock.now())
        guard left < 0, !throttled else { return }
        throttled = true
        account.countThrottled()
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        let wait = max(0.001, -left / max(limits.controlFramesPerSecond, 1))
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .nanoseconds(Int64(min(wait, 1) * 1e9))) {
            bound.value.handler.endThrottle(context: bound.value.context)
        }
    }

    private func endThrottle(context: ChannelHandlerContext) {
        guard throttled else { return }
        throttled = false
        guard !stopped else { return }
        drainFrames(context: context)
        if !paused, !throttled, !stopped {
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            context.read()
        }
    }

    private func pause(on lane: Lane, context: ChannelHandlerContext) {
        if !paused {
            paused = true
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            report(.backpressure(paused: true))
        }
        resumeWhenDrained(lane, context: context)
    }

    /// Registers for the lane's low watermark; the resumption runs on this channel's event loop.
    private func resumeWhenDrained(_ lane: Lane, context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        bus.whenBelowLowWatermark(lane) {
            loop.execute { bound.value.handler.resume(context: bound.value.context) }
        }
    }

    private func resume(context: ChannelHandlerContext) {
        guard paused, !stopped else { return }
        while let first = held.first {
            let outcome = first.events.withUnsafeBufferPointer { bus.offer($0, lane: first.lane) }
            if outcome.rejected > 0 {
                held[0].events = Array(first.events.suffix(outcome.rejected))
                resumeWhenDrained(first.lane, context: context)
                return
            }
            held.removeFirst()
        }
        paused = false
        report(.backpressure(paused: false))
        drainFrames(context: context)
        if !paused, !throttled, !stopped {
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            context.read()
        }
    }
}
