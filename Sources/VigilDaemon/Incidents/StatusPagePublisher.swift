import Foundation
import Logging
import VigilCore
import VigilIncidents
import VigilStore

/// Writes the public status page, `status-page.json` in the state folder, from the database
/// (so it is always regenerated from the truth, and a restart reproduces it). Written to a
/// temporary file and renamed, so readers never see half a document.
public actor StatusPagePublisher {
    public nonisolated let path: String
    private let store: Store
    private let clock: any VigilClock
    private let logger: Logger
    /// Regenerations asked for with ``publishSoon()`` are at least this far apart. The page
    /// reads every user-impacting incident of the retention period with its timeline: an alert
    /// storm opening an incident per alert regenerated it once per intake batch, which was
    /// measured taking most of the daemon's CPU (a quarter of it in reading timelines alone).
    public nonisolated let spacing: Duration
    private var lastPublished: ContinuousClock.Instant?
    /// How many times the page has been regenerated.
    public private(set) var regenerations = 0

    public init(path: String, store: Store, clock: any VigilClock, logger: Logger, spacing: Duration = .seconds(1)) {
        self.path = path
        self.store = store
        self.clock = clock
        self.logger = logger
        self.spacing = spacing
    }

    private var publishing = false
    private var again = false

    /// Asks for the page to be regenerated soon, without waiting: requests made while one is
    /// being written, or within ``spacing`` of the last one, coalesce into one more, written
    /// when the spacing has passed. Signal intake uses this, so a burst of incidents never waits
    /// for the page (people's commands still wait for it with ``publish()``).
    public nonisolated func publishSoon() {
        Task { await self.coalescedPublish() }
    }

    private func coalescedPublish() async {
        if publishing {
            again = true
            return
        }
        publishing = true
        repeat {
            if let last = lastPublished {
                let wait = last + spacing - ContinuousClock.now
                if wait > .zero { try? await Task.sleep(for: wait) }
            }
            again = false
            await publish()
        } while again
        publishing = false
    }

    /// Regenerates the page; failures are logged (the page is an effect, the database keeps the facts).
    public func publish() async {
        lastPublished = ContinuousClock.now
        regenerations += 1
        do {
            let now = clock.now()
            let recent = try await store.recentIncidents(limit: 500).filter {
                $0.classification?.userImpacting == true
                    && ($0.state.isOpen || ($0.resolvedAt ?? $0.closedAt).map { now - $0 <= StatusPageDocument.resolvedRetention } == true)
            }
            // Only their public updates, all in one read: the page uses nothing else of a timeline.
            let updates = try await store.timelines(incidentIDs: recent.map(\.id), kind: .statusPage)
            let pairs = recent.map { ($0, updates[$0.id] ?? []) }
            let document = StatusPageDocument.build(pairs, now: now)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            var data = try encoder.encode(document)
            data.append(10)
            let temporary = path + ".tmp"
            try data.write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, path) == 0 else {
                throw IncidentServiceError.storage("rename \(temporary): \(String(cString: strerror(errno)))")
            }
        } catch {
            logger.error("status page not written", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }
}
