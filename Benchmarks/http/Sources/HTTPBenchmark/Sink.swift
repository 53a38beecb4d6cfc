import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// What the webhook sink has seen: every alert id (`bid<N>x`, carried in a label) found in a
/// body, with when it first arrived, and who waits for one.
final class Receipts: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [Int: UInt64] = [:]
    private var lastArrival: UInt64 = 0
    private var requests = 0
    private var waiters: [Int: CheckedContinuation<UInt64, Never>] = [:]

    func record(_ body: ByteBuffer, at now: UInt64) {
        let ids = Self.ids(in: body)
        var resume: [(CheckedContinuation<UInt64, Never>, UInt64)] = []
        lock.lock()
        requests += 1
        for id in ids where seen[id] == nil {
            seen[id] = now
            lastArrival = now
            if let w = waiters.removeValue(forKey: id) { resume.append((w, now)) }
        }
        lock.unlock()
        for (w, t) in resume { w.resume(returning: t) }
    }

    /// Ids `bid<digits>x` in a body (the webhook bodies repeat them; each is counted once).
    static func ids(in body: ByteBuffer) -> Set<Int> {
        var out = Set<Int>()
        body.withUnsafeReadableBytes { bytes in
            var i = 0
            let n = bytes.count
            while i + 4 < n {
                if bytes[i] == 0x62, bytes[i + 1] == 0x69, bytes[i + 2] == 0x64 {  // "bid"
                    var j = i + 3
                    var value = 0
                    while j < n, bytes[j] >= 0x30, bytes[j] <= 0x39, j - i < 15 {
                        value = value * 10 + Int(bytes[j] - 0x30)
                        j += 1
                    }
                    if j > i + 3, j < n, bytes[j] == 0x78 { out.insert(value) }  // "x"
                    i = j
                } else {
                    i += 1
                }
            }
        }
        return out
    }

    func count(in range: Range<Int>) -> (count: Int, last: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        return (seen.keys.lazy.filter { range.contains($0) }.count, lastArrival)
    }

    var requestCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return requests
    }

    /// Waits for `id` (returns when it arrived, in uptime nanoseconds), or nil after `timeout`.
    func wait(for id: Int, timeout: Duration) async -> UInt64? {
        await withTaskGroup(of: UInt64?.self) { group in
            group.addTask {
                await withCheckedContinuation { c in
                    self.lock.lock()
                    if let t = self.seen[id] {
                        self.lock.unlock()
                        c.resume(returning: t)
                    } else {
                        self.waiters[id] = c
                        self.lock.unlock()
                    }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            if first == nil {
                // Timed out: release the waiter so the group can finish.
                let w = lock.withLock { waiters.removeValue(forKey: id) }
                w?.resume(returning: 0)
            }
            group.cancelAll()
            return first
        }
    }
}

/// Answers every request 200 and hands its body to ``Receipts``.
final class SinkHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let receipts: Receipts
    private var body: ByteBuffer?
    private var keepAlive = true

    init(receipts: Receipts) { self.receipts = receipts }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            body = context.channel.allocator.buffer(capacity: 1024)
            keepAlive = head.isKeepAlive
        case .body(var part):
            body?.writeBuffer(&part)
        case .end:
            if let body { receipts.record(body, at: DispatchTime.now().uptimeNanoseconds) }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: "0")
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            let keep = keepAlive
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keep { context.close(promise: nil) }
            }
        }
    }
}

enum Sink {
    static func start(port: Int, receipts: Receipts, group: EventLoopGroup) async throws -> Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(SinkHandler(receipts: receipts))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
    }
}
