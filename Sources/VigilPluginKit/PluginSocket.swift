#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import VigilCore
import VigilPluginProtocol

/// The plugin's end of its connection to `vigild`: fd 3, framed JSON both ways.
///
/// Reads happen on one thread (the kit's reader); writes may come from any thread and are
/// serialised by a lock. Writes block when the daemon stops reading (bus backpressure), which
/// is how a detector that produces faster than the daemon consumes is slowed down.
final class PluginSocket: Sendable {
    let fd: Int32
    private let writeLock = Mutex<Void>(())

    init(fd: Int32 = 3) { self.fd = fd }

    /// Whether fd is an open socket (the daemon started us).
    var isConnected: Bool {
        var st = stat()
        return fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK
    }

    /// Sends one message; false when the daemon is gone.
    @discardableResult
    func send(_ message: PluginMessage) -> Bool {
        sendFrame(message.encodedFrame())
    }

    /// Sends one complete frame (length prefix included).
    @discardableResult
    func sendFrame(_ frame: [UInt8]) -> Bool {
        writeLock.withLock { _ in Frame.writeAll(frame, to: fd) }
    }
}

/// Reads frames from the daemon; used by one thread.
struct PluginReader {
    private var decoder: FrameDecoder
    let fd: Int32

    init(fd: Int32, maximumFrameBytes: Int = WireProtocol.defaultMaximumFrameBytes) {
        self.fd = fd
        decoder = FrameDecoder(maximumFrameBytes: maximumFrameBytes)
    }

    enum ReadError: Error, CustomStringConvertible {
        case closed
        case failed(Int32)
        case protocolError(ProtocolError)

        var description: String {
            switch self {
            case .closed: "the daemon closed the connection"
            case .failed(let code): "reading fd 3 failed: \(String(cString: strerror(code)))"
            case .protocolError(let e): "the daemon sent a bad frame: \(e)"
            }
        }
    }

    /// The next message, blocking until one is complete.
    mutating func next() throws(ReadError) -> PluginMessage {
        while true {
            do {
                if let message = try decoder.nextMessage() { return message }
            } catch {
                throw .protocolError(error)
            }
            let n = decoder.read(from: fd)
            if n == 0 { throw .closed }
            if n < 0 {
                if errno == EINTR { continue }
                throw .failed(errno)
            }
        }
    }
}
