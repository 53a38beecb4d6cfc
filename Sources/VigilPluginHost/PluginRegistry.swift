import Foundation
import Synchronization
import VigilCore

/// What the daemon remembers about a plugin across restarts.
public struct PluginRecordSummary: Sendable, Equatable {
    /// The plugin's own uid (and gid); the same plugin keeps it.
    public var uid: UInt32
    /// False when an operator disabled it.
    public var enabled: Bool
    /// Why it is quarantined; nil when it is not.
    public var quarantine: String?
    public var restarts: Int

    public init(uid: UInt32, enabled: Bool = true, quarantine: String? = nil, restarts: Int = 0) {
        self.uid = uid
        self.enabled = enabled
        self.quarantine = quarantine
        self.restarts = restarts
    }
}

/// Where the plugin host keeps plugin identities, enablement and quarantines; the daemon backs
/// it with its SQLite store, so a quarantined plugin stays quarantined after a restart.
public protocol PluginRegistry: Sendable {
    /// The plugin's record, allocating it a uid on first sight.
    func record(for plugin: String) throws -> PluginRecordSummary
    /// Stores what changed.
    func save(_ plugin: String, _ record: PluginRecordSummary, state: String) throws
    /// Leases, in one batch, the uids `plugins` will most likely get (recorded, or where their
    /// allocation starts), before the first of them runs; ``record(for:)`` then finds them held.
    /// Blocking (locks, NSS, /proc): call from a thread that may block.
    func prepare(_ plugins: [String])
}

extension PluginRegistry {
    public func prepare(_ plugins: [String]) {}
}

/// A registry in memory, with uids from ``PluginUIDAllocator`` (tests, and runs without a store).
public final class InMemoryPluginRegistry: PluginRegistry {
    private let records = Mutex<[String: PluginRecordSummary]>([:])
    private let range: ClosedRange<UInt32>

    public init(range: ClosedRange<UInt32> = PluginUIDAllocator.defaultRange) { self.range = range }

    public func record(for plugin: String) throws -> PluginRecordSummary {
        try records.withLock { all in
            if let r = all[plugin], UIDLease.acquire(r.uid) { return r }
                let uid = try PluginUIDAllocator.allocate(plugin: plugin, recorded: all.mapValues(\.uid),
                                                      taken: PluginUIDAllocator.localAccountIDs(), range: range,
                                                  usable: UIDLease.acquire)
            let r = PluginRecordSummary(uid: uid)
            all[plugin] = r
            return r
        }
    }

    public func save(_ plugin: String, _ record: PluginRecordSummary, state: String) throws {
        records.withLock { $0[plugin] = record }
    }

    public func prepare(_ plugins: [String]) {
        let recorded = records.withLock { $0.mapValues(\.uid) }
        UIDLease.acquire(plugins.map { PluginUIDAllocator.firstChoice(plugin: $0, recorded: recorded, range: range) })
    }
}
