import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VigilCore
import VigilHTTP

/// Slow clients (slowloris): a request must be read whole within its deadline, or its
/// connection is closed; the server keeps serving others.
@Suite struct SlowClientTests {
    /// Connects to 127.0.0.1:`port`, writes `text`, then reads until the server closes the
    /// connection (nil after `give` seconds without that). On a thread of its own: it blocks.
    static func closedAfterWriting(_ text: String, port: Int, give: Int) async -> Duration? {
        await withCheckedContinuation { continuation in
            Thread {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                defer { close(fd) }
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = in_port_t(UInt16(port).bigEndian)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard connected == 0 else { return continuation.resume(returning: nil) }
                var timeout = timeval(tv_sec: give, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                let start = ContinuousClock.now
                _ = text.withCString { write(fd, $0, strlen($0)) }
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let n = read(fd, &buffer, buffer.count)
                    if n == 0 || (n < 0 && errno == ECONNRESET) { return continuation.resume(returning: ContinuousClock.now - start) }
                    if n < 0 { return continuation.resume(returning: nil) }  // timed out: still open
                }
            }.start()
        }
    }

    @Test(.timeLimit(.minutes(1))) func aTricklingBodyIsCutOffAtTheReadDeadlineAndOthersAreServed() async throws {
        let services = HTTPServices(clock: ManualClock(), version: "t")
        let server = HTTPServer(settings: HTTPServerSettings(host: "127.0.0.1", port: 0, maxBodyBytes: 1 << 16,
                                                             requestReadTimeout: .milliseconds(400)),
                                services: services, controllers: [EchoController()], logger: Logger(label: "test"))
        try await server.application().test(.live) { client in
            let port = try #require(client.port)
            // A head promising 100 bytes of body, then 10 of them, then nothing more.
            let head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"
            let closed = await Self.closedAfterWriting(head, port: port, give: 20)
            let after = try #require(closed, "the trickling connection was still open after 20 s")
            #expect(after >= .milliseconds(350))
            // A request read whole in time is answered as before.
            try await client.execute(uri: "/echo", method: .post, body: ByteBuffer(string: "in time")) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body) == "in time")
            }
        }
    }

    @Test func theDeadlinesHaveDocumentedDefaults() {
        let settings = HTTPServerSettings()
        #expect(settings.requestReadTimeout == .seconds(30))
        #expect(settings.idleTimeout == .seconds(60))
    }
}
