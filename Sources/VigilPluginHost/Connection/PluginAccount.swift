import Synchronization
import VigilCore

/// What one plugin has cost the daemon, kept for the daemon's lifetime across the plugin's runs:
/// its share of the interning tables, and counters its connections update without a round trip
/// through the host's input stream (so a flood of frames cannot flood that stream).
public final class PluginAccount: Sendable {
    /// New strings and label sets this plugin may still add to the daemon's ``SymbolTable``.
    public let internBudget: InternBudget
    private let received = Atomic<UInt64>(0)
    private let refusedEvents = Atomic<UInt64>(0)
    private let withheld = Atomic<UInt64>(0)
    private let throttled = Atomic<UInt64>(0)

    public init(internLimit: Int) {
        internBudget = InternBudget(limit: internLimit)
    }

    func countReceived(_ n: Int) { received.add(UInt64(max(0, n)), ordering: .relaxed) }
    func countRefused(_ n: Int) { refusedEvents.add(UInt64(max(0, n)), ordering: .relaxed) }
    func countWithheldPong() { withheld.add(1, ordering: .relaxed) }
    func countThrottled() { throttled.add(1, ordering: .relaxed) }

    /// Events the plugin's connections put on the bus.
    public var eventsReceived: UInt64 { received.load(ordering: .relaxed) }
    /// Events refused: undeclared or reserved names, reserved labels, label limits, budget spent.
    public var eventsRefused: UInt64 { refusedEvents.load(ordering: .relaxed) }
    /// Pongs not sent because the plugin was not reading its socket.
    public var pongsWithheld: UInt64 { withheld.load(ordering: .relaxed) }
    /// Times reading was held back because the plugin sent control frames too fast.
    public var timesThrottled: UInt64 { throttled.load(ordering: .relaxed) }
}

/// The bounds a connection holds its plugin to, beyond the wire format.
public struct ConnectionLimits: Sendable, Equatable {
    /// Labels per event.
    public var maximumLabels = 32
    /// Bytes of one label value.
    public var maximumLabelValueBytes = 512
    /// New strings and label sets one plugin may add to the daemon's tables in the daemon's lifetime.
    public var internBudget = 20_000
    /// Refused events one run may send: the first is answered with a warning, past this many the
    /// run ends as a protocol violation.
    public var refusedEventsTolerated = 1_000
    /// Control frames (ping, pong, log, result) per second, and the burst allowed above that rate;
    /// faster, reading the socket pauses (the plugin's writes block), nothing queues in the daemon.
    public var controlFramesPerSecond = 200.0
    public var controlFrameBurst = 400.0

    public init() {}
}
