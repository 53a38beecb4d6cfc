import Foundation
import GRDB
import Testing
import VigilCore
@testable import VigilStore

/// `vigil restore`: a good checksummed backup gives back an identical store; a damaged,
/// truncated, mismatched or foreign one is refused with the reason and nothing is touched.
@Suite struct StoreRestoreTests {
    /// Every table's rows, in rowid order, as text: two stores are identical when these are equal.
    static func contents(_ path: String) throws -> [String: [String]] {
        var config = Configuration()
        config.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: config)
        defer { try? queue.close() }
        return try queue.read { db in
            var out: [String: [String]] = [:]
            for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'") {
                out[table] = try Row.fetchAll(db, sql: "SELECT * FROM \(table.quotedDatabaseIdentifier)").map { $0.description }
            }
            return out
        }
    }

    /// A store with two incidents and a recovery, backed up; then a third incident written after the backup.
    static func backedUpStore() async throws -> (state: String, backup: String, atBackup: [String: [String]]) {
        let path = try temporaryDatabase()
        let state = (path as NSString).deletingLastPathComponent
        let manifest: BackupManifest
        do {
            let store = try Store(path: path)
            _ = try await store.openIncident(year: 2026, prefix: "INC") { change($0) }
            _ = try await store.openIncident(year: 2026, prefix: "INC") { change($0, title: "api down") }
            let plan = RecoveryPlan(name: "p", title: "P", steps: [.init(title: "one", expected: .seconds(60))])
            let run = DisasterRecoveryRun(incidentID: "INC-2026-0002", plan: plan, selection: "test", tier: "tier-1", rto: .seconds(3600),
                                          rpo: .seconds(300), outageStart: t0, dataLoss: nil, startedAt: t0, startedBy: "alice")
            try await store.write { tx in try tx.save(run) }
            manifest = try store.checksummedBackup(into: state + "/backups", label: "test", now: t0)
            _ = try await store.openIncident(year: 2026, prefix: "INC") { change($0, title: "after the backup") }
        }
        return (state, manifest.file, try contents(manifest.file))
    }

    /// A copy of the backup (and its .sha256) to damage.
    static func copy(_ backup: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-restore-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let target = dir + "/" + (backup as NSString).lastPathComponent
        try FileManager.default.copyItem(atPath: backup, toPath: target)
        try FileManager.default.copyItem(atPath: backup + ".sha256", toPath: target + ".sha256")
        return target
    }

    static func writeChecksum(_ file: String) throws {
        try Data("\(try SHA256Digest.file(file))  \((file as NSString).lastPathComponent)\n".utf8)
            .write(to: URL(fileURLWithPath: file + ".sha256"))
    }

    static func refusal(_ file: String, into state: String? = nil) -> BackupRefusal? {
        do {
            if let state { _ = try StoreRestore.restore(file, stateDirectory: state, now: t0) } else { _ = try StoreRestore.verify(file) }
            return nil
        } catch { return error }
    }

    @Test func aGoodBackupGivesAnIdenticalStoreAndKeepsThePreviousOneAside() async throws {
        let (state, backup, atBackup) = try await Self.backedUpStore()
        #expect(atBackup["incident"]?.count == 2 && atBackup["drRecovery"]?.count == 1)
        let outcome = try StoreRestore.restore(backup, stateDirectory: state, now: t0 + .seconds(60))
        #expect(outcome.database == state + "/vigil.db" && outcome.backup.migrations.contains("v11-disaster-recovery"))
        #expect(try SHA256Digest.file(outcome.database) == outcome.backup.sha256)
        #expect(try Self.contents(outcome.database) == atBackup)
        // The store it replaced, with the incident written after the backup, is kept whole.
        let previous = try #require(outcome.previousStore)
        #expect(try Self.contents(previous + "/vigil.db")["incident"]?.count == 3)
        #expect(!FileManager.default.fileExists(atPath: state + "/vigil.db.restoring"))
        // The restored store opens and reads as the store did at the backup.
        let reopened = try Store(path: outcome.database)
        #expect(try await reopened.incident(id: "INC-2026-0003") == nil)
        #expect(try await reopened.recovery(incidentID: "INC-2026-0002")?.plan == "p")
    }

    @Test func refusedWhileTheDaemonHoldsTheStateFolder() async throws {
        let (state, backup, _) = try await Self.backedUpStore()
        let before = try Self.contents(state + "/vigil.db")
        let fd = open(state + "/vigild.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        guard case .daemonRunning? = Self.refusal(backup, into: state) else {
            Issue.record("a restore under a running daemon was not refused")
            return
        }
        #expect(try Self.contents(state + "/vigil.db") == before)
    }

    @Test func aCorruptedByteIsRefusedByItsChecksum() async throws {
        let (state, backup, _) = try await Self.backedUpStore()
        let damaged = try Self.copy(backup)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: damaged))
        bytes[bytes.count / 2] ^= 0x5A
        try bytes.write(to: URL(fileURLWithPath: damaged))
        let before = try Self.contents(state + "/vigil.db")
        let refusal = Self.refusal(damaged, into: state)
        guard case .checksumMismatch? = refusal else { Issue.record("\(String(describing: refusal))"); return }
        #expect(refusal?.description.contains("checksum mismatch") == true && refusal?.description.contains("damaged or changed") == true)
        #expect(try Self.contents(state + "/vigil.db") == before)
    }

    @Test func aTruncatedFileIsRefused() async throws {
        let (_, backup, _) = try await Self.backedUpStore()
        let truncated = try Self.copy(backup)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: truncated))
        try bytes.prefix(bytes.count / 3).write(to: URL(fileURLWithPath: truncated))
        guard case .checksumMismatch? = Self.refusal(truncated) else { Issue.record("truncated backup accepted"); return }
        // Even with a checksum made for the truncated file, SQLite's own checks refuse it.
        try Self.writeChecksum(truncated)
        guard case .damaged? = Self.refusal(truncated) else {
            Issue.record("\(String(describing: Self.refusal(truncated)))")
            return
        }
    }

    @Test func aMissingWrongOrMalformedChecksumIsRefused() async throws {
        let (_, backup, _) = try await Self.backedUpStore()
        let file = try Self.copy(backup)
        try Data((String(repeating: "ab", count: 32) + "  x.db\n").utf8).write(to: URL(fileURLWithPath: file + ".sha256"))
        guard case .checksumMismatch(_, let recorded, _)? = Self.refusal(file) else { Issue.record("wrong checksum accepted"); return }
        #expect(recorded == String(repeating: "ab", count: 32))
        try Data("not a checksum\n".utf8).write(to: URL(fileURLWithPath: file + ".sha256"))
        #expect(Self.refusal(file) == .malformedChecksum(file))
        try FileManager.default.removeItem(atPath: file + ".sha256")
        #expect(Self.refusal(file) == .noChecksum(file))
        #expect(Self.refusal(file + ".nope") == .missing(file + ".nope"))
    }

    @Test func somethingElseThanAVigilStoreIsRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-foreign-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let text = dir + "/notes.db"
        try Data("SQLite? no, a shopping list\n".utf8).write(to: URL(fileURLWithPath: text))
        try Self.writeChecksum(text)
        #expect(Self.refusal(text) == .notSQLite(text))
        let foreign = dir + "/other.db"
        do {
            let queue = try DatabaseQueue(path: foreign)
            try queue.write { db in try db.execute(sql: "CREATE TABLE recipes(name TEXT); INSERT INTO recipes VALUES ('soup')") }
            try queue.close()
        }
        try Self.writeChecksum(foreign)
        guard case .notVigil(_, let problem)? = Self.refusal(foreign) else { Issue.record("a foreign database was accepted"); return }
        #expect(problem == "it has no migration history")
    }

    @Test func aBackupFromANewerVigilIsRefused() async throws {
        let (_, backup, _) = try await Self.backedUpStore()
        let newer = try Self.copy(backup)
        do {
            let queue = try DatabaseQueue(path: newer)
            try await queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations(identifier) VALUES ('v99-from-the-future')") }
            try queue.close()
        }
        try Self.writeChecksum(newer)
        #expect(Self.refusal(newer) == .newerSchema(file: newer, unknown: ["v99-from-the-future"]))
    }

    @Test func aBackupThatDisagreesWithItsManifestIsRefused() async throws {
        let (_, backup, _) = try await Self.backedUpStore()
        let manifestPath = backup + ".json"
        var manifest = try JSONDecoder().decode(BackupManifest.self, from: Data(contentsOf: URL(fileURLWithPath: manifestPath)))
        manifest.rowCounts["incident"] = 7
        try JSONEncoder().encode(manifest).write(to: URL(fileURLWithPath: manifestPath))
        guard case .manifestMismatch(_, let problem)? = Self.refusal(backup) else { Issue.record("manifest mismatch accepted"); return }
        #expect(problem == "incident has 2 rows, the manifest says 7")
    }

    @Test func aBackupCarryingATriggerOrViewOfItsOwnIsRefused() async throws {
        let (state, backup, _) = try await Self.backedUpStore()
        for (name, sql) in [("trigger wipe", "CREATE TRIGGER wipe AFTER INSERT ON incident BEGIN DELETE FROM timeline; END"),
                            ("view peek", "CREATE VIEW peek AS SELECT id FROM incident")] {
            let crafted = try Self.copy(backup)
            do {
                let queue = try DatabaseQueue(path: crafted)
                try await queue.write { db in try db.execute(sql: sql) }
                try queue.close()
            }
            try Self.writeChecksum(crafted)
            guard case .notVigil(_, let problem)? = Self.refusal(crafted, into: state) else {
                Issue.record("\(name) accepted"); continue
            }
            #expect(problem.contains(name), "\(problem)")
        }
        // The good one still restores (the schema check does not refuse Vigil's own).
        #expect(Self.refusal(backup, into: state) == nil)
    }

    @Test func sidecarsThatAreNotSmallRegularFilesAreRefused() async throws {
        let (_, backup, _) = try await Self.backedUpStore()
        let zero = try Self.copy(backup)
        try FileManager.default.createSymbolicLink(atPath: zero + ".json", withDestinationPath: "/dev/zero")
        guard case .failed(let why)? = Self.refusal(zero) else { Issue.record("a .json symlink to /dev/zero was read"); return }
        #expect(why.contains("not a regular file"))
        let garbled = try Self.copy(backup)
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: garbled + ".json"))
        guard case .manifestMismatch(_, let problem)? = Self.refusal(garbled) else { Issue.record("a garbled manifest was ignored"); return }
        #expect(problem.contains("not a Vigil backup manifest"))
        let huge = try Self.copy(backup)
        try Data(count: StoreRestore.sidecarLimit + 1).write(to: URL(fileURLWithPath: huge + ".sha256"))
        guard case .failed(let big)? = Self.refusal(huge) else { Issue.record("a huge .sha256 was read"); return }
        #expect(big.contains("larger than"))
    }
}
