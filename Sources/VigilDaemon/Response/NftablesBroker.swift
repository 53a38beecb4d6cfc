import Foundation
import Logging
import VigilCore
import VigilPluginProtocol

/// Applies the one nftables change an action plugin may ask for, so that no plugin holds
/// `CAP_NET_ADMIN` in the host's network namespace (with it, any table could be changed).
///
/// A plugin granted `nftables: true` by the plugin policy answers its `act` with an
/// `nftables` request in its evidence instead of running `nft` itself:
/// `{"op": "contain", "allow": ["10.0.0.0/8", "2001:db8::1"], "allow_ports": [22]}` or
/// `{"op": "release"}`. The daemon checks it (known keys only, addresses parsed and printed
/// again by `inet_pton`/`inet_ntop`, bounded lists), writes the ruleset itself, and applies it
/// to table `inet vigil_containment` only, with `nft` on a thread of its own. No text of the
/// plugin reaches `nft`. See Docs/containment.md, "network-containment".
struct NftablesBroker: Sendable {
    /// The only table the broker ever creates, replaces or deletes.
    static let table = "vigil_containment"
    static let maximumAddresses = 256
    static let maximumPorts = 64

    /// Plugins the policy grants `nftables: true`.
    let granted: Set<String>
    /// The `nft` program; fixed by the daemon, never taken from a plugin.
    var program: String = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"].first { FileManager.default.isExecutableFile(atPath: $0) }
        ?? "/usr/sbin/nft"
    var logger: Logger = Logger(label: "vigil.nftables")

    /// A checked request.
    enum Request: Equatable {
        case contain(addresses: [String], ports: [UInt16])
        case release
    }

    struct Refusal: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    /// `result` as the daemon answers it: untouched without an `nftables` request; otherwise
    /// the request is checked and applied (`dryRun`: only `nft --check`), and the outcome is the
    /// daemon's, not the plugin's.
    func handle(plugin: String, result: PluginResult, dryRun: Bool) async -> PluginResult {
        guard let asked = result.evidence["nftables"] else { return result }
        var evidence = result.evidence
        evidence.removeValue(forKey: "nftables")
        guard granted.contains(plugin) else {
            return PluginResult(id: result.id, ok: false, detail: "plugin \(plugin) asked vigild for an nftables change, "
                                + "but the plugin policy does not grant it nftables", evidence: evidence)
        }
        guard result.ok else { return result }
        let request: Request
        do { request = try Self.parse(asked) } catch {
            logger.warning("nftables request refused", metadata: ["plugin": "\(plugin)", "reason": "\(error)"])
            return PluginResult(id: result.id, ok: false, detail: "nftables request refused: \(error)", evidence: evidence)
        }
        let program = self.program
        let outcome = await Self.onThread { Self.apply(request, dryRun: dryRun, program: program) }
        for (k, v) in outcome.evidence { evidence[k] = v }
        let detail = outcome.ok ? (result.detail.isEmpty ? outcome.detail : result.detail) : outcome.detail
        return PluginResult(id: result.id, ok: outcome.ok, detail: detail, evidence: evidence)
    }

    /// Checks a request: an object with `op` and, for `contain`, optional `allow` (addresses or
    /// networks) and `allow_ports` (1…65535). Anything else is refused, never ignored.
    static func parse(_ value: JSONValue) throws(Refusal) -> Request {
        guard let o = value.objectValue else { throw Refusal("expected an object") }
        for key in o.keys where !["op", "allow", "allow_ports", "table"].contains(key) {
            throw Refusal("unknown key \"\(key)\" (expected op, allow, allow_ports)")
        }
        if let t = o["table"], t.stringValue != "inet \(table)" && t.stringValue != table {
            throw Refusal("only table inet \(table) may be changed, not \(t.stringValue ?? "\(t)")")
        }
        switch o["op"]?.stringValue {
        case "release":
            guard o["allow"] == nil, o["allow_ports"] == nil else { throw Refusal("release takes no allow lists") }
            return .release
        case "contain":
            let items = o["allow"].map { $0.arrayValue } ?? []
            guard let items else { throw Refusal("allow must be a list of addresses") }
            guard items.count <= maximumAddresses else { throw Refusal("more than \(maximumAddresses) allowed addresses") }
            var addresses: [String] = []
            for item in items {
                guard let text = item.stringValue, let address = canonicalNetwork(text) else {
                    throw Refusal("not an IPv4 or IPv6 address or network: \(item)")
                }
                if !addresses.contains(address) { addresses.append(address) }
            }
            let portItems = o["allow_ports"].map { $0.arrayValue } ?? []
            guard let portItems, portItems.count <= maximumPorts else { throw Refusal("allow_ports must be a list of at most \(maximumPorts) ports") }
            var ports: [UInt16] = []
            for item in portItems {
                guard let d = item.doubleValue, d == d.rounded(), d >= 1, d <= 65_535, let p = UInt16(exactly: d) else {
                    throw Refusal("not a port (1…65535): \(item)")
                }
                if !ports.contains(p) { ports.append(p) }
            }
            return .contain(addresses: addresses, ports: ports)
        default:
            throw Refusal("op must be contain or release")
        }
    }

