import CVigilSys
import Foundation
import Logging
import VigilControl
import VigilCore

/// Who is on the other end of a control connection, from `SO_PEERCRED`.
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
}

/// Decides which peers may use the control socket: uid 0, the daemon's own uid, or members of
/// the configured group (primary gid or a supplementary group of the peer process).
public struct ControlAccessPolicy: Sendable {
    public var daemonUID: UInt32
    public var allowedGID: UInt32?

    public init(daemonUID: UInt32 = getuid(), allowedGroup: String?) {
        self.daemonUID = daemonUID
        self.allowedGID = allowedGroup.flatMap { name in getgrnam(name).map { $0.pointee.gr_gid } }
    }

    /// Nil when allowed; otherwise the reason for the refusal.
    public func refusal(for peer: PeerCredentials) -> String? {
        if peer.uid == 0 || peer.uid == daemonUID { return nil }
        if let gid = allowedGID {
            if peer.gid == gid || Self.supplementaryGroups(pid: peer.pid).contains(gid) { return nil }
            return "uid \(peer.uid) is neither root, the daemon's uid \(daemonUID), nor a member of gid \(gid)"
        }
        return "uid \(peer.uid) is neither root nor the daemon's uid \(daemonUID) (no allowed group configured)"
    }

    static func supplementaryGroups(pid: Int32) -> [UInt32] {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Groups:") }) else { return [] }
        return line.dropFirst("Groups:".count).split(separator: " ").compactMap { UInt32($0) }
    }
}

/// The daemon's control socket: a Unix-domain stream socket at `<state-dir>/control.sock`
/// (mode 0660, group = the allowed group when it exists) speaking newline-delimited JSON.
///
/// Accepting and reading run on dedicated threads (few connections, blocking I/O), and each
/// request is answered by the async `handler`. Every peer is checked with `SO_PEERCRED`
/// before anything it sends is read; refusals are answered, logged and the connection closed.
public final class ControlSocketServer: @unchecked Sendable {
    public typealias Handler = @Sendable (ControlRequest, PeerCredentials) async -> ControlResponse

    public let path: String
    private let policy: ControlAccessPolicy
    private let logger: Logger
    private let handler: Handler
    private let maxRequestBytes = ControlRequest.maximumLineBytes
    private let lock = NSLock()
    private var listenFD: Int32 = -1
    private var wakePipe: (Int32, Int32) = (-1, -1)
    private var acceptThread: Thread?
    private var stopped = false

    public init(path: String, policy: ControlAccessPolicy, logger: Logger, handler: @escaping Handler) {
        self.path = path
        self.policy = policy
        self.logger = logger
        self.handler = handler
    }

    /// Binds and starts accepting. Fails if another daemon already answers on `path`.
    public func start() throws {
        if FileManager.default.fileExists(atPath: path) {
            if Self.answers(path: path) { throw ControlFailure("another vigild is already serving \(path)") }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlFailure("socket(): \(String(cString: strerror(errno)))") }
        var addr = try Self.address(path)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let e = errno
            close(fd)
            throw ControlFailure("cannot bind \(path): \(String(cString: strerror(e)))")
        }
        if let gid = policy.allowedGID { _ = chown(path, getuid(), gid) }
        chmod(path, 0o660)
        guard listen(fd, 64) == 0 else {
            close(fd)
            throw ControlFailure("listen(): \(String(cString: strerror(errno)))")
        }
        var fds: [Int32] = [-1, -1]
        guard vigil_pipe_cloexec(&fds) == 0 else {
            close(fd)
            throw ControlFailure("pipe2(): \(String(cString: strerror(errno)))")
        }
        let (wakeRead, wakeWrite) = (fds[0], fds[1])
        lock.withLock {
            listenFD = fd
            wakePipe = (wakeRead, wakeWrite)
        }
        let thread = Thread { [self] in acceptLoop(fd: fd, wake: wakeRead) }
        thread.name = "vigil-control-accept"
        acceptThread = thread
        thread.start()
        logger.info("control socket listening", metadata: ["path": "\(path)"])
    }

    /// Stops accepting and removes the socket file; connections in progress finish their request.
    public func stop() {
        let (fd, wake) = lock.withLock { () -> (Int32, Int32) in
            if stopped { return (-1, -1) }
            stopped = true
            return (listenFD, wakePipe.1)
        }
        guard fd >= 0 else { return }
        var byte: UInt8 = 1
        _ = write(wake, &byte, 1)
        unlink(path)
    }

    private func acceptLoop(fd: Int32, wake: Int32) {
        var pfds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        while true {
            let n = poll(&pfds, 2, -1)
            if n < 0 { if errno == EINTR { continue }; break }
            if pfds[1].revents != 0 { break }
            if pfds[0].revents & Int16(POLLIN) == 0 { continue }
            let conn = vigil_accept_cloexec(fd)
            if conn < 0 { continue }
            let t = Thread { [self] in serve(conn) }
            t.name = "vigil-control-conn"
            t.start()
        }
        close(fd)
        close(wake)
        lock.withLock { close(wakePipe.1) }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var pid: pid_t = 0, uid: uid_t = 0, gid: gid_t = 0
        guard vigil_peer_credentials(fd, &pid, &uid, &gid) == 0 else {
            logger.warning("control connection refused: SO_PEERCRED failed", metadata: ["errno": "\(errno)"])
            return
        }
        let peer = PeerCredentials(pid: pid, uid: uid, gid: gid)
        if let reason = policy.refusal(for: peer) {
            logger.warning("control connection refused", metadata: [
                "peer_pid": "\(pid)", "peer_uid": "\(uid)", "peer_gid": "\(gid)", "reason": "\(reason)",
            ])
            send(.failure("permission denied: \(reason)"), to: fd)
            return
        }
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let nl = buffer.firstIndex(of: 10) {
                let line = Array(buffer[..<nl])
                buffer.removeSubrange(...nl)
                if line.isEmpty { continue }
                if !respond(to: line, peer: peer, fd: fd) { return }
                continue
            }
            if buffer.count > maxRequestBytes {
                send(.failure("request line longer than \(maxRequestBytes) bytes"), to: fd)
                return
            }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 {
                if !buffer.isEmpty { _ = respond(to: buffer, peer: peer, fd: fd) }
                return
            }
            buffer.append(contentsOf: chunk[..<n])
        }
    }

    private func respond(to line: [UInt8], peer: PeerCredentials, fd: Int32) -> Bool {
        let request: ControlRequest
        do {
            request = try ControlRequest.decode(line: line)
        } catch {
            return send(.failure(error.description), to: fd)
        }
        let box = ResponseBox()
        let done = DispatchSemaphore(value: 0)
        let handler = self.handler
        Task {
            box.value = await handler(request, peer)
            done.signal()
        }
        done.wait()
        return send(box.value ?? .failure("no response"), to: fd)
    }

    @discardableResult
    private func send(_ response: ControlResponse, to fd: Int32) -> Bool {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var data = try? encoder.encode(response) else { return false }
        data.append(10)
        return data.withUnsafeBytes { raw -> Bool in
            guard let base = raw.baseAddress else { return false }
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(fd, base + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    static func address(_ path: String) throws -> sockaddr_un { try ControlClient.address(path) }

    /// Whether something accepts connections at `path`.
    static func answers(path: String) -> Bool {
        guard let fd = try? ControlClient.connect(path: path) else { return false }
        close(fd)
        return true
    }
}

private final class ResponseBox: @unchecked Sendable {
    var value: ControlResponse?
}
