import VigilControl
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VigilBus
import VigilConfig
import VigilCore
import VigilIncidents
import VigilPluginHost
import VigilPluginProtocol
import VigilStore

/// Finds plugin folders: each configured folder that holds a `plugin.yaml` is a plugin, and so is
/// each of its subfolders that holds one. A manifest with errors is logged with its
/// `file:line:column` and skipped; the others load.
enum PluginCatalog {
    static func discover(in directories: [String], logger: Logger) -> [PluginManifest] {
        var manifests: [PluginManifest] = []
        var seen: Set<String> = []
        for directory in directories {
            var candidates: [String] = []
            if FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("plugin.yaml")) {
                candidates = [directory]
            } else if let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) {
                candidates = entries.sorted().map { (directory as NSString).appendingPathComponent($0) }
                    .filter { FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent("plugin.yaml")) }
            } else {
                logger.error("plugin folder not readable", metadata: ["folder": "\(directory)"])
            }
            for candidate in candidates {
                do {
                    let manifest = try PluginManifestFile.load(directory: candidate)
                    guard seen.insert(manifest.name).inserted else {
                        logger.error("two plugins are named \(manifest.name); the second is skipped", metadata: ["folder": "\(candidate)"])
                        continue
                    }
                    manifests.append(manifest)
                } catch {
                    for e in error.errors { logger.error("plugin manifest refused: \(e)") }
                }
            }
        }
        return manifests
    }

    /// Splits `manifests` into those the operator policy admits and those it refuses (with
    /// every reason, logged): a refused plugin is never started, and `vigil plugins show` says why.
    static func admit(_ manifests: [PluginManifest], guard launchGuard: PluginLaunchGuard,
                      logger: Logger) -> (admitted: [PluginManifest], refused: [RefusedPlugin]) {
        var admitted: [PluginManifest] = []
        var refused: [RefusedPlugin] = []
        for manifest in manifests {
            let violations = launchGuard.violations(of: manifest)
            if violations.isEmpty {
                admitted.append(manifest)
                continue
            }
            for v in violations { logger.error("plugin refused by the plugin policy: \(v)", metadata: ["plugin": "\(manifest.name)"]) }
            refused.append(RefusedPlugin(manifest: manifest, violations: violations))
        }
        return (admitted, refused)
    }
}

/// A plugin whose manifest asks beyond the operator policy: loaded for `vigil plugins` to
/// show, never started.
struct RefusedPlugin: Sendable {
    let manifest: PluginManifest
    let violations: [PolicyViolation]
}

/// The plugin registry backed by the store: uids, enablement and quarantines survive restarts.
final class StorePluginRegistry: PluginRegistry {
    let store: Store
    let range: ClosedRange<UInt32>
    let clock: any VigilClock

    init(store: Store, range: ClosedRange<UInt32>, clock: any VigilClock) {
        self.store = store
        self.range = range
        self.clock = clock
    }

    func record(for plugin: String) throws -> PluginRecordSummary {
        let mine = try store.plugin(named: plugin)
        if let r = mine, let uid = UInt32(exactly: r.uid), range.contains(uid),
           !PluginUIDAllocator.localAccountIDs().contains(uid), UIDLease.acquire(uid) {
            return PluginRecordSummary(uid: uid, enabled: r.enabled, quarantine: r.quarantineReason, restarts: r.restarts)
        }
        let all = try store.plugins()
        let recorded = Dictionary(all.compactMap { r in UInt32(exactly: r.uid).map { (r.name, $0) } }, uniquingKeysWith: { a, _ in a })
        let uid = try PluginUIDAllocator.allocate(plugin: plugin, recorded: recorded,
                                                  taken: PluginUIDAllocator.localAccountIDs(), range: range,
                                                  usable: UIDLease.acquire)
        let previous = mine
        let summary = PluginRecordSummary(uid: uid, enabled: previous?.enabled ?? true, quarantine: previous?.quarantineReason,
                                          restarts: previous?.restarts ?? 0)
        try save(plugin, summary, state: "stopped")
        return summary
    }

