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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: nft)
        process.arguments = ["-f", "-"]
        process.environment = [:]
        let input = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        do { try process.run() } catch { throw .system("running \(nft)", EIO) }
        input.fileHandleForWriting.write(Data(script(adding: uid).utf8))
        try? input.fileHandleForWriting.close()
        let message = errors.fileHandleForReading.readDataToEndOfFile().prefix(500)
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw .system("nft (loopback rule for uid \(uid)): \(String(decoding: message, as: UTF8.self))", EPERM)
        }
    }
}
