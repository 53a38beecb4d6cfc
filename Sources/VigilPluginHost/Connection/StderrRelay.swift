import Logging
import NIOCore
import VigilCore

/// Copies a plugin's stderr into the daemon's log, a line at a time, rate-limited so a plugin
/// printing in a loop cannot flood the daemon's log: a token bucket of ``burst`` lines refilled
/// at ``linesPerSecond``; what is dropped is counted and reported when lines flow again.
final class StderrRelay: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    static let linesPerSecond = 20.0
    static let burst = 100.0
    static let maximumLineBytes = 4096

    private let plugin: String
    private let logger: Logger
    private let clock: any VigilClock
    private var partial: [UInt8] = []
    private var tokens = StderrRelay.burst
    private var refilledAt: Timestamp
    private var dropped = 0

    init(plugin: String, logger: Logger, clock: any VigilClock) {
        self.plugin = plugin
        self.logger = logger
        self.clock = clock
        refilledAt = clock.now()
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
        if dropped > 0 { logger.warning("plugin stderr lines dropped by the rate limit", metadata: ["plugin": "\(plugin)", "dropped": "\(dropped)"]) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func emit() {
        let line = String(decoding: partial, as: UTF8.self)
        partial.removeAll(keepingCapacity: true)
        let now = clock.now()
        tokens = min(Self.burst, tokens + (now - refilledAt).inSeconds * Self.linesPerSecond)
        refilledAt = now
        guard tokens >= 1 else {
            dropped += 1
            return
        }
        tokens -= 1
        if dropped > 0 {
            logger.warning("plugin stderr lines dropped by the rate limit", metadata: ["plugin": "\(plugin)", "dropped": "\(dropped)"])
            dropped = 0
        }
        logger.info("\(LogText.sanitized(line))", metadata: ["plugin": "\(plugin)", "stream": "stderr"])
    }
}
