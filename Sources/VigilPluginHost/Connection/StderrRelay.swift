import Logging
import NIOCore
import VigilCore

/// Copies a plugin's stderr into the daemon's log, a line at a time, rate-limited so a plugin
/// printing in a loop cannot flood the daemon's log (``LineRateLimit``: what is dropped is
/// counted and reported rolled up).
///
/// A sustained flood — more than ``LogFlood/lines`` lines dropped by the rate limit, or
/// ``LogFlood/stderrBytes`` bytes, within a minute — stops reading (the plugin's writes then block on
/// the full pipe) and is reported (`flooded`): the host ends the run as a log flood. Past the
/// rate limit the lines cost the log nothing, but reading them cost the daemon a core.
final class StderrRelay: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    static let maximumLineBytes = 4096

    private let plugin: String
    private let logger: Logger
    private let clock: any VigilClock
    private let flooded: @Sendable (ConnectionReport) -> Void
    private var partial: [UInt8] = []
    private var limit: LineRateLimit
    private var flood: LogFlood
    private var stopped = false

    init(plugin: String, logger: Logger, clock: any VigilClock,
         flooded: @escaping @Sendable (ConnectionReport) -> Void = { _ in }) {
        self.plugin = plugin
        self.logger = logger
        self.clock = clock
        self.flooded = flooded
        limit = LineRateLimit(now: clock.now())
        flood = LogFlood(start: clock.now())
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !stopped else { return }
        let buffer = unwrapInboundIn(data)
        let now = clock.now()
        if now - flood.start >= LogFlood.window { flood = LogFlood(start: now) }
        flood.bytes += buffer.readableBytes
        buffer.withUnsafeReadableBytes { bytes in
            var rest = bytes[...]
            while !rest.isEmpty {
                // memchr-speed search; a line past the maximum keeps only its first bytes.
                let end = rest.firstIndex(of: 0x0A)
                let piece = rest[..<(end ?? rest.endIndex)]
                let room = Self.maximumLineBytes - partial.count
                if room > 0 { partial.append(contentsOf: piece.prefix(room)) }
                guard let end else { break }
                emit(now: now)
                rest = rest[(end + 1)...]
            }
        }
        if flood.lines > LogFlood.lines || flood.bytes > LogFlood.stderrBytes {
            stopped = true
            let what = "\(flood.bytes) bytes on stderr, \(flood.lines) lines over the rate limit, within a minute"
            partial.removeAll()
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            flooded(.stderrFlood(what))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !partial.isEmpty { emit(now: clock.now()) }
        if let dropped = limit.unreported() {
            logger.warning("plugin stderr lines dropped by the rate limit", metadata: ["plugin": "\(plugin)", "dropped": "\(dropped)"])
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func emit(now: Timestamp) {
        defer { partial.removeAll(keepingCapacity: true) }
        let (write, dropped) = limit.admit(now: now)
        if let dropped {
            logger.warning("plugin stderr lines dropped by the rate limit", metadata: ["plugin": "\(plugin)", "dropped": "\(dropped)"])
        }
        guard write else {
            flood.lines += 1
            return
        }
        let line = String(decoding: partial, as: UTF8.self)
        logger.info("\(LogText.sanitized(line))", metadata: ["plugin": "\(plugin)", "stream": "stderr"])
    }
}
