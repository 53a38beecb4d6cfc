import Logging
import ServiceLifecycle
import VigilStore

/// Checkpoints the store's WAL beside the writer (``Store/checkpoint()``), so no commit that a
/// sender or a page waits on does it: every `interval`, and again at once while a checkpoint
/// still finds at least `busyFrames` to copy (a write burst).
struct StoreCheckpointService: Service {
    let store: Store
    var interval: Duration = .milliseconds(500)
    var busyFrames = 1_000
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            var failing = false
            while !Task.isCancelled {
                var pause = interval
                do {
                    let (frames, copied) = try await store.checkpoint()
                    if copied >= busyFrames, frames > 0 { pause = .milliseconds(20) }
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
