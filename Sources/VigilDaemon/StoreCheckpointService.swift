import Logging
import ServiceLifecycle
import VigilStore

/// Checkpoints the store's WAL beside the writer (``Store/checkpoint()``), so no commit that a
/// sender or a page waits on does it: every `interval`, and again soon while the log grew by at
/// least `busyFrames` since the last look (a write burst).
struct StoreCheckpointService: Service {
    let store: Store
    var interval: Duration = .milliseconds(500)
    var busyFrames = 1_000
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            var failing = false
            var lastFrames = 0
            while !Task.isCancelled {
                var pause = interval
                do {
                    // SQLite reports the log's size and how much of it is in the database, both
                    // totals since the log last restarted: growth, not the totals, says busy.
                    let (frames, _) = try await store.checkpoint()
                    let grown = frames >= lastFrames ? frames - lastFrames : frames
                    lastFrames = frames
                    if grown >= busyFrames { pause = .milliseconds(20) }
                    if failing { logger.notice("store checkpoints work again") }
                    failing = false
                } catch {
                    // Harmless while it lasts (the writer checkpoints at its safety net); said once.
                    if !failing { logger.warning("store checkpoint failed", metadata: ["error": "\(error)"]) }
                    failing = true
                }
                try? await Task.sleep(for: pause)
            }
        }
    }
}
