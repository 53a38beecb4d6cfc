import Logging
import NIOCore
import VigilCore

/// Copies a plugin's stderr into the daemon's log, a line at a time, rate-limited so a plugin
/// printing in a loop cannot flood the daemon's log (``LineRateLimit``: what is dropped is
/// counted and reported rolled up).
final class StderrRelay: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    static let maximumLineBytes = 4096

    private let plugin: String
    private let logger: Logger
    private let clock: any VigilClock
    private var partial: [UInt8] = []
    private var limit: LineRateLimit

    init(plugin: String, logger: Logger, clock: any VigilClock) {
        self.plugin = plugin
        self.logger = logger
        self.clock = clock
        limit = LineRateLimit(now: clock.now())
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { bytes in
            for byte in bytes {
                if byte == 0x0A {
                    emit()
                } else if partial.count < Self.maximumLineBytes {
                    partial.append(byte)
                }
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !partial.isEmpty { emit() }
        if let dropped = limit.unreported() {
            logger.warning("plugin stderr lines dropped by the rate limit", metadata: ["plugin": "\(plugin)", "dropped": "\(dropped)"])
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func emit() {
        let line = String(decoding: partial, as: UTF8.self)
        partial.removeAll(keepingCapacity: true)
        let (write, dropped) = limit.admit(now: clock.now())
        if let dropped {
            logger.warning("plugin stderr lines dropped by the rate limit", metadata: ["plugin": "\(plugin)", "dropped": "\(dropped)"])
        }
        guard write else { return }
        logger.info("\(LogText.sanitized(line))", metadata: ["plugin": "\(plugin)", "stream": "stderr"])
    }
}
