import Synchronization

/// What the console's open pages are told about, over Server-Sent Events (`/console/events`).
public enum ConsoleEvent: Sendable, Equatable {
    /// An incident changed (opened, acknowledged, a timeline entry…).
    case incident(id: String)
    /// Silences changed.
    case silences
    /// A periodic tick for pages that show live figures (bus lanes, plugins).
    case tick

    var name: String {
        switch self {
        case .incident: "incident"
        case .silences: "silences"
        case .tick: "tick"
        }
    }

    var data: String {
        switch self {
        case .incident(let id): id
        case .silences, .tick: ""
        }
    }
}

/// Fans changes out to the open event streams. Each subscriber keeps at most the newest
/// `buffer` events (a page that cannot keep up reloads its fragment anyway), and at most
/// `maximumSubscribers` streams are open at once, so no crowd of browsers grows memory.
public final class ConsoleEventHub: Sendable {
    public static let maximumSubscribers = 512
    static let buffer = 64

    private struct State {
        var next = 0
        var subscribers: [Int: AsyncStream<ConsoleEvent>.Continuation] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    /// A stream of events from now on, or nil when too many are open.
    public func subscribe() -> AsyncStream<ConsoleEvent>? {
        let (stream, continuation) = AsyncStream<ConsoleEvent>.makeStream(bufferingPolicy: .bufferingNewest(Self.buffer))
        let id: Int? = state.withLock { s in
            guard s.subscribers.count < Self.maximumSubscribers else { return nil }
            s.next += 1
            s.subscribers[s.next] = continuation
            return s.next
        }
        guard let id else { return nil }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    public func publish(_ event: ConsoleEvent) {
        let targets = state.withLock { Array($0.subscribers.values) }
        for c in targets { c.yield(event) }
    }
}
