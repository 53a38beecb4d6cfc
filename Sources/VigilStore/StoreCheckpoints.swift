import GRDB

/// WAL checkpoints off the commit path.
///
/// SQLite's own checkpoint runs inside the commit that pushes the WAL past
/// `wal_autocheckpoint` pages: that one commit copies the WAL into the database and fsyncs it,
/// and whoever waits on it (an alert's sender, a page) waits milliseconds longer. Measured with
/// one alert at a time to the bundled webhook: the slowest in a hundred took 8 ms in its alert
/// commit. So the writer's automatic checkpoint is pushed out to ``safetyNetPages`` (for a store
/// nobody checkpoints: the CLI, tests) and the daemon checkpoints from a connection of its own
/// (``checkpoint()``), which SQLite runs beside the writer, not in its way.
extension Store {
    /// The writer's own checkpoint threshold, in pages: reached only when nobody calls
    /// ``checkpoint()`` often enough.
    public static let safetyNetPages = 16_384

    /// Copies what it can of the WAL into the database without waiting for readers or the writer
    /// (`PASSIVE`), on a connection of its own and off the cooperative pool. Returns the WAL's
    /// size and how much of it is now in the database, in frames.
    @discardableResult
    public func checkpoint() async throws -> (walFrames: Int, checkpointed: Int) {
        let (total, done) = try await checkpointer.writeWithoutTransaction { db in try db.checkpoint(.passive) }
        return (total, done)
    }

    /// Turns the writer's automatic checkpoint down to the safety net and opens the connection
    /// that checkpoints.
    static func openCheckpointer(path: String, configuration: Configuration, writer: DatabasePool) throws -> DatabaseQueue {
        try writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_autocheckpoint = \(safetyNetPages)") }
        return try DatabaseQueue(path: path, configuration: configuration)
    }
}
