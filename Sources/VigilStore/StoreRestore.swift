import Foundation
import GRDB
import VigilCore

/// Why a backup is not restored. Each says what is wrong with the file, so the operator knows
/// whether to pick another backup or stop the daemon.
public enum BackupRefusal: Error, CustomStringConvertible, Sendable, Equatable {
    case missing(String)
    case noChecksum(String)
    case malformedChecksum(String)
    case checksumMismatch(file: String, recorded: String, actual: String)
    case notSQLite(String)
    case damaged(file: String, problem: String)
    case notVigil(file: String, problem: String)
    case newerSchema(file: String, unknown: [String])
    case manifestMismatch(file: String, problem: String)
    case daemonRunning(lock: String)
    case failed(String)

    public var description: String {
        switch self {
        case .missing(let f): "\(f): no such backup file"
        case .noChecksum(let f): "\(f): no checksum beside it (\(f).sha256); a backup without one cannot be trusted"
        case .malformedChecksum(let f): "\(f).sha256: not a SHA-256 checksum line (64 hex digits, then the file name)"
        case .checksumMismatch(let f, let recorded, let actual):
            "\(f): checksum mismatch — recorded \(recorded), the file has \(actual); it was damaged or changed after the backup"
        case .notSQLite(let f): "\(f): not an SQLite database (its header is wrong)"
        case .damaged(let f, let problem): "\(f): the database is damaged: \(problem)"
        case .notVigil(let f, let problem): "\(f): not a Vigil database: \(problem)"
        case .newerSchema(let f, let unknown):
            "\(f): made by a newer Vigil (migrations this one does not know: \(unknown.joined(separator: ", ")))"
        case .manifestMismatch(let f, let problem): "\(f): does not match its manifest (\(f).json): \(problem)"
        case .daemonRunning(let lock):
            "the daemon is running (\(lock) is locked); stop vigild before restoring, so its store is not replaced under it"
        case .failed(let why): why
        }
    }
}

/// A backup that passed every check.
public struct VerifiedBackup: Codable, Sendable, Equatable {
    public var file: String
    public var sha256: String
    public var bytes: Int64
    public var integrity: String
    public var migrations: [String]
    public var rowCounts: [String: Int]
}

/// What a restore did.
public struct RestoreOutcome: Codable, Sendable, Equatable {
    public var backup: VerifiedBackup
    public var database: String
    /// Where the store it replaced was moved (nil: there was none).
    public var previousStore: String?
}

/// Backups of Vigil's own state and their restore: a backup is the SQLite file with a
/// `.sha256` beside it (and a `.json` manifest of row counts); restore checks the checksum,
/// the SQLite header, `PRAGMA integrity_check` and the migration history before anything is
/// touched, refuses while a daemon holds the state folder, keeps the replaced store aside, and
/// swaps the file in with a rename after an fsync (the store is the old one or the new one,
/// never half of each).
public enum StoreRestore {
    static let header = Array("SQLite format 3\u{0}".utf8)

    /// The most a backup's `.sha256` or `.json` beside it may hold (read whole).
    static let sidecarLimit = 1 << 20

    /// Checks a backup without changing anything. `sidecars` is where its `.sha256` and `.json`
    /// are when `file` is a copy of it (restore checks its own copy, so what was checked is
    /// what is put in place); messages name `sidecars`.
    public static func verify(_ file: String, sidecars: String? = nil) throws(BackupRefusal) -> VerifiedBackup {
        let name = sidecars ?? file
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw .missing(name)
        }
        guard let checksum = try readSidecar(name + ".sha256"),
              let line = String(data: checksum, encoding: .utf8) else { throw .noChecksum(name) }
        guard let recorded = line.split(whereSeparator: { $0 == " " || $0 == "\n" }).first.map(String.init),
              recorded.count == 64, recorded.allSatisfy({ $0.isHexDigit }) else { throw .malformedChecksum(name) }
        let actual: String
        do { actual = try SHA256Digest.file(file) } catch { throw .failed("\(error)") }
        guard actual == recorded.lowercased() else { throw .checksumMismatch(file: name, recorded: recorded, actual: actual) }
        guard let handle = FileHandle(forReadingAtPath: file) else { throw .failed("cannot read \(file)") }
        let first = (try? handle.read(upToCount: header.count)) ?? nil
        try? handle.close()
        guard let first, Array(first) == header else { throw .notSQLite(name) }

