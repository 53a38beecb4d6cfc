import Foundation
import Logging
import VigilBus
import VigilCore
import VigilPluginHost
import VigilStore

/// The containment actions the daemon performs on its own state. Each returns what it did, its
/// evidence and how to undo it; each honours `dry_run` by saying what it would do and changing
/// nothing. See Docs/containment.md.
struct BuiltInActions: Sendable {
    let store: Store
    let host: PluginHost?
    let bus: EventBus?
    let breakers: CircuitBreakers
    let settings: ContainmentSettings
    let stateDirectory: String
    let clock: any VigilClock
    let logger: Logger

    func run(_ name: String, _ c: ActionContext) async -> ActionOutcome {
        do {
            switch name {
            case "isolate_affected_plugins": return try await isolatePlugins(c)
            case "backup_current_state": return try await Self.offPool { try backup(c) }
            case "enable_enhanced_logging": return await enhancedLogging(c)
            case "implement_circuit_breakers": return try await circuitBreakers(c)
            case "reduce_eventbus_throughput": return reduceThroughput(c)
            case "disable_non_critical_plugins": return try await disableNonCritical(c)
            case "stop_write_operations": return try await Self.offPool { try gate(.holding, c) }
            case "isolate_affected_storage": return try await Self.offPool { try isolateStorage(c) }
            case "enable_read_only_mode": return try await Self.offPool { try gate(.readOnly, c) }
            default: return .unavailable("no built-in \(name)")
            }
        } catch {
            return ActionOutcome(ok: false, detail: "\(error)")
        }
    }

