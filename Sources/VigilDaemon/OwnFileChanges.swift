import Foundation
import VigilCore
import VigilStore

/// Changes to the daemon's own files (its configuration, rule files, runbooks, templates: what a
/// reload reads) that a tampering detector plugin reported as `configuration_tampering_detected`.
///
/// An operator's change is one that an approved reload loads: whoever may send the daemon
/// `SIGHUP` (root, or the daemon's own user) approves exactly the content the reload read. So
/// such a signal is held for ``window``: a reload within it that finds the file with the
/// reported new content (`new_sha256`) approves the change and the signal is dropped; otherwise
/// it goes on to the rules when the window ends and opens the tampering incident. A change to any
/// other path (`/etc/passwd`, SSH keys, plugin manifests, which a reload does not read) is never
/// held, nor is a report from anyone but a plugin (an HTTP sender or `vigil emit`). A later
/// report of a held path never moves its deadline: a path changed again and again is released
/// when the first report's window ends.
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

    /// The daemon's own files a reload reads: the folder of the configuration file (which holds
    /// the shipped rule files, runbooks and templates) and each file and folder it names.
    static func ownPaths(configFile: String, ruleFiles: [String], containmentFile: String?, templates: String?,
                         runbooks: String?) -> [String] {
        let configFolder = ((configFile as NSString).deletingLastPathComponent)
        return [configFolder] + ruleFiles + [containmentFile, templates, runbooks].compactMap { $0 }
    }

    func isOwn(_ path: String) -> Bool {
        guard path.hasPrefix("/") else { return false }
        let p = (path as NSString).standardizingPath
        return ownPaths.contains { own in p == own || p.hasPrefix(own == "/" ? own : own + "/") }
    }

    /// Holds a change to an own file (true), or leaves it to the rules (false). A second report
    /// of the same path replaces the first's content (the reload must find the latest) but keeps
    /// its deadline.
    mutating func hold(_ event: Event, path: String, newHash: String, now: Timestamp) -> Bool {
        guard isOwn(path), held[path] != nil || held.count < capacity else { return false }
        held[path] = Held(event: event, newHash: newHash.lowercased(), until: held[path]?.until ?? now + window)
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

    /// What a reload finds at a held path.
    enum Found: Sendable, Equatable {
        case absent
        /// A regular file and the SHA-256 of its content (hex).
        case file(String)
        /// Anything else: a folder, a symlink, a FIFO, an unreadable or oversized file.
        case other
    }

    /// An approved reload looked at the files as they are: each held change whose file now has
    /// its reported new content — a regular file with that SHA-256, or, for a reported `-` (no
    /// content), no file at all — is approved and dropped. Anything else stays held. Returns the
    /// approved paths.
    mutating func approve(current: [String: Found]) -> [String] {
        var approved: [String] = []
        for (path, h) in held {
            switch current[path] {
            case .absent? where h.newHash == "-" || h.newHash.isEmpty: approved.append(path)
            case .file(let hash)? where Self.isSHA256(h.newHash) && hash == h.newHash: approved.append(path)
            default: break
            }
        }
        for path in approved { held.removeValue(forKey: path) }
        return approved.sorted()
    }

    static func isSHA256(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// Largest file a reload hashes to approve a change (configuration files are small).
    static let maximumHashedBytes = 16 << 20

    /// What is at `path` now, without following a symlink and without blocking on a FIFO or a
    /// device: a blocking call (open, read), so run it off the cooperative pool (``look(at:)``).
    static func found(at path: String) -> Found {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            var st = stat()
            return errno == ENOENT && lstat(path, &st) != 0 && errno == ENOENT ? .absent : .other
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_size <= maximumHashedBytes,
              let data = try? handle.read(upToCount: maximumHashedBytes + 1), data.count <= maximumHashedBytes,
              let hash = try? SHA256Digest.hex(of: data) else { return .other }
        return .file(hash)
    }

    /// ``found(at:)`` for each path, on a thread of its own.
    static func look(at paths: [String]) async -> [String: Found] {
        await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .utility).async {
                continuation.resume(returning: Dictionary(uniqueKeysWithValues: paths.map { ($0, found(at: $0)) }))
            }
        }
    }
}
