import Foundation
import ServiceLifecycle
import VigilCore
import VigilSilences
import VigilStore

extension SilenceService {
    /// Notices, on the injected clock, silences that started or ran out and maintenance windows
    /// that opened or closed since the last tick, and writes each into the timeline of every open
    /// incident it mutes (or muted); purges silences past their retention. Returns how many
    /// changes it announced.
    @discardableResult
    public func tick() async -> Int {
        let now = clock.now()
        var lines: [(matches: @Sendable ([String: String]) -> Bool, text: String, key: String)] = []
        var ended: [Silence] = []
        var changed: [SilenceRecord] = []
        for s in list() {
            let state = s.state(at: now)
            let before = announced[s.id]
            guard before != state else { continue }
            announced[s.id] = state
            changed.append(SilenceConversion.record(s, announced: state))
            let matchers = s.matchers
            switch (before, state) {
            case (.pending?, .active):
                lines.append(({ matchers.matches($0) }, "Silence \(s.idText) started: paging and automated containment muted "
                    + "until \(s.endsAt.rfc3339) (\(s.createdBy)): \(s.comment)", s.idText))
            case (.active?, .expired), (.pending?, .expired):
                lines.append(({ matchers.matches($0) }, "Silence \(s.idText) expired at \(s.endsAt.rfc3339); "
                    + "paging and automated containment resume", s.idText))
                ended.append(s)
            default:
                continue
            }
        }
        let nowOpen = Set(maintenanceWindows.filter { $0.isOpen(at: now) }.map(\.name))
        for w in maintenanceWindows where nowOpen.contains(w.name) != openWindows.contains(w.name) {
            let matchers = w.matchers
            let opened = nowOpen.contains(w.name)
            lines.append(({ matchers.matches($0) }, opened
                ? "Maintenance window \(w.name) opened: paging and automated containment muted"
                : "Maintenance window \(w.name) closed: paging and automated containment resume", "maintenance window \(w.name)"))
        }
        let closed = openWindows.subtracting(nowOpen)
        openWindows = nowOpen
        if !lines.isEmpty {
            let entries = lines
            let records = changed
            do {
                _ = try await store.write { tx in
                    for r in records { try tx.save(silence: r) }
                    for incident in try tx.openIncidents() {
                        let labels = SilenceLabels.of(incident)
                        let timeline = entries.filter { $0.matches(labels) }.map {
                            TimelineEntry(incidentID: incident.id, time: now, actor: "vigild", kind: .comment, message: $0.text,
                                          data: ["silence": $0.key])
                        }
                        if !timeline.isEmpty { try tx.commit(StoreChange(incident: incident, timeline: timeline)) }
                    }
                }
            } catch {
                logger.error("cannot record silence changes in timelines", metadata: ["error": "\(error)"])
            }
        }
        for s in ended { await unmuted(by: s) }
        if !closed.isEmpty, let open = try? await store.openIncidents() {
            let windows = maintenanceWindows.filter { closed.contains($0.name) }
            let affected = open.filter { incident in
                let labels = SilenceLabels.of(incident)
                return windows.contains { $0.matchers.matches(labels) } && muting(incident) == nil
            }
            if !affected.isEmpty {
                await resendMutedPages(affected, because: "maintenance window \(closed.sorted().joined(separator: ", ")) closed")
                onUnmuted?(affected)
            }
        }
        await purge(now: now)
        return lines.count
    }
}

/// Ticks the silences every `interval` until shutdown.
struct SilenceClockService: Service {
    let silences: SilenceService
    let interval: Duration

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                await silences.tick()
            }
        }
    }
}
