import CVigilSys
import Dispatch
import Foundation
import Logging
import Synchronization
import VigilCore
import VigilPluginProtocol

/// The daemon's side of brokered egress for one run of a plugin with network `brokered`.
///
/// The plugin has no network of its own: its sandbox creates only Unix sockets and refuses
/// `connect`. For each TCP connection it sends, on its fd 5 (a `SOCK_SEQPACKET` socket whose other
/// end is this broker's), one datagram `{"host": H, "port": P, "timeout_ms": T}` carrying one end
/// of a fresh socket pair (`SCM_RIGHTS`). The broker answers on that end:
/// `{"ok": true, "address": "IP"}` with the connected socket, or `{"ok": false, "error": "..."}`.
///
/// Only the `host:port` destinations the manifest declares under `sandbox.egress` are connected.
/// A request for any other is refused and reported (``onRefused``): the host records it as an
/// isolation breach, as it does a forbidden syscall. Malformed requests are answered (when they
/// carry a reply socket) and dropped; nothing a plugin sends can block the broker's thread, grow
/// its memory, or run more than ``maximumInFlight`` connects at once.
final class EgressBroker: Sendable {
    /// What a refused request asked for.
    struct Refusal: Sendable, Equatable {
        var plugin: String
        var pid: Int32
        var destination: String
        var reason: String
    }

    let plugin: String
    let destinations: [EgressDestination]
    /// The broker's end, owned under the lock: closed (nil) by whichever of the serving thread's
    /// end and ``stop()`` comes last, so a `shutdown` never reaches a number reused since.
    private let socket: Mutex<Int32?>
    private let pid: Mutex<Int32> = Mutex(0)
    /// Malformed requests so far: a few are logged; past ``malformedTolerated`` the broker is abused.
    private let malformed = Atomic<Int>(0)
    static let malformedTolerated = 100
    /// POLLRDHUP (Linux; not exported by Glibc's module): the peer shut its writing side.
    static let pollReadHangUp: Int16 = 0x2000
    private let inFlight = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private let onRefused: @Sendable (Refusal) -> Void
    private let logger: Logger

    /// Connects (resolving names, trying each address) at most this many at once per plugin.
    static let maximumInFlight = 16
    /// A request datagram is at most this long (a host name is at most 253 bytes).
    static let maximumRequestBytes = 1024
    /// The longest connect a plugin may ask for, and the default.
    static let maximumTimeout: Duration = .seconds(30)
    static let defaultTimeout: Duration = .seconds(10)

