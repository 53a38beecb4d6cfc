import Foundation
import VigilCore

/// Talks to a running daemon over its control socket; used by the `vigil` CLI and tests.
public struct ControlClient: ControlTransport {
    public let socketPath: String

    public init(stateDirectory: String) {
        socketPath = (stateDirectory as NSString).appendingPathComponent("control.sock")
    }

    public init(socketPath: String) { self.socketPath = socketPath }

    /// Sends one request and waits for its response.
    public func send(_ request: ControlRequest) throws(ControlFailure) -> ControlResponse {
        let fd = try Self.connect(path: socketPath)
        defer { close(fd) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var data = try? encoder.encode(request) else { throw ControlFailure("cannot encode request") }
        data.append(10)
        let sent = data.withUnsafeBytes { raw -> Bool in
            var off = 0
            while off < raw.count {
                guard let base = raw.baseAddress else { return false }
                let n = Glibc.send(fd, base + off, raw.count - off, Int32(MSG_NOSIGNAL))
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return false }
                off += n
            }
            return true
        }
        // A refused peer is answered and disconnected before its request is read, so a failed
        // send may still leave the daemon's explanation waiting to be read.
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !buffer.contains(10) {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            buffer.append(contentsOf: chunk[..<n])
        }
        let line = buffer.prefix { $0 != 10 }
        guard !line.isEmpty else {
            throw ControlFailure(sent ? "the daemon at \(socketPath) sent no response"
                                      : "the daemon closed the connection at \(socketPath)")
        }
        do {
            return try JSONDecoder().decode(ControlResponse.self, from: Data(line))
        } catch {
            throw ControlFailure("the daemon at \(socketPath) sent a malformed response")
        }
    }

    /// Connects to a Unix stream socket, with a message that says what to do when nothing is there.
    public static func connect(path: String) throws(ControlFailure) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlFailure("socket(): \(String(cString: strerror(errno)))") }
        var addr: sockaddr_un
        do { addr = try Self.address(path) } catch { close(fd); throw error }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if r != 0 {
            let e = errno
            close(fd)
            switch e {
            case ENOENT, ECONNREFUSED:
                throw ControlFailure("no daemon is running at \(path) (start one with `make run` or "
                    + "`vigild --config Config/vigil.yaml`, or pass --state-dir)")
            case EACCES:
                throw ControlFailure("permission denied connecting to \(path): use root, the daemon's user, "
                    + "or a member of the configured control group")
            default:
                throw ControlFailure("cannot connect to \(path): \(String(cString: strerror(e)))")
            }
        }
        return fd
    }

    /// The `sockaddr_un` of `path`, or a failure when it does not fit (107 bytes at most).
    public static func address(_ path: String) throws(ControlFailure) -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw ControlFailure("socket path too long (\(bytes.count) bytes, at most 107): \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        return addr
    }
}
