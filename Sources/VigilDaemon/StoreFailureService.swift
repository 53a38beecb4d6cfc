import Logging
import ServiceLifecycle
import VigilControl
import VigilCore
import VigilStore

/// The daemon's own store failures as events: every busy, locked, I/O, corruption… error SQLite
/// logs about `vigil.db` (``StoreFailureLog``) becomes one `sqlite_connection_failures` signal
/// (labels `database="vigil"`, `kind`), so the seed's `sqlite_connection_failures > 5 in 1 minute`
/// watches Vigil's own store like any application's.
///
/// SQLite's log calls in on whatever thread met the error; it only hands the failure to a
/// bounded buffer (the newest 1,024 kept: a store failing thousands of times a second keeps
/// enough to fire the rule many times over), and this service publishes and logs them.
final class StoreFailureReports: Sendable {
    let stream: AsyncStream<StoreFailure>
    private let continuation: AsyncStream<StoreFailure>.Continuation

    init(buffer: Int = 1_024) {
        (stream, continuation) = AsyncStream.makeStream(of: StoreFailure.self, bufferingPolicy: .bufferingNewest(buffer))
    }

    func record(_ failure: StoreFailure) { continuation.yield(failure) }

    func finish() { continuation.finish() }

    /// The event one failure becomes.
    static func event(_ f: StoreFailure) -> IngestEvent {
        IngestEvent(kind: .signal, name: "sqlite_connection_failures", labels: ["database": "vigil", "kind": f.kind.rawValue],
                    source: "vigild:store")
    }
}

struct StoreFailureService: Service {
    let reports: StoreFailureReports
    let publish: @Sendable (IngestEvent) async -> Void
    let clock: any VigilClock
    let logger: Logger
    /// One log line per kind per this long (the rest are counted into the next line).
    var logEvery: Duration = .seconds(10)

    func run() async throws {
        StoreFailureLog.setHandler { [reports] in reports.record($0) }
        defer { StoreFailureLog.setHandler(nil) }
        try await cancelWhenGracefulShutdown {
            var lastLogged: [StoreFailure.Kind: Timestamp] = [:]
            var unlogged: [StoreFailure.Kind: Int] = [:]
            for await failure in reports.stream {
                let now = clock.now()
                if let last = lastLogged[failure.kind], now < last + logEvery {
                    unlogged[failure.kind, default: 0] += 1
                } else {
                    let more = unlogged.removeValue(forKey: failure.kind) ?? 0
                    logger.error("store failure", metadata: [
                        "kind": "\(failure.kind.rawValue)", "code": "\(failure.code)", "sqlite": "\(failure.message)",
                        "also": "\(more) more since the last line",
                    ])
                    lastLogged[failure.kind] = now
                }
                await publish(StoreFailureReports.event(failure))
            }
        }
    }
}
