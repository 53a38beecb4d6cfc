import Synchronization
import VigilCore
import VigilPluginProtocol

/// What a detector emits events through. Events are batched into one `events` frame of up to
/// `batchSize` events, sent when the batch is full, on ``flush()``, and by the kit every
/// flush interval. Emitting blocks while the daemon holds the plugin back (bus backpressure).
public final class DetectorContext: PluginContext, @unchecked Sendable {
    private struct Batch {
        var writer = JSONWriter(capacity: 64 << 10)
        var count = 0
    }

    private let batchSize: Int
    private let batch = Mutex(Batch())

    init(session: PluginSession, batchSize: Int) {
        self.batchSize = max(1, batchSize)
        super.init(session: session)
    }

    /// A metric sample: `cpu_usage` = 93.5 `%`.
    public func metric(_ name: String, _ value: Double, unit: String = "", labels: [String: String] = [:],
                       time: Timestamp? = nil) {
        append { w in
            w.raw("{\"name\":"); w.string(name)
            w.raw(",\"value\":"); w.number(value)
            if !unit.isEmpty { w.raw(",\"unit\":"); w.string(unit) }
            if !labels.isEmpty { w.raw(",\"labels\":"); w.labels(labels) }
            if let time { w.raw(",\"time\":"); w.number(time.seconds) }
            w.byte(0x7D)
        }
    }

    /// An occurrence without a value: `authentication_failures`, `configuration_tampering_detected`.
    public func signal(_ name: String, labels: [String: String] = [:], time: Timestamp? = nil) {
        append { w in
            w.raw("{\"name\":"); w.string(name)
            if !labels.isEmpty { w.raw(",\"labels\":"); w.labels(labels) }
            if let time { w.raw(",\"time\":"); w.number(time.seconds) }
            w.byte(0x7D)
        }
    }

    /// Sends what is batched now.
    public func flush() {
        batch.withLock { b in send(&b) }
    }

    private func append(_ write: (inout JSONWriter) -> Void) {
        batch.withLock { b in
            if b.count == 0 {
                b.writer.bytes.removeAll(keepingCapacity: true)
                b.writer.bytes.append(contentsOf: [0, 0, 0, 0])  // length, filled in when sent
                b.writer.raw("{\"type\":\"events\",\"events\":[")
            } else {
                b.writer.byte(0x2C)
            }
            write(&b.writer)
            b.count += 1
            if b.count >= batchSize { send(&b) }
        }
    }

    private func send(_ b: inout Batch) {
        guard b.count > 0 else { return }
        b.writer.raw("]}")
        let length = UInt32(truncatingIfNeeded: b.writer.bytes.count - 4)
        b.writer.bytes[0] = UInt8(length >> 24)
        b.writer.bytes[1] = UInt8(truncatingIfNeeded: length >> 16)
        b.writer.bytes[2] = UInt8(truncatingIfNeeded: length >> 8)
        b.writer.bytes[3] = UInt8(truncatingIfNeeded: length)
        session.socket.sendFrame(b.writer.bytes)
        b.count = 0
        b.writer.bytes.removeAll(keepingCapacity: true)
    }
}
