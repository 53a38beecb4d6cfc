import Foundation
import VigilControl
import VigilCore
import VigilMatchers
import VigilSilences

extension SilenceControl {
    /// Most matches one preview lists (and its default); the counts are always complete.
    static let maximumPreview = 1000

    /// `silences.preview`. Args: `matchers` (as `silences.add` takes them), `limit` (1–1000,
    /// default 100). What a silence with these matchers would mute now: the firing alerts and the
    /// open incidents they match, matched as the silences match (an incident by
    /// ``SilenceLabels``), refused for the reasons `silences.add` would refuse them.
    func preview(_ request: ControlRequest) async throws -> JSONValue {
        let texts = try request.texts("matchers", maxBytes: 16 * 1024, maxItems: LabelMatchers.maxCount) ?? []
        guard !texts.isEmpty else {
            throw ControlFailure("matchers: missing; at least one matcher like alertname=\"Disk\"")
        }
        let limit = try request.integer("limit", default: 100, in: 1...Self.maximumPreview)
        let matchers = try Self.matchers(texts)
        let now = clock.now()
        var alerts: [SilencePreviewView.AlertMatch] = []
        var alertCount = 0
        for alert in await activeAlerts().sorted(by: { ($0.startsAt, $0.fingerprint) < ($1.startsAt, $1.fingerprint) })
        where alert.isActive(at: now) && matchers.matches(alert.labels) {
            alertCount += 1
            guard alerts.count < limit else { continue }
            alerts.append(.init(fingerprint: alert.fingerprint, labels: alert.labels, startsAt: alert.startsAt.rfc3339,
                                silencedBy: service.silencedBy(alert.labels).silences))
        }
        var incidents: [SilencePreviewView.IncidentMatch] = []
        var incidentCount = 0
        for incident in try await service.store.openIncidents() where matchers.matches(SilenceLabels.of(incident)) {
            incidentCount += 1
            guard incidents.count < limit else { continue }
            incidents.append(.init(id: incident.id, title: incident.title, severity: incident.severity.code,
                                   state: incident.state.rawValue, mutedBy: service.muting(incident)?.by))
        }
        return try JSONValue.encoding(SilencePreviewView(
            matchers: matchers.description, at: now.rfc3339, alertCount: alertCount, incidentCount: incidentCount,
            alerts: alerts, incidents: incidents))
    }

    /// The matchers as `silences.add` reads them (the texts joined as amtool joins them), checked
    /// as a silence's are; a refusal names the text at fault when one alone is wrong.
    static func matchers(_ texts: [String]) throws(ControlFailure) -> LabelMatchers {
        let parsed: LabelMatchers
        do { parsed = try LabelMatchers.parse(texts.joined(separator: ",")) } catch {
            for text in texts {
                do { _ = try LabelMatchers.parse(text) } catch let single {
                    throw ControlFailure("matchers: \"\(text)\": \(single)")
                }
            }
            throw ControlFailure("matchers: \(error)")
        }
        let draft = SilenceDraft(matchers: parsed.matchers.map { MatcherInput(name: $0.name, value: $0.value, type: $0.type) },
                                 startsAt: Timestamp(nanoseconds: 0), endsAt: Timestamp(nanoseconds: 1),
                                 createdBy: "preview", comment: "preview")
        do { return try SilenceBook.validate(draft) } catch {
            throw ControlFailure("matchers: \(error.message)")
        }
    }
}
