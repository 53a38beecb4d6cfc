/// Picks the unprivileged uid (and equal gid) a plugin runs as, like systemd's `DynamicUser`.
///
/// Pure: the caller passes what the store recorded and which ids are taken (by accounts in
/// `/etc/passwd` and other plugins) and, optionally, a host check (`usable`: ``UIDLease``); the
/// same plugin keeps its recorded uid while it is usable. A new plugin starts at a stable FNV-1a
/// hash of its name inside the range and probes upwards, so allocations do not depend on the
/// order plugins are loaded in.
public enum PluginUIDAllocator {
    /// 70000–79999: in the block systemd leaves unused (65536–524287; its `DynamicUser` range is
    /// 61184–65519, which the old range overlapped) and below the `/etc/subuid` ranges `useradd`
    /// hands out (from 100000). Configurable by the daemon.
    public static let defaultRange: ClosedRange<UInt32> = 70_000...79_999

    public enum Failure: Error, Sendable, Equatable {
        case rangeExhausted(ClosedRange<UInt32>)
        case invalidRange(ClosedRange<UInt32>)
    }

    /// The uid for `plugin`: its recorded uid if still in range and not taken by someone else,
    /// otherwise the first free uid from its hash position.
    public static func allocate(plugin: String, recorded: [String: UInt32], taken: Set<UInt32>,
                                range: ClosedRange<UInt32> = defaultRange,
                                usable: (UInt32) -> Bool = { _ in true }) throws(Failure) -> UInt32 {
        guard range.lowerBound > 0 else { throw .invalidRange(range) }
        let others = Set(recorded.filter { $0.key != plugin }.values).union(taken)
        if let mine = recorded[plugin], range.contains(mine), !others.contains(mine), usable(mine) { return mine }
        let size = UInt64(range.upperBound - range.lowerBound) + 1
        let start = fnv1a(plugin) % size
        for step in 0..<size {
            let uid = range.lowerBound + UInt32((start + step) % size)
            if !others.contains(uid), usable(uid) { return uid }
        }
        throw .rangeExhausted(range)
    }

    /// The uid `allocate` tries first for `plugin`: its recorded one when in range, else its hash
    /// position.
    public static func firstChoice(plugin: String, recorded: [String: UInt32], range: ClosedRange<UInt32> = defaultRange) -> UInt32 {
        if let mine = recorded[plugin], range.contains(mine) { return mine }
        let size = UInt64(range.upperBound - range.lowerBound) + 1
        return range.lowerBound + UInt32(fnv1a(plugin) % size)
    }

    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return hash
    }

    /// Uids and gids of `/etc/passwd` and gids of `/etc/group` (NSS sources beyond the files are
    /// asked per uid by ``UIDLease``).
    public static func localAccountIDs() -> Set<UInt32> {
        let passwd = (try? String(contentsOfFile: "/etc/passwd", encoding: .utf8)) ?? ""
        let group = (try? String(contentsOfFile: "/etc/group", encoding: .utf8)) ?? ""
        return accountIDs(passwd: passwd).union(groupIDs(group: group))
    }

    /// Gids of the groups in an `/etc/group`-format text (`name:x:gid:members`).
    public static func groupIDs(group: String) -> Set<UInt32> {
        var ids: Set<UInt32> = []
        for line in group.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            if fields.count >= 3, let gid = UInt32(fields[2]) { ids.insert(gid) }
        }
        return ids
    }

    /// Uids and gids of the accounts in an `/etc/passwd`-format text: never handed to a plugin.
    public static func accountIDs(passwd: String) -> Set<UInt32> {
        var ids: Set<UInt32> = []
        for line in passwd.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 4 else { continue }
            if let uid = UInt32(fields[2]) { ids.insert(uid) }
            if let gid = UInt32(fields[3]) { ids.insert(gid) }
        }
        return ids
    }
}
