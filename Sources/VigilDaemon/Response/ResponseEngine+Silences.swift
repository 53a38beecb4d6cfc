import VigilCore
import VigilStore

extension ResponseEngine {
    /// Sets the check that mutes automated containment (the daemon's ``SilenceService``).
    public func setMuter(_ muter: @escaping @Sendable (Incident) -> Mute?) { self.muter = muter }

    /// Records, once per incident and silence, that automated containment did not start.
    func recordMutedStart(_ incident: Incident, category: String, mute: Mute) async {
        let key = incident.id + "\u{0}" + mute.by
        guard !mutedStarts.contains(key) else { return }
        if mutedStarts.count >= 10_000 { mutedStarts.removeAll() }
        mutedStarts.insert(key)
        let entry = TimelineEntry(incidentID: incident.id, time: clock.now(), actor: Self.actor, kind: .action,
                                  message: "Automated containment (\(category)) skipped: silenced by \(mute)",
                                  data: ["silence": mute.by, "state": "skipped"])
        do {
            _ = try await store.write { tx in
                guard let current = try tx.incident(id: incident.id) else { return }
                _ = try tx.commit(StoreChange(incident: current, timeline: [entry]))
            }
        } catch {
            logger.error("cannot record a silenced containment start", metadata: ["id": "\(incident.id)", "error": "\(error)"])
        }
    }
}