    /// `text` (an address, optionally `/prefix`) printed again by the C library; nil unless it
    /// is exactly one IPv4 or IPv6 address or network.
    static func canonicalNetwork(_ text: String) -> String? {
        guard text.utf8.count <= 64 else { return nil }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return nil }
        let host = String(parts[0])
        for (family, bits, size) in [(AF_INET, 32, 4), (AF_INET6, 128, 16)] {
            var raw = [UInt8](repeating: 0, count: size)
            guard inet_pton(family, host, &raw) == 1 else { continue }
            var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(family, raw, &out, socklen_t(out.count)) != nil else { return nil }
            let canonical = String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard parts.count == 2 else { return canonical }
            guard parts[1].allSatisfy(\.isASCII), let prefix = Int(parts[1]), (0...bits).contains(prefix) else { return nil }
            return "\(canonical)/\(prefix)"
        }
        return nil
    }

    /// The whole ruleset for `contain`, written by the daemon. The empty-table-then-delete
    /// preamble makes one atomic replacement whether or not the table exists.
    static func ruleset(addresses: [String], ports: [UInt16]) -> String {
        let v4 = addresses.filter { !$0.contains(":") }
        let v6 = addresses.filter { $0.contains(":") }
        var lines = [
            "table inet \(table) {}",
            "delete table inet \(table)",
            "table inet \(table) {",
            "  chain output {",
            "    type filter hook output priority 0; policy accept;",
            "    ct state established,related accept",
            "    oifname \"lo\" accept",
        ]
        if !v4.isEmpty { lines.append("    ip daddr { \(v4.joined(separator: ", ")) } accept") }
        if !v6.isEmpty { lines.append("    ip6 daddr { \(v6.joined(separator: ", ")) } accept") }
        if !ports.isEmpty {
            lines.append("    meta l4proto { tcp, udp } th dport { \(ports.map(String.init).joined(separator: ", ")) } accept")
        }
        lines += ["    ct state new counter drop", "  }", "}"]
        return lines.joined(separator: "\n") + "\n"
    }

    struct Outcome {
        var ok: Bool
        var detail: String
        var evidence: [String: JSONValue]
    }

    /// Runs `nft`; blocking (call it on a thread of its own).
    static func apply(_ request: Request, dryRun: Bool, program: String) -> Outcome {
        switch request {
        case .contain(let addresses, let ports):
            let text = ruleset(addresses: addresses, ports: ports)
            let checked = run(program, ["--check", "-f", "-"], input: text)
            guard checked.status == 0 else {
                return Outcome(ok: false, detail: "nft refused the ruleset: \(checked.output)", evidence: ["ruleset": .string(text)])
            }
            if dryRun {
                return Outcome(ok: true, detail: "would drop new outbound connections except loopback and \(addresses.count) allowed address(es)",
                               evidence: ["ruleset": .string(text), "dry_run": .bool(true)])
            }
            let applied = run(program, ["-f", "-"], input: text)
            guard applied.status == 0 else { return Outcome(ok: false, detail: "nft failed: \(applied.output)", evidence: ["ruleset": .string(text)]) }
            let listing = run(program, ["list", "table", "inet", table])
            return Outcome(ok: true, detail: "new outbound connections dropped except loopback and \(addresses.count) allowed address(es)",
                           evidence: ["ruleset": .string(listing.output), "applied_by": .string("vigild")])
        case .release:
            let listing = run(program, ["list", "table", "inet", table])
            guard listing.status == 0 else {
                return Outcome(ok: true, detail: "no containment table: outbound connections were not restricted", evidence: ["present": .bool(false)])
            }
            if dryRun { return Outcome(ok: true, detail: "would delete table inet \(table)", evidence: ["ruleset": .string(listing.output), "dry_run": .bool(true)]) }
            let deleted = run(program, ["delete", "table", "inet", table])
            guard deleted.status == 0 else { return Outcome(ok: false, detail: "nft failed: \(deleted.output)", evidence: [:]) }
            return Outcome(ok: true, detail: "outbound connections restored (table inet \(table) deleted)",
                           evidence: ["removed": .string(listing.output), "applied_by": .string("vigild")])
        }
    }

    /// Runs `program` with `arguments`, `input` on stdin; killed after 20 seconds.
    static func run(_ program: String, _ arguments: [String], input: String? = nil) -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = arguments
        p.environment = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        let stdin = Pipe(), output = Pipe()
        p.standardInput = stdin
        p.standardOutput = output
        p.standardError = output
        do { try p.run() } catch { return (-1, "cannot run \(program): \(error)") }
        let watchdog = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 20, execute: watchdog)
        defer { watchdog.cancel() }
        if let input { try? stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8)) }
        try? stdin.fileHandleForWriting.close()
        let data = (try? output.fileHandleForReading.readToEnd()) ?? Data()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data.prefix(64 << 10), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func onThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: work()) }
            thread.name = "vigil-nft"
            thread.start()
        }
    }
}