    func prepare(_ plugins: [String]) {
        let all = (try? store.plugins()) ?? []
        let recorded = Dictionary(all.compactMap { r in UInt32(exactly: r.uid).map { (r.name, $0) } }, uniquingKeysWith: { a, _ in a })
        let accounts = PluginUIDAllocator.localAccountIDs()
        UIDLease.acquire(plugins.map { PluginUIDAllocator.firstChoice(plugin: $0, recorded: recorded, range: range) }
            .filter { !accounts.contains($0) })
    }

    func save(_ plugin: String, _ record: PluginRecordSummary, state: String) throws {
        let now = clock.now().nanoseconds
        let previous = try store.plugin(named: plugin)
        try store.savePlugin(PluginRecord(
            name: plugin, uid: Int64(record.uid), enabled: record.enabled, state: state,
            quarantineReason: record.quarantine,
            quarantinedAt: record.quarantine == nil ? nil : (previous?.quarantinedAt ?? now),
            restarts: record.restarts, updatedAt: now))
    }
}

/// Runs the plugin host for the life of the daemon; at shutdown it stops every plugin first.
struct PluginHostService: Service {
    let host: PluginHost

    func run() async throws {
        await withGracefulShutdownHandler {
            await host.run()
        } onGracefulShutdown: {
            Task { await host.beginShutdown() }
        }
    }
}

/// Delivers notifications through a notifier plugin (`notify` → `result`).
struct NotifierPluginDelivery: NotificationDelivery {
    let plugin: String
    var name: String { "plugin \(plugin)" }
    var breakerKey: String { plugin }
    let channels: Set<String>
    let host: PluginHost
    let ladder: @Sendable () async -> SeverityLadder
    let clock: any VigilClock
    /// Signs the acknowledgement links a page carries (nil: the HTTP server is off, no links).
    var ackLinks: (@Sendable (Incident, [String]) -> [PageAckLink])?
    let payloads = IncidentPayloads()

    func deliver(_ notification: NotificationRecord, incident: Incident?) async throws {
        var view: JSONValue = .null
        if let incident {
            view = try payloads.payload(for: incident, ladder: await ladder(), now: clock.now())
        }
        let links = incident.flatMap { ackLinks?($0, notification.people) } ?? []
        let (payload, body) = Self.request(for: notification, incidentView: view, ackLinks: links)
        let result: PluginResult
        do {
            result = try await host.notify(plugin, incident: payload, title: notification.subject, body: body)
        } catch PluginHostError.notServing(let name, let state) where state == PluginRunState.starting.name {
            throw NotifierStarting("plugin \(name) is starting")
        }
        guard result.ok else {
            // The notifier says sending it again cannot help (an SMTP 5xx, Slack's invalid_auth,
            // PagerDuty's 400): the outbox gives up on it at once and falls back.
            if result.evidence["permanent"]?.boolValue == true { throw PermanentDeliveryFailure("\(plugin): \(result.detail)") }
            throw ControlFailure("\(plugin): \(result.detail)")
        }
    }

    /// The `incident` member and message body of a `notify` request: the incident's view plus
    /// who the notification is for, on which channel, why (`purpose`), and one signed
    /// acknowledgement link per person paged (signed afresh for each attempt: opening it shows a
    /// confirmation page, its button acknowledges as that person).
    static func request(for notification: NotificationRecord, incidentView: JSONValue,
                        ackLinks links: [PageAckLink]) -> (incident: JSONValue, body: String) {
        var body = notification.body
        guard case .object(var members) = incidentView else { return (incidentView, body) }
        members["recipients"] = .array(notification.recipients.map { .string($0) })
        // The view's own `channel` is the incident's chat channel (#inc-…); `channel` here is the
        // notification's, so the chat channel moves to `incident_channel`.
        if let chat = members["channel"], chat != .null { members["incident_channel"] = chat }
        members["channel"] = .string(notification.channel)
        members["notification_id"] = .number(Double(notification.id ?? 0))
        if let purpose = notification.purpose { members["purpose"] = .string(purpose) }
        if !links.isEmpty {
            members["ack_links"] = .array(links.map(\.json))
            body += "\n\n" + links.map { "Acknowledge as \($0.person): \($0.url)" }.joined(separator: "\n")
        }
        return (.object(members), body)
    }
}

