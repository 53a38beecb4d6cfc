import Foundation
import Synchronization

/// A plugin uid is this daemon's only while it holds the uid's lease: an exclusive `flock` on
/// `/run/vigil/uids/UID.lock`, kept for the daemon's lifetime and released by the kernel however
/// the daemon ends. Two daemons on one host therefore never hand out the same uid, and a uid
/// whose lease is free has no live daemon behind it.
///
/// Before a uid is handed out it must also be nobody's account through NSS (`getpwuid_r`,
/// `getgrgid_r`: LDAP, sssd and the like, beyond `/etc/passwd` and `/etc/group`), and no process may
/// run under it. Processes found under a uid whose lease we just took are leftovers of a vigild
/// that died (its plugins outlived it): they are killed, and the uid is used only once they are gone.
/// Blocking (file locks, NSS, /proc): call from a thread that may block, never the cooperative pool.
public enum UIDLease {
    /// Where the lock files live (tmpfs: cleared at boot, like the processes they guard).
    public static let directory = "/run/vigil/uids"

    private static let held = Mutex<[UInt32: Int32]>([:])

    /// Whether `uid` is this daemon's to hand out (taking its lease if it was free).
    public static func acquire(_ uid: UInt32) -> Bool {
        acquire([uid]).contains(uid)
    }

    /// Takes the leases of `uids` that are free and returns every uid of them this daemon now
    /// holds (those it held already included). One scan of `/proc` serves the whole batch: the
    /// plugin host leases every plugin's uid before it starts the first, so loading forty plugins
    /// costs one process-table read, not forty while the first plugins already run.
    @discardableResult
    public static func acquire(_ uids: some Sequence<UInt32>) -> Set<UInt32> {
        var ours: Set<UInt32> = []
        var candidates: Set<UInt32> = []
        let current = held.withLock { $0 }
        for uid in uids {
            if current[uid] != nil { ours.insert(uid) } else if uid != 0 { candidates.insert(uid) }
        }
        candidates = candidates.filter { !isAccount($0) }
        guard !candidates.isEmpty else { return ours }
        // Without root there is no lease folder to write; such a daemon cannot run plugins as
        // other uids anyway (tests without root use the allocator alone).
        guard geteuid() == 0 else {
            let busy = processTable(of: candidates)
            return ours.union(candidates.filter { busy[$0] == nil })
        }
        mkdir("/run/vigil", 0o755)
        mkdir(directory, 0o700)
        var locks: [UInt32: Int32] = [:]
        for uid in candidates {
            let fd = open("\(directory)/\(uid).lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
            guard fd >= 0 else { continue }
            // Held elsewhere: another live daemon's uid.
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { locks[uid] = fd } else { close(fd) }
        }
        // Scanned only after every lock is ours: from then on no daemon can start a process under
        // these uids, so what the scan finds are leftovers and their children.
        let clean = killLeftovers(of: Set(locks.keys))
        held.withLock { h in
            for (uid, fd) in locks {
                if clean.contains(uid), h[uid] == nil { h[uid] = fd; ours.insert(uid) } else { close(fd) }
            }
        }
        return ours
    }

    /// Whether an account or group of that id exists through NSS.
    static func isAccount(_ uid: UInt32) -> Bool {
        var pw = passwd()
        var gr = group()
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        var pwResult: UnsafeMutablePointer<passwd>?
        var grResult: UnsafeMutablePointer<group>?
        if getpwuid_r(uid, &pw, &buffer, buffer.count, &pwResult) == 0, pwResult != nil { return true }
        if getgrgid_r(uid, &gr, &buffer, buffer.count, &grResult) == 0, grResult != nil { return true }
        return false
    }

    /// Pids of the processes whose real or effective uid is `uid` (from /proc/PID/status).
    public static func processes(of uid: UInt32) -> [Int32] {
        processTable(of: [uid])[uid] ?? []
    }

    /// The processes whose real or effective uid is one of `uids`, by uid: one pass over `/proc`,
    /// each `status` read into a fixed buffer and its `Uid:` line parsed in place.
    public static func processTable(of uids: Set<UInt32>) -> [UInt32: [Int32]] {
        guard !uids.isEmpty, let dir = opendir("/proc") else { return [:] }
        defer { closedir(dir) }
        var found: [UInt32: [Int32]] = [:]
        var buffer = [UInt8](repeating: 0, count: 4096)
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = Int32(name), pid > 0 else { continue }
            let fd = open("/proc/\(name)/status", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard count > 0 else { continue }
            for id in statusUIDs(buffer.prefix(count)) where uids.contains(id) {
                found[id, default: []].append(pid)
                break
            }
        }
        return found
    }

    /// The real and effective uids of a `/proc/PID/status` text (its `Uid:` line: real,
    /// effective, saved, filesystem).
    static func statusUIDs(_ status: ArraySlice<UInt8>) -> [UInt32] {
        let key = Array("\nUid:".utf8)
        var i = status.startIndex
        while i + key.count <= status.endIndex {
            if status[i] == key[0], status[i..<(i + key.count)].elementsEqual(key) { break }
            i += 1
        }
        guard i + key.count <= status.endIndex else { return [] }
        var ids: [UInt32] = []
        var value: UInt32?
        for byte in status[(i + key.count)...] {
            if byte >= 48, byte <= 57 {
                let (times, o1) = (value ?? 0).multipliedReportingOverflow(by: 10)
                let (sum, o2) = times.addingReportingOverflow(UInt32(byte - 48))
                if o1 || o2 { return ids }
                value = sum
            } else {
                if let v = value { ids.append(v); value = nil }
                if byte == 10 || ids.count == 2 { break }
            }
        }
        if let v = value, ids.count < 2 { ids.append(v) }
        return ids
    }

    /// SIGKILLs every process under `uids` and waits (about a second at most) until none is left;
    /// returns the uids that have none.
    static func killLeftovers(of uids: Set<UInt32>) -> Set<UInt32> {
        guard !uids.isEmpty else { return [] }
        for _ in 0..<100 {
            let table = processTable(of: uids)
            if table.isEmpty { return uids }
            for pids in table.values { for pid in pids { kill(pid, SIGKILL) } }
            var pause = timespec(tv_sec: 0, tv_nsec: 10_000_000)
            nanosleep(&pause, nil)
        }
        let left = processTable(of: uids)
        return uids.filter { left[$0] == nil }
    }
}
