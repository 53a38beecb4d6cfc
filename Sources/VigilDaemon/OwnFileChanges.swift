import Foundation
import VigilCore

/// Changes to the daemon's own files (its configuration, rule files, runbooks, templates, plugin
/// manifests) that a tampering detector reported as `configuration_tampering_detected`.
///
/// An operator's change is one that an approved reload loads: whoever may send the daemon
/// `SIGHUP` (root, or the daemon's own user) approves exactly the content the reload read. So
/// such a signal is held for ``window``: a reload within it that finds the file with the
/// reported new content (`new_sha256`) approves the change and the signal is dropped; otherwise
/// it goes on to the rules when the window ends and opens the tampering incident. A change to any
/// other path (`/etc/passwd`, SSH keys) is never held.
struct OwnFileChanges: Sendable {
    struct Held: Sendable {
        var event: Event
        var newHash: String
        var until: Timestamp
    }

    /// Absolute paths of the daemon's own files and folders (a folder covers what is below it).
    var ownPaths: [String]
    var window: Duration
    /// Most changes held at once; past it, a change goes straight to the rules.
    var capacity = 1_000
    private(set) var held: [String: Held] = [:]

    init(ownPaths: [String], window: Duration) {
        self.ownPaths = ownPaths.map { ($0 as NSString).standardizingPath }.filter { !$0.isEmpty }
        self.window = window
    }

    /// The daemon's own files by a configuration: the folder of the configuration file (which
    /// holds the shipped rule files, runbooks and templates), each file and folder it names, and
    /// the plugin folders.
    static func ownPaths(configFile: String, ruleFiles: [String], containmentFile: String?, templates: String?,
                         runbooks: String?, pluginDirectories: [String]) -> [String] {
        let configFolder = ((configFile as NSString).deletingLastPathComponent)
        return [configFolder] + ruleFiles + [containmentFile, templates, runbooks].compactMap { $0 } + pluginDirectories
    }

    func isOwn(_ path: String) -> Bool {
        guard path.hasPrefix("/") else { return false }
        let p = (path as NSString).standardizingPath
        return ownPaths.contains { own in p == own || p.hasPrefix(own == "/" ? own : own + "/") }
    }

    /// Holds a change to an own file (true), or leaves it to the rules (false). A second report
    /// of the same path replaces the first and restarts its window.
    mutating func hold(_ event: Event, path: String, newHash: String, now: Timestamp) -> Bool {
        guard isOwn(path), held[path] != nil || held.count < capacity else { return false }
        held[path] = Held(event: event, newHash: newHash.lowercased(), until: now + window)
        return true
    }

    /// The held changes whose window has ended, stamped `now`, in path order; they leave the hold.
    mutating func due(now: Timestamp) -> [Event] {
        let paths = held.filter { $0.value.until <= now }.keys.sorted()
        return paths.compactMap { path in
            guard var e = held.removeValue(forKey: path)?.event else { return nil }
            e.time = now
            return e
        }
    }

    /// When the next held change is due.
    var nextDue: Timestamp? { held.values.map(\.until).min() }

    /// An approved reload read the files as they are: each held change whose file now has its
    /// reported new content (or is absent, for a reported deletion: an empty or `-` hash) is
    /// approved and dropped. `current` maps each held path to its content's SHA-256 (nil: absent
    /// or unreadable). Returns the approved paths.
    mutating func approve(current: [String: String?]) -> [String] {
        var approved: [String] = []
        for (path, h) in held {
            guard let now = current[path] else { continue }
            let deleted = h.newHash.isEmpty || h.newHash == "-"
            if (deleted && now == nil) || (!deleted && now == h.newHash) {
                approved.append(path)
            }
        }
        for path in approved { held.removeValue(forKey: path) }
        return approved.sorted()
    }
}