extension PluginHostSettings {
    /// The plugin host's settings from the configuration.
    init(_ config: VigilConfiguration, stateDirectory: String) {
        let p = config.plugins
        var policy = SupervisionPolicy()
        let s = p.supervision
        if let v = s.initialBackoff { policy.initialBackoff = v }
        if let v = s.maximumBackoff { policy.maximumBackoff = v }
        if let v = s.crashLoopFailures { policy.crashLoopFailures = v }
        if let v = s.crashLoopWindow { policy.crashLoopWindow = v }
        if let v = s.stableRun { policy.stableRun = v }
        if let v = s.failureRateWindow { policy.failureRateWindow = v }
        if let v = s.failureRateInterval { policy.failureRateInterval = v }
        if let v = s.shutdownGrace { policy.shutdownGrace = v }
        if let v = s.cpuHeldAtQuota { policy.cpuHeldAtQuota = v }
        self.init(launcherPath: p.launcher ?? PluginHostSettings.launcherBesideExecutable(),
                  specDirectory: (stateDirectory as NSString).appendingPathComponent("sandbox"),
                  profilesDirectory: p.sandboxDirectory ?? (config.baseDirectory as NSString).appendingPathComponent("../Sandbox"),
                  maximumFrameBytes: p.maxFrameBytes, policy: policy,
                  syscallWindow: s.syscallWindow ?? .seconds(60))
        let i = p.inputs
        if let v = i.labelsPerEvent { connectionLimits.maximumLabels = v }
        if let v = i.labelValueBytes { connectionLimits.maximumLabelValueBytes = v }
        if let v = i.seriesBudget { connectionLimits.internBudget = v }
        if let v = i.refusedEventsTolerated { connectionLimits.refusedEventsTolerated = v }
        if let v = i.controlFramesPerSecond {
            connectionLimits.controlFramesPerSecond = Double(v)
            connectionLimits.controlFrameBurst = Double(v) * 2
        }
    }
}

/// The incident part of a page, encoded once for all the pages of one incident that say the
/// same: an incident opens by paging three or four people at once, and encoding its view was a
/// twentieth of the daemon's work per alert in a storm. A view depends on the time only through
/// its response clock (state and whole seconds left), so two pages whose incident, ladder and
/// clock are equal carry equal views. Bounded: at most ``capacity`` incidents are kept.
final class IncidentPayloads: Sendable {
    private struct Entry {
        var incident: Incident
        var ladder: SeverityLadder
        var clock: ClockKey
        var payload: JSONValue
    }

    private struct ClockKey: Equatable {
        var state: ResponseClock.State
        var remainingSeconds: Int?

        init(_ incident: Incident, now: Timestamp) {
            let clock = ResponseClock(incident, now: now)
            state = clock.state
            remainingSeconds = clock.remaining.map { Int($0.inSeconds.rounded(.down)) }
        }
    }

    static let capacity = 256
    private let entries = Mutex<[String: Entry]>([:])
    private let encoded = Atomic<Int>(0)
    /// How many views were encoded (not served from what was kept).
    var encodings: Int { encoded.load(ordering: .relaxed) }
    /// How many incidents' views are kept.
    var kept: Int { entries.withLock { $0.count } }

    func payload(for incident: Incident, ladder: SeverityLadder, now: Timestamp) throws -> JSONValue {
        let clock = ClockKey(incident, now: now)
        if let hit = entries.withLock({ $0[incident.id] }), hit.clock == clock, hit.ladder == ladder, hit.incident == incident {
            return hit.payload
        }
        let payload = try JSONValue.encoding(IncidentView(incident, ladder: ladder, now: now))
        encoded.add(1, ordering: .relaxed)
        entries.withLock { kept in
            if kept.count >= Self.capacity, kept[incident.id] == nil { kept.removeAll(keepingCapacity: true) }
            kept[incident.id] = Entry(incident: incident, ladder: ladder, clock: clock, payload: payload)
        }
        return payload
    }
}
