import ArgumentParser
import Foundation
import VigilControl
import VigilCore
import VigilStore

/// `vigil backup`: a checksummed backup of Vigil's own store (Docs/disaster-recovery.md).
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up Vigil's own store into a checksummed file (safe while the daemon runs: SQLite's online backup).",
        discussion: "Writes vigil-<time>-manual.db with a .sha256 and a .json manifest (row counts, integrity check) beside it.")
    @Option(name: .long, help: ArgumentHelp("The daemon's state folder (env VIGIL_STATE_DIR, default ./.vigil).", valueName: "dir"))
    var stateDir: String?
    @Option(help: ArgumentHelp("Where to write it (default <state-dir>/backups).", valueName: "dir")) var output: String?
    @Flag(help: "Print the manifest as JSON.") var json = false

    func run() throws {
        let state = stateDir ?? ProcessInfo.processInfo.environment["VIGIL_STATE_DIR"] ?? "./.vigil"
        let database = (state as NSString).appendingPathComponent("vigil.db")
        let manifest: BackupManifest
        do {
            manifest = try StoreRestore.backup(database: database, into: output ?? (state as NSString).appendingPathComponent("backups"),
                                               now: Timestamp(Date()))
        } catch {
            printError("vigil backup: \(error)")
            throw ExitCode(74)
        }
        if json { try printJSON(manifest); return }
        print("Backed up \(database) to \(manifest.file)")
        print("  sha256 \(manifest.sha256) (\(manifest.file).sha256), \(manifest.bytes) bytes, integrity \(manifest.integrity)")
        let rows: [String] = manifest.rowCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        print("  rows: " + rows.joined(separator: ", "))
    }
}

/// `vigil restore BACKUP`: puts a checksummed backup back as Vigil's store, refusing a damaged one.
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore Vigil's own store from a checksummed backup; a damaged, truncated, foreign or mismatched one is refused.",
        discussion: """
            The daemon must be stopped (the state folder's lock is taken for the restore). The backup's \
            SHA-256 must match its .sha256 file, it must be a sound SQLite database (PRAGMA integrity_check) \
            with Vigil's migration history, and match its .json manifest when there is one. The current \
            store is moved aside to <state-dir>/pre-restore-<time>/ and the backup swapped in with a rename \
            after an fsync. --check verifies without restoring.
            """)
    @Option(name: .long, help: ArgumentHelp("The daemon's state folder (env VIGIL_STATE_DIR, default ./.vigil).", valueName: "dir"))
    var stateDir: String?
    @Argument(help: "The backup file (vigil-….db, with its .sha256 beside it).") var backup: String
    @Flag(help: "Only verify the backup; change nothing.") var check = false
    @Flag(help: "Print the outcome as JSON.") var json = false

    func run() throws {
        let state = stateDir ?? ProcessInfo.processInfo.environment["VIGIL_STATE_DIR"] ?? "./.vigil"
        do {
            if check {
                let verified = try StoreRestore.verify(backup)
                if json { try printJSON(verified); return }
                print("\(backup): good — sha256 \(verified.sha256) matches, integrity ok, \(verified.migrations.count) migrations "
                      + "(latest \(verified.migrations.last ?? "none"))")
                return
            }
            let outcome = try StoreRestore.restore(backup, stateDirectory: state, now: Timestamp(Date()))
            if json { try printJSON(outcome); return }
            print("Restored \(outcome.database) from \(backup)")
            print("  sha256 \(outcome.backup.sha256) verified, integrity ok, \(outcome.backup.migrations.count) migrations "
                  + "(latest \(outcome.backup.migrations.last ?? "none"))")
            let rows: [String] = outcome.backup.rowCounts.filter { $0.key != "grdb_migrations" }.sorted { $0.key < $1.key }
                .map { "\($0.key) \($0.value)" }
            print("  rows: " + rows.joined(separator: ", "))
            print("  the previous store is kept in " + (outcome.previousStore ?? "(there was none)"))
            print("Start vigild to use it (it applies any newer migrations).")
        } catch let refusal as BackupRefusal {
            printError("vigil restore: refused: \(refusal)")
            throw ExitCode(65)
        }
    }
}
