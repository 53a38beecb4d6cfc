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
        if held.withLock({ $0[uid] != nil }) { return true }
        guard uid != 0, !isAccount(uid) else { return false }
        // Without root there is no lease folder to write; such a daemon cannot run plugins as
        // other uids anyway (tests without root use the allocator alone).
        guard geteuid() == 0 else { return processes(of: uid).isEmpty }
        mkdir("/run/vigil", 0o755)
        mkdir(directory, 0o700)
        let fd = open("\(directory)/\(uid).lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return false }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)  // another live daemon's uid
            return false
        }
        guard killLeftovers(of: uid) else {
            close(fd)
            return false
        }
        held.withLock { $0[uid] = fd }
        return true
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
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var found: [Int32] = []
        for entry in entries {
            guard let pid = Int32(entry), pid > 0,
                  let status = try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }) else { continue }
            let ids = line.split(whereSeparator: \.isWhitespace).dropFirst().prefix(2).compactMap { UInt32($0) }
            if ids.contains(uid) { found.append(pid) }
        }
        return found
    }

    /// SIGKILLs every process under `uid` and waits (about a second at most) until none is left.
    static func killLeftovers(of uid: UInt32) -> Bool {
        for _ in 0..<100 {
            let pids = processes(of: uid)
            if pids.isEmpty { return true }
            for pid in pids { kill(pid, SIGKILL) }
            var pause = timespec(tv_sec: 0, tv_nsec: 10_000_000)
            nanosleep(&pause, nil)
        }
        return processes(of: uid).isEmpty
    }
}
