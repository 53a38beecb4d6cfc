import Foundation
import Logging
import VigilConfig
import VigilCore
import VigilStore

/// Records the changes the daemon itself makes or sees, for root-cause help
/// (Docs/root-cause.md): configuration reloads, plugins enabled or disabled, and plugins whose
/// manifest or executable differ from the last start (an upgrade). Recording is best effort: a
/// failure is logged and never stops the reload or the plugin command it describes.
struct ChangeRecorder: Sendable {
    let store: Store
    let clock: any VigilClock
    let logger: Logger

    /// A reload that was accepted: which top-level sections of the file changed.
    func configurationReloaded(from old: VigilConfiguration, to new: VigilConfiguration, actor: String) async {
        let changed = Self.changedSections(old: old.sourceText, new: new.sourceText)
        let now = clock.now()
        let summary = changed.isEmpty ? "configuration reloaded; no section changed"
            : "configuration reloaded; changed: " + changed.joined(separator: ", ")
        await record(ChangeRecord(time: now, kind: .configReload, subject: new.sourceFile, summary: summary, actor: actor,
                                  detail: changed.isEmpty ? nil : "sections changed: " + changed.joined(separator: ", "),
                                  recordedAt: now))
    }

    /// `vigil plugins enable|disable NAME`, once the host did it.
    func plugin(_ kind: ChangeRecord.Kind, name: String, actor: String) async {
        let now = clock.now()
        await record(ChangeRecord(time: now, kind: kind, subject: name, summary: "plugin \(name) \(kind == .pluginEnabled ? "enabled" : "disabled")",
                                  actor: actor, recordedAt: now))
    }

    /// At start: each plugin's fingerprint (its `plugin.yaml` and executable) against the one
    /// remembered from the last start; a difference is an upgrade. A plugin seen for the first
    /// time is remembered without a change (the first start of a fresh state folder is not news).
    func pluginsStarted(_ manifests: [PluginManifest]) async {
        do {
            let known = try await store.pluginFingerprints()
            let now = clock.now()
            var records: [PluginFingerprintRecord] = []
            var changes: [ChangeRecord] = []
            // Hashing executables is file I/O: on a thread of its own, not the cooperative pool.
            let fingerprints = await ControlCommands.offPool { manifests.map(Self.fingerprint) }
            for (m, fingerprint) in zip(manifests, fingerprints) {
                records.append(PluginFingerprintRecord(name: m.name, version: m.version, fingerprint: fingerprint, seenAt: now))
                guard let before = known[m.name], before.fingerprint != fingerprint else { continue }
                let versions = before.version == m.version ? "version \(m.version), files changed" : "\(before.version) → \(m.version)"
                changes.append(ChangeRecord(time: now, kind: .pluginUpgrade, subject: m.name, summary: "plugin \(m.name) upgraded (\(versions))",
                                            actor: "vigild", detail: "fingerprint \(before.fingerprint.prefix(16)) → \(fingerprint.prefix(16))",
                                            recordedAt: now))
            }
            try await store.savePluginFingerprints(records, changes: changes)
            for c in changes { logger.notice("plugin upgraded", metadata: ["plugin": "\(c.subject)", "change": "\(c.summary)"]) }
        } catch {
            logger.error("could not record plugin fingerprints", metadata: ["error": "\(error)"])
        }
    }

    static func fingerprint(_ m: PluginManifest) -> String {
        let manifest = (m.directory as NSString).appendingPathComponent("plugin.yaml")
        let executable = m.executable.hasPrefix("/") ? m.executable : (m.directory as NSString).appendingPathComponent(m.executable)
        return [manifest, executable].map { (try? SHA256Digest.file($0)) ?? "unreadable" }.joined(separator: ":")
    }

    private func record(_ change: ChangeRecord) async {
        do { _ = try await store.recordChange(change) } catch {
            logger.error("could not record a change", metadata: ["kind": "\(change.kind.rawValue)", "error": "\(error)"])
        }
    }

    /// The top-level keys whose text differs between two configuration files (a key added or
    /// removed counts): what an operator reads to see what a reload changed.
    static func changedSections(old: String, new: String) -> [String] {
        let a = sections(old), b = sections(new)
        return Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
    }

    static func sections(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let first = line.first, first != " ", first != "\t", first != "#", let colon = line.firstIndex(of: ":") {
                current = String(line[..<colon])
                out[current ?? "", default: ""] = ""
            }
            // Comments and blank lines do not change a configuration.
            let trimmed = line.trimmingWhitespace()
            guard let key = current, !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            out[key, default: ""] += line + "\n"
        }
        return out
    }
}
