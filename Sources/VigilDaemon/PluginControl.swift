import VigilControl
import Foundation
import VigilCore
import VigilPluginHost

extension PluginView {
    /// Every field empty: the two makers below fill it in.
    static var blank: PluginView {
        PluginView(name: "", kind: "", version: "", description: "", directory: "", critical: false, state: "",
                   cause: nil, causeCategory: nil, pid: nil, uid: nil, since: "", restartAt: nil, starts: 0,
                   restarts: 0, exits: 0, failures: 0, timeouts: 0, protocolViolations: 0, breaches: 0,
                   eventsReceived: 0, eventsRefused: 0, failureRate: 0, failuresByCause: [:], syscalls: [:],
                   profile: "", network: "", policyViolations: nil)
    }

    /// A plugin the policy refused: never started, so no counters.
    init(refused r: RefusedPlugin) {
        self = .blank
        let m = r.manifest
        name = m.name
        kind = m.kind.rawValue
        version = m.version
        description = m.description
        directory = m.directory
        critical = m.critical
        state = "refused"
        cause = "refused by the plugin policy: " + r.violations.map { "\($0.field) asks for \($0.asked); the policy allows \($0.allowed)" }
            .joined(separator: "; ")
        causeCategory = "policy"
        since = ""
        (starts, restarts, exits, failures, timeouts, protocolViolations, breaches) = (0, 0, 0, 0, 0, 0, 0)
        eventsReceived = 0
        eventsRefused = 0
        failureRate = 0
        failuresByCause = [:]
        syscalls = [:]
        profile = m.sandbox.profile ?? m.kind.rawValue
        network = m.sandbox.network.rawValue
        policyViolations = r.violations
    }

    init(_ s: PluginStatus, manifest: PluginManifest?, uid: UInt32?) {
        self = .blank
        name = s.name
        kind = s.kind.rawValue
        version = manifest?.version ?? ""
        description = manifest?.description ?? ""
        directory = manifest?.directory ?? ""
        critical = s.critical
        state = s.state.name
        cause = s.lastCause?.description
        causeCategory = s.lastCause?.category
        pid = s.pid
        self.uid = uid
        since = s.since.rfc3339
        if case .backingOff(let until) = s.state { restartAt = until.rfc3339 }
        starts = s.counters.starts
        restarts = s.counters.restarts
        exits = s.counters.exits
        failures = s.counters.failures
        timeouts = s.counters.timeouts
        protocolViolations = s.counters.protocolViolations
        breaches = s.counters.breaches
        eventsReceived = s.counters.eventsReceived
        eventsRefused = s.counters.eventsRefused
        failureRate = s.failureRate
        failuresByCause = s.counters.failuresByCategory
        syscalls = s.syscalls
        profile = manifest?.sandbox.profile ?? manifest?.kind.rawValue ?? ""
        network = manifest?.sandbox.network.rawValue ?? "none"
        dataFolder = s.dataFolder?.description
        dataWarning = s.dataFolder?.warning
    }
}

/// Answers `plugins.*` control requests against the running plugin host.
struct PluginControl: Sendable {
    let host: PluginHost
    /// Plugins the policy refused, by name; shown, never started.
    let refused: [String: RefusedPlugin]

    /// Where enabling and disabling are recorded as changes (root-cause help).
    let changes: ChangeRecorder?

    init(host: PluginHost, refused: [RefusedPlugin] = [], changes: ChangeRecorder? = nil) {
        self.host = host
        self.changes = changes
        self.refused = Dictionary(refused.map { ($0.manifest.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    func handle(_ request: ControlRequest, actor: String) async throws -> JSONValue {
        switch request.command {
        case "plugins.list":
            var views: [PluginView] = []
            for status in await host.statuses() {
                views.append(PluginView(status, manifest: await host.manifest(status.name), uid: await host.uid(status.name)))
            }
            views += refused.keys.sorted().compactMap { refused[$0].map(PluginView.init(refused:)) }
            return try JSONValue.encoding(views)
        case "plugins.show":
            return try JSONValue.encoding(try await view(try request.string("name")))
        case "plugins.enable", "plugins.disable", "plugins.restart":
            let name = try request.string("name")
            if let r = refused[name] { throw ControlFailure(PluginView(refused: r).cause ?? "refused by the plugin policy") }
            do {
                switch request.command {
                case "plugins.enable": try await host.enable(name)
                case "plugins.disable": try await host.disable(name)
                default: try await host.restart(name)
                }
            } catch {
                throw ControlFailure(error.description)
            }
            switch request.command {
            case "plugins.enable": await changes?.plugin(.pluginEnabled, name: name, actor: actor)
            case "plugins.disable": await changes?.plugin(.pluginDisabled, name: name, actor: actor)
            default: break
            }
            return try JSONValue.encoding(try await view(name))
        default:
            throw ControlFailure("unknown command \"\(request.command)\"; known: plugins.list, plugins.show, "
                + "plugins.enable, plugins.disable, plugins.restart")
        }
    }

    private func view(_ name: String) async throws -> PluginView {
        if let r = refused[name] { return PluginView(refused: r) }
        guard let status = await host.status(name) else {
            let known = await host.statuses().map(\.name)
            throw ControlFailure.notFound("no plugin named \"\(name)\"; loaded: " + (known.isEmpty ? "none" : known.joined(separator: ", ")))
        }
        return PluginView(status, manifest: await host.manifest(name), uid: await host.uid(name))
    }
}
