import HummingbirdCore
import NIOHTTPTypes
import Logging
import NIOCore

/// Closes a connection whose request has not been read whole (head to end of body) within
/// `limit` of its head: a client trickling a body a byte at a time (slowloris) cannot hold one of
/// the server's connections for longer than that. The head itself is bounded by the idle timeout
/// (Hummingbird counts a connection idle until a whole head has been parsed).
final class RequestReadDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    let limit: TimeAmount
    let logger: Logger
    private var pending: Scheduled<Void>?

    init(limit: TimeAmount, logger: Logger) {
        self.limit = limit
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            pending?.cancel()
            let channel = context.channel
            let (limit, logger) = (self.limit, self.logger)
            pending = context.eventLoop.scheduleTask(in: limit) {
                logger.warning("http request not read within its deadline; connection closed", metadata: [
                    "peer": "\(channel.remoteAddress.map { "\($0)" } ?? "?")", "deadline_ms": "\(limit.nanoseconds / 1_000_000)"])
                channel.close(promise: nil)
            }
        case .body:
            break
        case .end:
            pending?.cancel()
            pending = nil
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        pending?.cancel()
        pending = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        pending?.cancel()
        pending = nil
        context.fireChannelInactive()
    }
}
