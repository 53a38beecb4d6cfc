import Dispatch
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

/// A keep-alive HTTP/1.1 client connection. A server may close a keep-alive connection that
/// sat idle (vigild after 60 s, between phases): the next request then opens a new one, as any
/// HTTP client does, instead of writing into a closed channel, where the request would be lost
/// and its answer awaited for ever.
final class HTTPConnection: @unchecked Sendable {
    let host: String
    let port: Int
    let group: EventLoopGroup
    /// One request at a time per connection (each phase drives a connection from one task).
    private var channel: Channel
    private var lastUsed: UInt64
    /// A connection idle this long is replaced before use: the server may be closing it right
    /// now, and a request written into that race is lost.
    static let idleReuse: UInt64 = 5_000_000_000

    private init(channel: Channel, host: String, port: Int, group: EventLoopGroup) {
        self.channel = channel
        self.host = host
        self.port = port
        self.group = group
        self.lastUsed = DispatchTime.now().uptimeNanoseconds
    }

    static func connect(host: String, port: Int, group: EventLoopGroup) async throws -> HTTPConnection {
        HTTPConnection(channel: try await open(host: host, port: port, group: group), host: host, port: port, group: group)
    }

    private static func open(host: String, port: Int, group: EventLoopGroup) async throws -> Channel {
        do {
            return try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(5))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(ClientHandler())
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw BenchError("cannot connect to \(host):\(port): \(error)")
        }
    }

    /// Sends a request and returns the response's status code; throws when the connection
    /// fails or no answer comes within `timeout` (the connection is then closed).
    func request(_ method: HTTPMethod, _ uri: String, json body: ByteBuffer? = nil,
                 timeout: TimeAmount = .seconds(30)) async throws -> UInt {
        let now = DispatchTime.now().uptimeNanoseconds
        if !channel.isActive || now - lastUsed > Self.idleReuse {
            try? await channel.close()
            channel = try await Self.open(host: host, port: port, group: group)
        }
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri)
        head.headers.add(name: "Host", value: "\(host):\(port)")
        if let body {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        }
        let channel = self.channel
        let status = channel.eventLoop.makePromise(of: UInt.self)
        // A write that fails (the channel closed under it) never reaches ClientHandler: fail the
        // request here. Completing a promise twice is a no-op in NIO, so the later of the two loses.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { status.fail(BenchError("request to \(self.host):\(self.port) not sent: \($0)")) }
        let description = "\(method) \(uri) to \(host):\(port)"
        let timer = channel.eventLoop.scheduleTask(in: timeout) {
            status.fail(BenchError("no answer to \(description) within \(timeout.nanoseconds / 1_000_000_000) s"))
            channel.close(promise: nil)
        }
        status.futureResult.whenComplete { _ in timer.cancel() }
        channel.writeAndFlush(OutgoingRequest(head: head, body: body, status: status), promise: written)
        defer { lastUsed = DispatchTime.now().uptimeNanoseconds }
        return try await status.futureResult.get()
    }

    func close() async { try? await channel.close() }
}