        var config = Configuration()
        config.readonly = true
        let checked: (String, [String], [String: Int], [String])
        do {
            let queue = try DatabaseQueue(path: file, configuration: config)
            defer { try? queue.close() }
            checked = try queue.read { db -> (String, [String], [String: Int], [String]) in
                let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ")
                guard integrity == "ok" else { return (integrity, [], [:], []) }
                guard try db.tableExists("grdb_migrations") else { return (integrity, [], [:], []) }
                let migrations = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
                // Triggers, views and tables: compared with what Vigil's own migrations make.
                let objects = try Row.fetchAll(db, sql: """
                    SELECT type, name, sql FROM sqlite_master
                    WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite_%'
                    """).map { "\($0["type"] as String? ?? "") \($0["name"] as String? ?? "")\u{0}\($0["sql"] as String? ?? "")" }
                var counts: [String: Int] = [:]
                for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'") {
                    counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table.quotedDatabaseIdentifier)") ?? 0
                }
                return (integrity, migrations, counts, objects)
            }
        } catch {
            throw .damaged(file: name, problem: "\(error)")
        }
        let (integrity, migrations, counts, objects) = checked
        guard integrity == "ok" else { throw .damaged(file: name, problem: "integrity check: \(integrity.prefix(400))") }
        guard !migrations.isEmpty else { throw .notVigil(file: name, problem: "it has no migration history") }
        guard migrations.contains("v1-incidents") else {
            throw .notVigil(file: name, problem: "its migrations (\(migrations.prefix(5).joined(separator: ", "))) are not Vigil's")
        }
        let known = Set(Schema.migrator.migrations)
        let unknown = migrations.filter { !known.contains($0) }
        guard unknown.isEmpty else { throw .newerSchema(file: name, unknown: unknown) }
        // A file with Vigil's migration names can still carry a trigger or view of its own,
        // which the daemon would then run: only what the migrations make is accepted.
        if let expected = try? expectedObjects(upTo: migrations) {
            if let extra = objects.first(where: { !expected.contains($0) }) {
                let what = extra.split(separator: "\u{0}", maxSplits: 1).first.map(String.init) ?? extra
                throw .notVigil(file: name, problem: "its schema has \(what), which Vigil's migrations do not make")
            }
        }
        if let data = try readSidecar(name + ".json") {
            guard let manifest = try? JSONDecoder().decode(BackupManifest.self, from: data) else {
                throw .manifestMismatch(file: name, problem: "the manifest beside it (.json) is not a Vigil backup manifest")
            }
            guard manifest.sha256 == actual else {
                throw .manifestMismatch(file: name, problem: "the manifest records sha256 \(manifest.sha256)")
            }
            for (table, count) in manifest.rowCounts.sorted(by: { $0.key < $1.key }) where counts[table] != count {
                throw .manifestMismatch(file: name, problem: "\(table) has \(counts[table] ?? 0) rows, the manifest says \(count)")
            }
        }
        let bytes = ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? NSNumber)?.int64Value ?? 0
        return VerifiedBackup(file: file, sha256: actual, bytes: bytes, integrity: integrity, migrations: migrations, rowCounts: counts)
    }

    /// The tables, views and triggers Vigil's migrations make, run on an empty database up to
    /// the last of `applied` (a backup from an older Vigil has fewer).
    static func expectedObjects(upTo applied: [String]) throws -> Set<String> {
        let order = Schema.migrator.migrations
        let appliedSet = Set(applied)
        guard let last = order.last(where: { appliedSet.contains($0) }) else { return [] }
        let queue = try DatabaseQueue()
        try Schema.migrator.migrate(queue, upTo: last)
        return try queue.read { db in
            Set(try Row.fetchAll(db, sql: """
                SELECT type, name, sql FROM sqlite_master
                WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite_%'
                """).map { "\($0["type"] as String? ?? "") \($0["name"] as String? ?? "")\u{0}\($0["sql"] as String? ?? "")" })
        }
    }

    /// A small file beside a backup: nil when there is none; refused when it is not a regular
    /// file (a symlink to `/dev/zero`, a FIFO) or larger than ``sidecarLimit``.
    static func readSidecar(_ path: String) throws(BackupRefusal) -> Data? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw .failed("\(path) is not a regular file (a symlink, device or FIFO is not read)")
        }
        guard st.st_size <= off_t(sidecarLimit) else { throw .failed("\(path) is larger than \(sidecarLimit / 1024) KiB") }
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: sidecarLimit + 1)) ?? Data()
    }

    /// Replaces `<stateDirectory>/vigil.db` with a verified backup. Refused while a daemon holds
    /// the state folder's lock (the lock is held here for the whole swap, so none starts meanwhile).
    public static func restore(_ file: String, stateDirectory: String, now: Timestamp) throws(BackupRefusal) -> RestoreOutcome {
        // Checked once before taking the lock (a clear refusal before anything else), and again
        // on the copy that is put in place.
        _ = try verify(file)
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) } catch {
            throw .failed("cannot create \(stateDirectory): \(error)")
        }
        let lockPath = (stateDirectory as NSString).appendingPathComponent("vigild.lock")
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw .failed("cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        defer { flock(lock, LOCK_UN); close(lock) }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else { throw .daemonRunning(lock: lockPath) }

        let database = (stateDirectory as NSString).appendingPathComponent("vigil.db")
        let staging = database + ".restoring"
        try? fm.removeItem(atPath: staging)
        do { try copyDurably(file, to: staging) } catch {
            try? fm.removeItem(atPath: staging)
            throw .failed("cannot copy \(file) into \(stateDirectory): \(error); nothing was restored")
        }
        // Every check again on the copy: what was checked is what is put in place, even if the
        // backup file changed after the first check.
        let verified: VerifiedBackup
        do { verified = try verify(staging, sidecars: file) } catch {
            for suffix in ["", "-wal", "-shm"] { try? fm.removeItem(atPath: staging + suffix) }
            throw error
        }
        for suffix in ["-wal", "-shm"] { try? fm.removeItem(atPath: staging + suffix) }
        var previous: String?
        if fm.fileExists(atPath: database) {
            let aside = (stateDirectory as NSString).appendingPathComponent(
                "pre-restore-" + now.rfc3339.replacingOccurrences(of: ":", with: ""))
            do {
                try fm.createDirectory(atPath: aside, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                for suffix in ["", "-wal", "-shm"] where fm.fileExists(atPath: database + suffix) {
                    try fm.moveItem(atPath: database + suffix, toPath: (aside as NSString).appendingPathComponent("vigil.db" + suffix))
                }
            } catch {
                // Put back whatever moved: the store stays as it was.
                for suffix in ["", "-wal", "-shm"] {
                    let moved = (aside as NSString).appendingPathComponent("vigil.db" + suffix)
                    if fm.fileExists(atPath: moved) { try? fm.moveItem(atPath: moved, toPath: database + suffix) }
                }
                try? fm.removeItem(atPath: staging)
                throw .failed("cannot set the current store aside in \(aside): \(error); nothing was restored")
            }
            previous = aside
        }
        guard rename(staging, database) == 0 else {
            let why = String(cString: strerror(errno))
            if let previous {
                for suffix in ["", "-wal", "-shm"] {
                    let moved = (previous as NSString).appendingPathComponent("vigil.db" + suffix)
                    if fm.fileExists(atPath: moved) { try? fm.moveItem(atPath: moved, toPath: database + suffix) }
                }
            }
            throw .failed("cannot move the restored store into place: \(why); the previous store was put back")
        }
        chmod(database, 0o600)
        syncDirectory(stateDirectory)
        return RestoreOutcome(backup: verified, database: database, previousStore: previous)
    }

    /// A checksummed backup of the store at `database` into `directory` (SQLite's online
    /// backup: consistent while a daemon writes to it), as `vigil backup` and the
    /// `backup_current_state` action write them.
    public static func backup(database: String, into directory: String, now: Timestamp) throws -> BackupManifest {
        guard FileManager.default.fileExists(atPath: database) else { throw BackupRefusal.missing(database) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let stamp = now.rfc3339.replacingOccurrences(of: ":", with: "")
        var file = (directory as NSString).appendingPathComponent("vigil-\(stamp)-manual.db")
        var n = 1
        while fm.fileExists(atPath: file) {
            n += 1
            file = (directory as NSString).appendingPathComponent("vigil-\(stamp)-manual-\(n).db")
        }
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(5)
        let source = try DatabaseQueue(path: database, configuration: config)
        let target = try DatabaseQueue(path: file)
        try source.backup(to: target)
        try target.close()
        try source.close()
        chmod(file, 0o600)
        let manifest = try Store.verifyBackup(file, createdAt: now)
        try Data("\(manifest.sha256)  \((file as NSString).lastPathComponent)\n".utf8).write(to: URL(fileURLWithPath: file + ".sha256"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(manifest).write(to: URL(fileURLWithPath: file + ".json"))
        return manifest
    }

    static func copyDurably(_ from: String, to: String) throws {
        guard let input = FileHandle(forReadingAtPath: from) else { throw BackupRefusal.failed("cannot read \(from)") }
        defer { try? input.close() }
        let fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BackupRefusal.failed("cannot create \(to): \(String(cString: strerror(errno)))") }
        let output = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { try output.write(contentsOf: chunk) }
        guard fsync(fd) == 0 else { throw BackupRefusal.failed("fsync \(to): \(String(cString: strerror(errno)))") }
        try output.close()
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}