    /// The socket pair: the broker's end (close-on-exec) and the plugin's (its fd 5 after the launcher).
    static func socketPair() throws(PluginLauncher.Failure) -> (broker: Int32, plugin: Int32) {
        var pair: [Int32] = [-1, -1]
        guard Glibc.socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw .system("socketpair for the egress broker: \(String(cString: strerror(errno)))")
        }
        return (pair[0], pair[1])
    }

    /// Takes ownership of `socket` (the broker's end of ``socketPair()``).
    init(plugin: String, destinations: [EgressDestination], socket: Int32, logger: Logger,
         onRefused: @escaping @Sendable (Refusal) -> Void) {
        self.plugin = plugin
        self.destinations = destinations
        self.socket = Mutex(socket)
        self.logger = logger
        self.onRefused = onRefused
    }

    /// Starts answering for the plugin whose pid is `pid`, on a thread of its own (it blocks in `recvmsg`).
    func start(pid: Int32) {
        self.pid.withLock { $0 = pid }
        let thread = Thread { [self] in serve() }
        thread.name = "vigil-egress-\(plugin)"
        thread.start()
    }

    /// Stops reading (the run ended): the thread wakes from `recvmsg`, closes the socket and ends.
    func stop() {
        stopped.store(true, ordering: .releasing)
        socket.withLock { fd in if let fd { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) } }
    }

    private func serve() {
        guard let socket = self.socket.withLock({ $0 }) else { return }
        var buffer = [UInt8](repeating: 0, count: Self.maximumRequestBytes)
        var fds = [Int32](repeating: -1, count: Int(VIGIL_MAX_PASSED_FDS))
        defer { self.socket.withLock { fd in if let fd { close(fd) }; fd = nil } }
        while !stopped.load(ordering: .acquiring) {
            var count: Int32 = 0
            let n = buffer.withUnsafeMutableBytes { b in
                fds.withUnsafeMutableBufferPointer { f in
                    vigil_recv_with_fds(socket, b.baseAddress, UInt(b.count), f.baseAddress, &count, nil)
                }
            }
            if n < 0 {
                // EMSGSIZE: a datagram longer than a request (its descriptors are already closed).
                if errno == EMSGSIZE { refuseMalformed("a request longer than \(Self.maximumRequestBytes) bytes"); continue }
                return
            }
            if n == 0, count == 0 {
                // End of file (every plugin end closed: the run is over), or an empty datagram.
                var p = pollfd(fd: socket, events: Int16(POLLIN) | Self.pollReadHangUp, revents: 0)
                if poll(&p, 1, 0) > 0, p.revents & (Int16(POLLHUP) | Self.pollReadHangUp) != 0 { return }
                refuseMalformed("an empty request")
                continue
            }
            let received = Array(fds[0..<Int(max(0, count))])
            guard received.count == 1, let reply = received.first else {
                received.forEach { close($0) }
                refuseMalformed("a request must carry exactly one reply socket, not \(received.count)")
                continue
            }
            guard Self.isUnixSocket(reply) else {
                close(reply)
                refuseMalformed("the reply descriptor is not a Unix socket")
                continue
            }
            // The reply end is the plugin's: never let a full buffer on it block a broker thread.
            _ = fcntl(reply, F_SETFL, fcntl(reply, F_GETFL) | O_NONBLOCK)
            let request = Array(buffer[0..<n])
            guard inFlight.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue <= Self.maximumInFlight else {
                inFlight.wrappingSubtract(1, ordering: .acquiringAndReleasing)
                answer(reply, error: "more than \(Self.maximumInFlight) connection requests at once")
                continue
            }
            DispatchQueue.global().async { [self] in
                defer { inFlight.wrappingSubtract(1, ordering: .acquiringAndReleasing) }
                handle(request, reply: reply)
            }
        }
    }

    /// Logs the first few malformed requests (and every 1000th); past ``malformedTolerated`` the
    /// plugin is abusing the broker: reported like a refused destination, and served no more.
    private func refuseMalformed(_ what: String) {
        let n = malformed.wrappingAdd(1, ordering: .relaxed).newValue
        if n <= 5 || n % 1000 == 0 || n == Self.malformedTolerated {
            logger.warning("egress broker: malformed request", metadata: ["plugin": "\(plugin)", "problem": "\(what)", "count": "\(n)"])
        }
        if n == Self.malformedTolerated {
            stop()
            onRefused(Refusal(plugin: plugin, pid: pid.withLock { $0 }, destination: "(malformed requests)",
                              reason: "\(n) malformed connection requests, the last: \(what)"))
        }
    }

    /// What a request asks for, or why it cannot be read.
    enum Request: Equatable {
        case connect(host: String, port: UInt16, timeout: Duration)
        case malformed(String)
    }

    static func parse(_ bytes: [UInt8]) -> Request {
        let value: JSONValue
        do { value = try JSONValue.parse(bytes) } catch { return .malformed("not JSON: \(error)") }
        guard let host = value["host"]?.stringValue, !host.isEmpty, host.utf8.count <= 253 else {
            return .malformed("\"host\" must be a host name or address of at most 253 bytes")
        }
        guard let p = value["port"]?.doubleValue, p >= 1, p <= 65_535, p.rounded() == p else {
            return .malformed("\"port\" must be a whole number from 1 to 65535")
        }
        var timeout = defaultTimeout
        if let t = value["timeout_ms"]?.doubleValue {
            guard t.isFinite, t >= 1 else { return .malformed("\"timeout_ms\" must be a positive number of milliseconds") }
            timeout = min(.milliseconds(Int64(min(t, 3_600_000))), maximumTimeout)
        }
        return .connect(host: host, port: UInt16(p), timeout: timeout)
    }

    /// Whether the broker connects `host`:`port` for this plugin.
    func isDeclared(host: String, port: UInt16) -> Bool {
        destinations.contains { $0.matches(host: host, port: port) }
    }

    private func handle(_ bytes: [UInt8], reply: Int32) {
        defer { close(reply) }
        switch Self.parse(bytes) {
        case .malformed(let why):
            refuseMalformed(why)
            answer(reply, error: "malformed request: \(why)")
        case .connect(let host, let port, let timeout):
            let shown = LogText.sanitized(String(host.prefix(253)))
            let destination = host.contains(":") ? "[\(shown)]:\(port)" : "\(shown):\(port)"
            guard isDeclared(host: host, port: port) else {
                let reason = "\(destination) is not declared under sandbox.egress"
                answer(reply, error: reason)
                // One refusal is the breach: the run is being quarantined, nothing more is served
                // (a flood of undeclared names cannot flood the log, the bus or the label table).
                guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
                stop()
                onRefused(Refusal(plugin: plugin, pid: pid.withLock { $0 }, destination: destination, reason: reason))
                return
            }
            switch Self.connect(host: host, port: port, timeout: timeout) {
            case .success(let (fd, address)):
                defer { close(fd) }
                answer(reply, ok: address, fd: fd)
            case .failure(let why):
                answer(reply, error: "connecting to \(destination): \(why.text)")
            }
        }
    }

    private func answer(_ reply: Int32, error: String) {
        let text = "{\"ok\":false,\"error\":\"" + Self.escaped(error) + "\"}"
        send(reply, text, fd: nil)
    }

    private func answer(_ reply: Int32, ok address: String, fd: Int32) {
        send(reply, "{\"ok\":true,\"address\":\"" + Self.escaped(address) + "\"}", fd: fd)
    }

    private func send(_ reply: Int32, _ text: String, fd: Int32?) {
        let bytes = Array(text.utf8)
        let fds: [Int32] = fd.map { [$0] } ?? []
        let n = bytes.withUnsafeBytes { b in
            fds.withUnsafeBufferPointer { f in vigil_send_with_fds(reply, b.baseAddress, UInt(b.count), f.baseAddress, Int32(f.count)) }
        }
        if n < 0 {
            logger.notice("egress broker: the plugin's reply socket took no answer", metadata: [
                "plugin": "\(plugin)", "error": "\(String(cString: strerror(errno)))"])
        }
    }

    static func escaped(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func isUnixSocket(_ fd: Int32) -> Bool {
        var domain: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) == 0 && domain == AF_UNIX
    }

    struct ConnectFailure: Error { var text: String }

    /// Resolves `host` and connects to its addresses in turn, within `timeout` in all: a
    /// blocking socket connected to `host`:`port` and the address it reached.
    static func connect(host: String, port: UInt16, timeout: Duration) -> Result<(Int32, String), ConnectFailure> {
        let deadline = ContinuousClock.now + timeout
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            return .failure(ConnectFailure(text: "cannot resolve \(LogText.sanitized(String(host.prefix(253)))): \(String(cString: gai_strerror(rc)))"))
        }
        defer { freeaddrinfo(list) }
        var last = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        var tried = 0
        while let a = entry, tried < 8 {
            entry = a.pointee.ai_next
            tried += 1
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { last = "timed out"; break }
            let fd = Glibc.socket(a.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { last = String(cString: strerror(errno)); continue }
            let address = numeric(a.pointee.ai_addr, a.pointee.ai_addrlen)
            if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) != 0 {
                guard errno == EINPROGRESS else { last = "\(address): \(String(cString: strerror(errno)))"; close(fd); continue }
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ms = Int32(clamping: max(1, remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000))
                var ready: Int32
                repeat { ready = poll(&p, 1, ms) } while ready < 0 && errno == EINTR
                guard ready > 0 else { last = "\(address): timed out"; close(fd); continue }
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 else {
                    last = "\(address): \(String(cString: strerror(error)))"
                    close(fd)
                    continue
                }
            }
            // The plugin gets a blocking socket, as a connect of its own would have given it.
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
            return .success((fd, address))
        }
        return .failure(ConnectFailure(text: last))
    }

    static func numeric(_ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t) -> String {
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard getnameinfo(address, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 else { return "?" }
        return String(cString: host)
    }
}