    /// The serial queue blocking database and file work runs on (backups, integrity checks):
    /// never on the cooperative pool, whose threads (two on a 2-core host) would otherwise wait
    /// on the database's reader pool while the readers' owners wait for a cooperative thread.
    static let blockingWork = DispatchQueue(label: "vigil.response.blocking")

    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            blockingWork.async { continuation.resume(with: Result { try body() }) }
        }
    }

    // MARK: plugins

    /// Plugins the incident is about, as the daemon itself established it: its `plugin` label and
    /// the `plugin` labels of the signal series in its evidence. Plugins cannot set a `plugin`
    /// label (it is reserved), so these come from the daemon's own signals (breaches, failure
    /// rates, quarantines) or an operator; what an action or notifier plugin wrote into its own
    /// result evidence is never read here.
    static func affectedPlugins(_ incident: Incident, evidence: [EvidenceRecord], loaded: Set<String>) -> [String] {
        var names: Set<String> = []
        if let p = incident.labels["plugin"] { names.insert(p) }
        for e in evidence where e.kind == "signal" || e.kind == "signals" {
            guard e.source.hasPrefix("rule:"),
                  let v = try? JSONDecoder().decode(JSONValue.self, from: Data(e.content.utf8)),
                  case .array(let series)? = v.objectValue?["series"] else { continue }
            for labels in series {
                if let s = labels.objectValue?["plugin"]?.stringValue { names.insert(s) }
            }
        }
        return names.filter(loaded.contains).sorted()
    }

    private func loadedPlugins() async -> [PluginStatus] { await host?.statuses() ?? [] }

    private func isolatePlugins(_ c: ActionContext) async throws -> ActionOutcome {
        guard let host else { return .unavailable("no plugin host") }
        let statuses = await loadedPlugins()
        let names = Self.affectedPlugins(c.incident, evidence: c.evidence, loaded: Set(statuses.map(\.name)))
        guard !names.isEmpty else {
            return ActionOutcome(ok: true, detail: "no loaded plugin is named in the incident's labels or evidence",
                                 evidence: ["plugins": .array([])])
        }
        let already = names.filter { n in statuses.first { $0.name == n }?.state == .quarantined }
        let todo = names.filter { !already.contains($0) }
        if c.dryRun {
            return ActionOutcome(ok: true, detail: "would quarantine \(todo.joined(separator: ", "))"
                                 + (already.isEmpty ? "" : " (already quarantined: \(already.joined(separator: ", ")))"),
                                 evidence: ["plugins": .array(todo.map { .string($0) })])
        }
        for name in todo { try await host.quarantine(name, reason: "isolate_affected_plugins for \(c.incident.id)") }
        var detail = todo.isEmpty ? "" : "quarantined \(todo.joined(separator: ", "))"
        if !already.isEmpty { detail += (detail.isEmpty ? "" : "; ") + "already quarantined: \(already.joined(separator: ", "))" }
        return ActionOutcome(ok: true, detail: detail,
                             evidence: ["quarantined": .array(todo.map { .string($0) }),
                                        "already_quarantined": .array(already.map { .string($0) })],
                             undo: todo.isEmpty ? nil : .object(["enable": .array(todo.map { .string($0) })]))
    }

    private func disableNonCritical(_ c: ActionContext) async throws -> ActionOutcome {
        guard let host else { return .unavailable("no plugin host") }
        // Action plugins stay: the containment sequence itself needs them.
        let targets = await loadedPlugins().filter { s in
            !s.critical && s.kind != .action && s.state != .disabled && s.state != .quarantined
        }.map(\.name)
        guard !targets.isEmpty else {
            return ActionOutcome(ok: true, detail: "no running plugin has critical: false", evidence: ["disabled": .array([])])
        }
        if c.dryRun {
            return ActionOutcome(ok: true, detail: "would stop \(targets.joined(separator: ", "))",
                                 evidence: ["plugins": .array(targets.map { .string($0) })])
        }
        for name in targets { try await host.disable(name) }
        return ActionOutcome(ok: true, detail: "stopped \(targets.joined(separator: ", ")) (critical: false)",
                             evidence: ["disabled": .array(targets.map { .string($0) })],
                             undo: .object(["enable": .array(targets.map { .string($0) })]))
    }

    private func circuitBreakers(_ c: ActionContext) async throws -> ActionOutcome {
        let statuses = await loadedPlugins()
        let affected = Set(Self.affectedPlugins(c.incident, evidence: c.evidence, loaded: Set(statuses.map(\.name))))
        var opened: [JSONValue] = []
        var notifiers: [String] = []
        var stopped: [String] = []
        for s in statuses where s.state != .quarantined && s.state != .disabled {
            let backingOff = if case .backingOff = s.state { true } else { false }
            let failing = s.failureRate >= settings.breakerFailureRate || backingOff
                || breakers.breaker(s.name).consecutiveFailures > 0
            // Action plugins stay: the containment sequence itself needs them.
            guard s.kind != .action, failing || affected.contains(s.name) else { continue }
            opened.append(.object(["plugin": .string(s.name), "kind": .string(s.kind.rawValue),
                                   "failure_rate": .number(s.failureRate), "state": .string(s.state.name)]))
            if s.kind == .notifier { notifiers.append(s.name) } else { stopped.append(s.name) }
        }
        let openFor = DurationText.format(settings.breakerOpenFor)
        guard !opened.isEmpty else {
            return ActionOutcome(ok: true, detail: "no failing notifier or plugin (failure rate below "
                                 + "\(settings.breakerFailureRate)); every breaker stays closed",
                                 evidence: ["opened": .array([]), "threshold": .number(settings.breakerFailureRate)])
        }
        let names = (notifiers + stopped).joined(separator: ", ")
        if c.dryRun {
            return ActionOutcome(ok: true, detail: "would open the breakers of \(names) for \(openFor)",
                                 evidence: ["opened": .array(opened)])
        }
        for n in notifiers { breakers.open(n, now: c.now, reason: "implement_circuit_breakers for \(c.incident.id)") }
        for n in stopped {
            try await host?.disable(n)
            breakers.open(n, now: c.now, reason: "implement_circuit_breakers for \(c.incident.id)")
        }
        return ActionOutcome(ok: true, detail: "opened the breakers of \(names) for \(openFor), then half-open",
                             evidence: ["opened": .array(opened), "open_for": .string(openFor),
                                        "half_open_at": .string((c.now + settings.breakerOpenFor).rfc3339)],
                             undo: .object(["close": .array(notifiers.map { .string($0) }),
                                            "enable": .array(stopped.map { .string($0) })]))
    }

    // MARK: bus and logging

    private func reduceThroughput(_ c: ActionContext) -> ActionOutcome {
        guard let bus else { return .unavailable("no event bus") }
        let before = bus.telemetryAdmission
        // From the config a number; from `vigil actions run --param keep_one_in=4` a string.
        let given = c.params["keep_one_in"]
        guard let n = given.map({ $0.doubleValue.flatMap { Int(exactly: $0) } ?? $0.stringValue.flatMap { Int($0) } })
                ?? settings.telemetryKeepOneIn, (2...1_000_000).contains(n) else {
            return ActionOutcome(ok: false, detail: "keep_one_in must be a whole number from 2 to 1000000 (got \(given ?? .null))")
        }
        if c.dryRun {
            return ActionOutcome(ok: true, detail: "would admit 1 telemetry event in \(n) (now 1 in \(before))",
                                 evidence: ["keep_one_in": .number(Double(n))])
        }
        bus.setTelemetryAdmission(keepOneIn: n)
        return ActionOutcome(ok: true, detail: "telemetry admission lowered to 1 event in \(n) (was 1 in \(before)); "
                             + "security and incident lanes unchanged",
                             evidence: ["keep_one_in": .number(Double(n)), "before": .number(Double(before)),
                                        "throttled_so_far": .number(Double(bus.throttledTelemetry))],
                             undo: .object(["keep_one_in": .number(Double(before))]))
    }

    private func enhancedLogging(_ c: ActionContext) async -> ActionOutcome {
        let control = AdjustableLogLevel.shared
        let before = control.level
        let target = Logger.Level(rawValue: settings.enhancedLogLevel) ?? .debug
        let level = min(before, target)
        let statuses = await loadedPlugins()
        let plugins = Self.affectedPlugins(c.incident, evidence: c.evidence, loaded: Set(statuses.map(\.name)))
        let revertAt = c.now + settings.enhancedLoggingFor
        var snapshot: [String: JSONValue] = [:]
        for s in statuses where plugins.contains(s.name) {
            snapshot[s.name] = .object(["state": .string(s.state.name), "failure_rate": .number(s.failureRate),
                                        "syscalls": .object(s.syscalls.mapValues { .number(Double($0)) })])
        }
        let scope = plugins.isEmpty ? "the daemon" : "the daemon and plugin(s) \(plugins.joined(separator: ", "))"
        if c.dryRun {
            return ActionOutcome(ok: true, detail: "would log at \(level) for \(scope) until \(revertAt.rfc3339)",
                                 evidence: ["level": .string(level.rawValue), "plugins": .array(plugins.map { .string($0) })])
        }
        control.level = level
        await host?.setEnhancedLogging(Set(plugins), enabled: true)
        logger.notice("enhanced logging on", metadata: ["incident": "\(c.incident.id)", "level": "\(level)",
                                                        "until": "\(revertAt.rfc3339)"])
        return ActionOutcome(ok: true, detail: "logging at \(level) (was \(before)) for \(scope) until \(revertAt.rfc3339)",
                             evidence: ["level": .string(level.rawValue), "before": .string(before.rawValue),
                                        "plugins": .array(plugins.map { .string($0) }), "plugin_state": .object(snapshot),
                                        "revert_at": .string(revertAt.rfc3339)],
                             undo: .object(["log_level": .string(before.rawValue), "plugins": .array(plugins.map { .string($0) }),
                                            "revert_at": .string(revertAt.rfc3339)]))
    }

    // MARK: storage

    var backupDirectory: String {
        settings.backupDirectory ?? (stateDirectory as NSString).appendingPathComponent("backups")
    }

    private func backup(_ c: ActionContext) throws -> ActionOutcome {
        let dir = backupDirectory
        if c.dryRun {
            return ActionOutcome(ok: true, detail: "would back \(store.path) up into \(dir)"
                                 + (settings.backupPaths.isEmpty ? "" : " with \(settings.backupPaths.joined(separator: ", "))"),
                                 evidence: ["directory": .string(dir)])
        }
        if !c.manual, let recent = recentBackup(dir, now: c.now) {
            return ActionOutcome(ok: recent.integrity == "ok",
                                 detail: "reused the backup taken \(recent.createdAt) (within \(DurationText.format(settings.backupReuseWithin))): "
                                     + "\(recent.file) (sha256 \(recent.sha256.prefix(12))…, integrity \(recent.integrity))",
                                 evidence: ["file": .string(recent.file), "sha256": .string(recent.sha256), "reused": .bool(true),
                                            "integrity_check": .string(recent.integrity),
                                            "row_counts": .object(recent.rowCounts.mapValues { .number(Double($0)) })])
        }
        let manifest = try store.checksummedBackup(into: dir, label: c.incident.id, now: c.now)
        var evidence: [String: JSONValue] = [
            "file": .string(manifest.file), "sha256": .string(manifest.sha256), "bytes": .number(Double(manifest.bytes)),
            "integrity_check": .string(manifest.integrity),
            "row_counts": .object(manifest.rowCounts.mapValues { .number(Double($0)) }),
        ]
        var copied: [JSONValue] = []
        if !settings.backupPaths.isEmpty {
            let folder = manifest.file + ".files"
            for path in settings.backupPaths {
                copied += try Self.copyTree(path, into: folder)
            }
            evidence["files"] = .array(copied)
        }
        let pruned = prune(dir)
        if !pruned.isEmpty { evidence["pruned"] = .array(pruned.map { .string($0) }) }
        guard manifest.integrity == "ok" else {
            return ActionOutcome(ok: false, detail: "backup written to \(manifest.file) but its integrity check says: "
                                 + manifest.integrity, evidence: evidence)
        }
        return ActionOutcome(ok: true, detail: "backed up to \(manifest.file) (sha256 \(manifest.sha256.prefix(12))…, "
                             + "integrity ok\(copied.isEmpty ? "" : ", \(copied.count) file(s) copied"))", evidence: evidence)
    }

    /// The newest backup of `dir` if it was taken within `backup.reuse_within`, checked again.
    private func recentBackup(_ dir: String, now: Timestamp) -> BackupManifest? {
        guard settings.backupReuseWithin > .zero else { return nil }
        guard let newest = Store.backups(in: dir).last else { return nil }
        let file = (dir as NSString).appendingPathComponent(newest)
        guard let data = FileManager.default.contents(atPath: file + ".json"),
              let recorded = try? JSONDecoder().decode(BackupManifest.self, from: data),
              let taken = RFC3339.parse(recorded.createdAt), now - taken <= settings.backupReuseWithin, now >= taken,
              let checked = try? Store.verifyBackup(file, createdAt: taken), checked.sha256 == recorded.sha256 else { return nil }
        return checked
    }

    /// Copies `path` (a file or a folder, recursively) under `folder`, keeping its absolute
    /// path; returns each file with its SHA-256.
    static func copyTree(_ path: String, into folder: String) throws -> [JSONValue] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
            return [.object(["path": .string(path), "error": .string("does not exist")])]
        }
        var files: [String] = []
        if isDir.boolValue {
            for case let rel as String in fm.enumerator(atPath: path) ?? FileManager.DirectoryEnumerator() {
                let full = (path as NSString).appendingPathComponent(rel)
                var d: ObjCBool = false
                if fm.fileExists(atPath: full, isDirectory: &d), !d.boolValue { files.append(full) }
            }
        } else {
            files = [path]
        }
        var out: [JSONValue] = []
        for file in files.sorted() {
            let target = folder + file
            try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if fm.fileExists(atPath: target) { try fm.removeItem(atPath: target) }
            try fm.copyItem(atPath: file, toPath: target)
            out.append(.object(["path": .string(file), "sha256": .string(try SHA256Digest.file(target))]))
        }
        return out
    }

    /// Keeps the newest `keepBackups` backups of `dir` (with their checksum, manifest and files).
    private func prune(_ dir: String) -> [String] {
        let fm = FileManager.default
        let dbs = Store.backups(in: dir)
        guard dbs.count > settings.keepBackups else { return [] }
        let old = dbs.prefix(dbs.count - settings.keepBackups)
        for name in old {
            let base = (dir as NSString).appendingPathComponent(name)
            for suffix in ["", ".sha256", ".json", ".files"] { try? fm.removeItem(atPath: base + suffix) }
        }
        return Array(old)
    }

    private func gate(_ target: StoreWriteGate, _ c: ActionContext) throws -> ActionOutcome {
        let before = store.writeGate
        let what = target == .holding ? "non-incident writes are held until the undo (nothing is lost)"
            : "non-incident writes are refused until the undo"
        if before.rawValue >= target.rawValue {
            return ActionOutcome(ok: true, detail: "the store is already \(before)", evidence: ["write_gate": .string("\(before)")])
        }
        if c.dryRun {
            return ActionOutcome(ok: true, detail: "would set the store's write gate to \(target): \(what)",
                                 evidence: ["write_gate": .string("\(target)")])
        }
        try store.setWriteGate(target)
        return ActionOutcome(ok: true, detail: "store \(store.path): \(what); incident records are still written",
                             evidence: ["write_gate": .string("\(target)"), "before": .string("\(before)")],
                             undo: .object(["write_gate": .number(Double(before.rawValue))]))
    }

    private func isolateStorage(_ c: ActionContext) throws -> ActionOutcome {
        let dir = (stateDirectory as NSString).appendingPathComponent("isolated")
        if c.dryRun {
            return ActionOutcome(ok: true, detail: "would set a read-only copy of \(store.path) aside in \(dir)",
                                 evidence: ["directory": .string(dir)])
        }
        let live = try store.integrityCheck()
        let manifest = try store.checksummedBackup(into: dir, label: "isolated-\(c.incident.id)", now: c.now)
        chmod(manifest.file, 0o400)
        return ActionOutcome(ok: true, detail: "the store as it was is set aside read-only in \(manifest.file) "
                             + "(sha256 \(manifest.sha256.prefix(12))…); live integrity check: \(live)",
                             evidence: ["file": .string(manifest.file), "sha256": .string(manifest.sha256),
                                        "live_integrity_check": .string(live),
                                        "row_counts": .object(manifest.rowCounts.mapValues { .number(Double($0)) })])
    }

    // MARK: undo

    func undo(_ name: String, _ spec: JSONValue) async -> ActionOutcome {
        do {
            var done: [String] = []
            if let names = spec["enable"]?.arrayValue?.compactMap(\.stringValue), !names.isEmpty {
                for n in names {
                    try await host?.enable(n)
                    breakers.close(n)
                }
                done.append("started \(names.joined(separator: ", ")) again")
            }
            if let names = spec["close"]?.arrayValue?.compactMap(\.stringValue), !names.isEmpty {
                for n in names { breakers.close(n) }
                done.append("closed the breakers of \(names.joined(separator: ", "))")
            }
            if let n = spec["keep_one_in"]?.doubleValue.flatMap({ Int(exactly: $0) }), let bus {
                bus.setTelemetryAdmission(keepOneIn: n)
                done.append("telemetry admission back to 1 in \(n)")
            }
            if let level = spec["log_level"]?.stringValue.flatMap(Logger.Level.init(rawValue:)) {
                AdjustableLogLevel.shared.level = level
                let plugins = Set(spec["plugins"]?.arrayValue?.compactMap(\.stringValue) ?? [])
                await host?.setEnhancedLogging(plugins, enabled: false)
                done.append("log level back to \(level)")
            }
            if let g = spec["write_gate"]?.doubleValue.flatMap({ UInt8(exactly: $0) }), let gate = StoreWriteGate(rawValue: g) {
                let held = store.heldWrites
                let store = self.store
                try await Self.offPool { try store.setWriteGate(gate) }
                done.append("store write gate back to \(gate)" + (held > 0 ? " (\(held) held write(s) written)" : ""))
            }
            return ActionOutcome(ok: true, detail: done.isEmpty ? "nothing to undo" : done.joined(separator: "; "))
        } catch {
            return ActionOutcome(ok: false, detail: "\(error)")
        }
    }
}
