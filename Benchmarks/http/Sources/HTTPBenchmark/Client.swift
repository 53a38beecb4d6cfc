import NIOCore
import NIOHTTP1
import NIOPosix

/// One request on a keep-alive connection: the handler answers `status` with the response's code.
struct OutgoingRequest: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer?
    var status: EventLoopPromise<UInt>
}

/// Writes requests and matches responses to them in order (HTTP/1.1, one connection).
final class ClientHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = OutgoingRequest
    typealias OutboundOut = HTTPClientRequestPart

    private var waiting = CircularBuffer<EventLoopPromise<UInt>>()
    private var status: UInt = 0

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        waiting.append(request.status)
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        if let body = request.body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = head.status.code
        case .body: break
        case .end: if !waiting.isEmpty { waiting.removeFirst().succeed(status) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        failAll(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(BenchError("connection closed by the server"))
        context.fireChannelInactive()
    }

    private func failAll(_ error: Error) {
        while let p = waiting.popFirst() { p.fail(error) }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A keep-alive HTTP/1.1 client connection.
final class HTTPConnection: Sendable {
    let channel: Channel
    let host: String

    init(channel: Channel, host: String) {
        self.channel = channel
        self.host = host
    }

    static func connect(host: String, port: Int, group: EventLoopGroup) async throws -> HTTPConnection {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ClientHandler())
                }
            }
            .connect(host: host, port: port).get()
        return HTTPConnection(channel: channel, host: "\(host):\(port)")
    }

    /// Sends a request and returns the response's status code.
    func request(_ method: HTTPMethod, _ uri: String, json body: ByteBuffer? = nil) async throws -> UInt {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri)
        head.headers.add(name: "Host", value: host)
        if let body {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        }
        let status = channel.eventLoop.makePromise(of: UInt.self)
        channel.writeAndFlush(OutgoingRequest(head: head, body: body, status: status), promise: nil)
        return try await status.futureResult.get()
    }

    func close() async { try? await channel.close() }
}
