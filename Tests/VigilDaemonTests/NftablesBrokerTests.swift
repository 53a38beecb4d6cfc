import Foundation
import Testing
import VigilCore
@testable import VigilDaemon
import VigilPluginProtocol
import VigilTestSupport

/// The daemon applies network-containment's nftables table for it: only table
/// `inet vigil_containment`, only addresses and ports to allow, no text of the plugin in `nft`.
@Suite struct NftablesBrokerTests {
    static func request(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test func onlyTheContainmentTableAndOnlyAddressesAndPortsAreAccepted() throws {
        let ok = try NftablesBroker.parse(try Self.request(#"{"op":"contain","allow":["10.77.0.2/32","2001:DB8::1","192.168.1.1"],"allow_ports":[22]}"#))
        #expect(ok == .contain(addresses: ["10.77.0.2/32", "2001:db8::1", "192.168.1.1"], ports: [22]))
        #expect(try NftablesBroker.parse(try Self.request(#"{"op":"release"}"#)) == .release)
        let refused = [
            #"{"op":"contain","table":"inet filter"}"#,                      // another table
            #"{"op":"contain","table":"ip nat"}"#,
            #"{"op":"flush","allow":[]}"#,                                     // another operation
            #"{"op":"contain","allow":["1.2.3.4 } accept; flush ruleset; {"]}"#,  // text smuggled into the ruleset
            #"{"op":"contain","allow":["1.2.3.4/33"]}"#,
            #"{"op":"contain","allow":["example.org"]}"#,
            #"{"op":"contain","allow_ports":[0]}"#,
            #"{"op":"contain","allow_ports":[22.5]}"#,
            #"{"op":"contain","rules":"drop"}"#,                               // unknown key
            #"{"op":"release","allow":["1.2.3.4"]}"#,
            #"["contain"]"#,
        ]
        for text in refused {
            #expect(throws: NftablesBroker.Refusal.self, "\(text)") { try NftablesBroker.parse(try Self.request(text)) }
        }
        let many = "[" + (0..<300).map { "\"10.0.\($0 / 256).\($0 % 256)\"" }.joined(separator: ",") + "]"
        #expect(throws: NftablesBroker.Refusal.self) { try NftablesBroker.parse(try Self.request(#"{"op":"contain","allow":\#(many)}"#)) }
    }

    @Test func theRulesetNamesNoOtherTable() {
        let text = NftablesBroker.ruleset(addresses: ["10.0.0.0/8", "2001:db8::1"], ports: [22, 443])
        let tables = text.split(separator: "\n").filter { $0.contains("table") }
        #expect(tables.count == 3)
        #expect(tables.allSatisfy { $0.contains("table inet vigil_containment") })
        #expect(text.contains("ip daddr { 10.0.0.0/8 } accept") && text.contains("ip6 daddr { 2001:db8::1 } accept"))
        #expect(text.contains("th dport { 22, 443 } accept"))
    }

    @Test func aPluginWithoutTheGrantIsRefusedAndAFailedResultIsNotApplied() async {
        let broker = NftablesBroker(granted: ["network-containment"], program: "/bin/false")
        let asking = PluginResult(id: "r1", ok: true, evidence: ["nftables": .object(["op": .string("release")])])
        let other = await broker.handle(plugin: "webhook", result: asking, dryRun: false)
        #expect(!other.ok && other.detail.contains("does not grant it nftables"))
        let failed = PluginResult(id: "r2", ok: false, detail: "bad address", evidence: ["nftables": .object(["op": .string("release")])])
        #expect(await broker.handle(plugin: "network-containment", result: failed, dryRun: false) == failed)
        let plain = PluginResult(id: "r3", ok: true, detail: "nothing for nft")
        #expect(await broker.handle(plugin: "webhook", result: plain, dryRun: false) == plain)
    }

    /// In a network namespace of its own: containment creates and deletes its table and leaves a
    /// table it does not own exactly as it was, and a request naming that table changes nothing.
    @Test(.enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip")
                   && FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft"), "needs root, iproute2 and nftables"),
          .timeLimit(.minutes(1)))
    func anotherTableIsNeverTouched() async throws {
        let ns = "vigil-nb-\(UUID().uuidString.prefix(6).lowercased())"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(ns).path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let nft = dir + "/nft"
        try "#!/bin/sh\nexec /usr/sbin/ip netns exec \(ns) /usr/sbin/nft \"$@\"\n".write(toFile: nft, atomically: true, encoding: .utf8)
        chmod(nft, 0o755)
        #expect(NftablesBroker.run("/usr/sbin/ip", ["netns", "add", ns]).status == 0)
        defer { _ = NftablesBroker.run("/usr/sbin/ip", ["netns", "del", ns]) }
        let other = "table inet operator {\n  chain output {\n    type filter hook output priority 10; policy accept;\n    tcp dport 25 drop\n  }\n}\n"
        #expect(NftablesBroker.run(nft, ["-f", "-"], input: other).status == 0)
        let before = NftablesBroker.run(nft, ["list", "table", "inet", "operator"]).output

        let broker = NftablesBroker(granted: ["network-containment"], program: nft)
        func ask(_ request: String) async throws -> PluginResult {
            await broker.handle(plugin: "network-containment",
                                result: PluginResult(id: "r", ok: true, evidence: ["nftables": try Self.request(request)]), dryRun: false)
        }
        let contained = try await ask(#"{"op":"contain","allow":["10.77.0.2/32"]}"#)
        #expect(contained.ok, "\(contained)")
        #expect(NftablesBroker.run(nft, ["list", "table", "inet", "vigil_containment"]).output.contains("10.77.0.2"))
        let hijack = try await ask(#"{"op":"contain","table":"inet operator","allow":["0.0.0.0/0"]}"#)
        #expect(!hijack.ok && hijack.detail.contains("only table inet vigil_containment"), "\(hijack)")
        let released = try await ask(#"{"op":"release"}"#)
        #expect(released.ok, "\(released)")
        #expect(NftablesBroker.run(nft, ["list", "table", "inet", "vigil_containment"]).status != 0)
        #expect(NftablesBroker.run(nft, ["list", "table", "inet", "operator"]).output == before)
    }
}
