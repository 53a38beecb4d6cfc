import Foundation

/// Network `loopback` means loopback addresses only. A loopback plugin shares the host's network
/// namespace (it must reach services on the host's 127.0.0.1), and neither seccomp (it cannot read
/// `connect`'s address) nor Landlock (TCP ports only) can hold it there; so the daemon keeps the
/// uids of loopback plugins in an nftables set, and one output rule in its own table rejects any
/// packet of those uids to an address other than 127.0.0.0/8 or ::1 (TCP, UDP and everything
/// else; IPv4-mapped IPv6 too, since the rule matches the IPv4 packet it becomes). Each plugin
/// has its own uid, so `meta skuid` names exactly one plugin.
///
/// Fails closed: a loopback plugin is not started when the rule cannot be installed. A uid stays
/// in the set after its plugin ends (the uid is that plugin's for good; a later holder of it would
/// only be more confined). Blocking (it runs `nft`): call from a thread that may block.
public enum LoopbackFirewall {
    public static let table = "vigil_sandbox"
    static let candidates = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"]

    /// The whole ruleset, re-stated on every call (`flush chain` then its two rules), so that it is
    /// idempotent and atomic: `nft` applies one script as one transaction.
    static func script(adding uid: UInt32) -> String {
        """
        add table inet \(table)
        add set inet \(table) loopback_uids { type uid; }
        add chain inet \(table) output { type filter hook output priority 0; policy accept; }
        flush chain inet \(table) output
        add rule inet \(table) output meta skuid @loopback_uids ip daddr != 127.0.0.0/8 reject
        add rule inet \(table) output meta skuid @loopback_uids ip6 daddr != ::1 reject
        add element inet \(table) loopback_uids { \(uid) }
        """
    }

    /// Confines `uid` to loopback addresses.
    public static func confine(uid: UInt32) throws(SandboxLaunchError) {
        guard let nft = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw .system("network loopback needs nftables (nft not found)", ENOENT)
        }
        // posix_spawn and waitpid on exactly this pid: Foundation's Process waits through a
        // SIGCHLD machinery that hung inside vigild (whose threads reap plugins with waitid).
        // nft reads one script from its arguments, commands separated by ';', as one transaction.
        let command = script(adding: uid).split(separator: "\n").joined(separator: "; ")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(nft), strdup(command), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, nft, &actions, nil, argv, envp)
        guard rc == 0 else { throw .system("posix_spawn \(nft)", rc) }
        var status: Int32 = 0
        var waited: pid_t
        repeat { waited = waitpid(pid, &status, 0) } while waited < 0 && errno == EINTR
        // Exited normally with status 0 (WIFEXITED and WEXITSTATUS, macros Swift does not import).
        guard waited == pid, status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw .system("nft (loopback rule for uid \(uid)) failed with status \(status)", EPERM)
        }
    }
}
