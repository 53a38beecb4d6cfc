import GRDB
import Synchronization

/// A failure SQLite reported about the daemon's own database: what the seed's
/// `sqlite_connection_failures > 5 in 1 minute` counts.
public struct StoreFailure: Sendable, Equatable {
    /// The failure's class, a label value (`busy`, `locked`, `io`, `corrupt`, …).
    public var kind: Kind
    /// SQLite's extended result code.
    public var code: Int32
    /// SQLite's message, clipped.
    public var message: String

    public enum Kind: String, Sendable, CaseIterable {
        case busy, locked, io, corrupt, full, readonly
        case cannotOpen = "cannot_open"
        case notADatabase = "not_a_database"
        case protocolError = "protocol"
    }

    public init(kind: Kind, code: Int32, message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    /// The failure an extended result code stands for, or nil for codes that are not about the
    /// database being reachable and sound: constraint violations, SQL errors, interrupts and
    /// SQLite's notices and warnings (a recovered WAL, an automatic index) are the program's or
    /// nobody's fault.
    public static func kind(code: Int32) -> Kind? {
        switch code & 0xff {
        case 5: .busy           // SQLITE_BUSY
        case 6: .locked         // SQLITE_LOCKED
        case 8: .readonly       // SQLITE_READONLY
        case 10: .io            // SQLITE_IOERR
        case 11: .corrupt       // SQLITE_CORRUPT
        case 13: .full          // SQLITE_FULL
        case 14: .cannotOpen    // SQLITE_CANTOPEN
        case 15: .protocolError // SQLITE_PROTOCOL
        case 26: .notADatabase  // SQLITE_NOTADB
        default: nil
        }
    }
}

/// SQLite's error log (<https://www.sqlite.org/errlog.html>), narrowed to ``StoreFailure``s and
/// handed to whoever registered: one place that sees every busy, I/O or corruption error of any
/// connection of the process, whichever query met it.
///
/// The log is process-wide and must be installed before the process opens its first database
/// connection (SQLite refuses it afterwards); `vigild` installs it first thing. The handler runs
/// on the thread that met the error, inside SQLite: it must be quick and must not use SQLite.
public enum StoreFailureLog {
    private static let handler = Mutex<(@Sendable (StoreFailure) -> Void)?>(nil)
    private static let installed = Mutex(false)

    /// Installs the log (once; later calls do nothing). Returns whether it is installed.
    @discardableResult
    public static func install() -> Bool {
        installed.withLock { done in
            if !done {
                Database.logError = { code, message in
                    report(code: code.rawValue, message: message)
                }
                done = true
            }
            return true
        }
    }

    /// Who is told of each failure from now on (nil: nobody).
    public static func setHandler(_ h: (@Sendable (StoreFailure) -> Void)?) {
        handler.withLock { $0 = h }
    }

    /// Classifies one log entry and passes it on (also what the installed log calls).
    public static func report(code: Int32, message: String) {
        guard let kind = StoreFailure.kind(code: code), let h = handler.withLock({ $0 }) else { return }
        h(StoreFailure(kind: kind, code: code, message: String(message.prefix(300))))
    }
}
