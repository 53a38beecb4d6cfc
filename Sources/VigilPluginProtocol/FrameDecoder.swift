#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a byte stream into frames: a 4-byte big-endian length, then that many bytes of JSON.
///
/// Bytes may arrive in any split (one byte at a time, several frames at once); a frame whose
/// announced length exceeds ``maximumFrameBytes`` is refused as soon as its header is seen, so a
/// hostile 100 MiB frame costs 4 bytes of reading, not 100 MiB of memory.
public struct FrameDecoder: Sendable {
    /// Largest accepted payload in bytes.
    public let maximumFrameBytes: Int
    /// Frames whose header has been read so far; the number of the current frame.
    public private(set) var frameCount = 0
    private var storage: [UInt8]
    private var start = 0
    private var end = 0

    public init(maximumFrameBytes: Int = WireProtocol.defaultMaximumFrameBytes, initialCapacity: Int = 64 << 10) {
        self.maximumFrameBytes = maximumFrameBytes
        storage = [UInt8](repeating: 0, count: max(16, initialCapacity))
    }

    /// Bytes received but not yet returned as frames.
    public var bufferedByteCount: Int { end - start }

    /// Appends received bytes.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        reserve(bytes.count)
        storage.withUnsafeMutableBytes { dst in
            guard let base = dst.baseAddress, let src = bytes.baseAddress, !bytes.isEmpty else { return }
            memcpy(base + end, src, bytes.count)
        }
        end += bytes.count
    }

    /// Appends received bytes.
    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Reads once from `fd` straight into the buffer; returns what `read(2)` returned
    /// (0 at end of stream, -1 with `errno` set).
    public mutating func read(from fd: Int32, chunk: Int = 64 << 10) -> Int {
        reserve(chunk)
        let n = storage.withUnsafeMutableBytes { dst -> Int in
            guard let base = dst.baseAddress else { return -1 }
            return Glibc.read(fd, base + end, dst.count - end)
        }
        if n > 0 { end += n }
        return n
    }

    private mutating func reserve(_ extra: Int) {
        if storage.count - end >= extra { return }
        if start > 0 {
            storage.withUnsafeMutableBytes { b in
                if let base = b.baseAddress { memmove(base, base + start, end - start) }
            }
            end -= start
            start = 0
        }
        if storage.count - end < extra {
            var newCount = storage.count
            while newCount - end < extra { newCount *= 2 }
            storage.append(contentsOf: repeatElement(0, count: newCount - storage.count))
        }
    }

    /// Calls `body` with the next complete frame's payload and its number, or returns nil when
    /// no complete frame is buffered. Throws ``ProtocolError/oversizedFrame(frame:length:limit:)``
    /// as soon as a header announces too much, and for an empty frame.
    public mutating func withNextFrame<R>(
        _ body: (UnsafeRawBufferPointer, Int) throws(ProtocolError) -> R
    ) throws(ProtocolError) -> R? {
        guard end - start >= 4 else { return nil }
        let length = storage.withUnsafeBytes { b -> UInt32 in
            UInt32(b[start]) << 24 | UInt32(b[start + 1]) << 16 | UInt32(b[start + 2]) << 8 | UInt32(b[start + 3])
        }
        let number = frameCount + 1
        guard Int(length) <= maximumFrameBytes else {
            frameCount = number
            throw .oversizedFrame(frame: number, length: length, limit: maximumFrameBytes)
        }
        guard length > 0 else {
            frameCount = number
            throw .invalidJSON(frame: number, offset: 0, problem: "empty frame")
        }
        guard end - start >= 4 + Int(length) else {
            reserve(4 + Int(length) - (end - start))
            return nil
        }
        frameCount = number
        let payloadStart = start + 4
        start = payloadStart + Int(length)
        if start == end { start = 0; end = 0 }
        return try storage.withUnsafeBytes { b in
            Result { () throws(ProtocolError) -> R in
                try body(UnsafeRawBufferPointer(rebasing: b[payloadStart..<(payloadStart + Int(length))]), number)
            }
        }.get()
    }

    /// The next complete frame's payload, copied, with its number.
    public mutating func nextFrame() throws(ProtocolError) -> (payload: [UInt8], number: Int)? {
        try withNextFrame { (payload, number) throws(ProtocolError) in (Array(payload), number) }
    }

    /// The next complete frame decoded as a message.
    public mutating func nextMessage() throws(ProtocolError) -> PluginMessage? {
        try withNextFrame { (payload, number) throws(ProtocolError) in try PluginMessage.decode(payload, frame: number) }
    }
}

/// Writing frames.
public enum Frame {
    /// Size of the big-endian length prefix.
    public static let headerBytes = 4

    /// `payload` with its length prefix.
    public static func encode(_ payload: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(payload.count + 4)
        appendHeader(length: payload.count, to: &out)
        out.append(contentsOf: payload)
        return out
    }

    /// Appends the 4-byte big-endian length prefix.
    public static func appendHeader(length: Int, to out: inout [UInt8]) {
        let n = UInt32(truncatingIfNeeded: length)
        out.append(UInt8(n >> 24))
        out.append(UInt8(truncatingIfNeeded: n >> 16))
        out.append(UInt8(truncatingIfNeeded: n >> 8))
        out.append(UInt8(truncatingIfNeeded: n))
    }

    /// Writes all of `bytes` to a blocking descriptor, retrying on `EINTR` and short writes.
    /// Returns false (with `errno` set) if the peer is gone or the write failed.
    public static func writeAll(_ bytes: [UInt8], to fd: Int32) -> Bool {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return true }
            var offset = 0
            while offset < raw.count {
                let n = send(fd, base + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno == ENOTSOCK {
                        let w = write(fd, base + offset, raw.count - offset)
                        if w < 0 { if errno == EINTR { continue }; return false }
                        offset += w
                        continue
                    }
                    return false
                }
                offset += n
            }
            return true
        }
    }
}
