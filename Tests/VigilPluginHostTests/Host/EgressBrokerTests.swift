import Foundation
import Testing
import VigilBus
import VigilConfig
import VigilCore
@testable import VigilPluginHost

/// Brokered egress for real: a notifier under `vigil-sandbox` with `network: brokered` reaches a
/// declared destination through the daemon's broker, and nothing else.
@Suite(.serialized, .enabled(if: SandboxHarness.available, "needs root and the vigil-sandbox binary"))
struct EgressBrokerTests {
    /// A notifier that, per request, connects through the SDK to `incident.port` on 127.0.0.1,
    /// sends a line and answers with the reply; `incident.probe` instead tries what a hostile
    /// plugin would (its own socket, re-pointing the brokered one).
    static let notifier = """
        #!/usr/bin/env python3
        import ctypes, errno, os, socket, sys
        sys.path.insert(0, os.environ["VIGIL_SDK"])
        import vigil_plugin
        plugin = vigil_plugin.Plugin("brokered", "1.0")
        libc = ctypes.CDLL(None, use_errno=True)

        def deliver(request):
            incident = request["incident"]
            probe = incident.get("probe")
            if probe == "own-socket":
                socket.create_connection(("127.0.0.1", int(incident["port"])), timeout=2)
                return True, "connected by itself"
            if probe in ("junk", "flood"):
                # Everything but a request: no reply socket, a pipe for one, four descriptors, an
                # empty datagram, an oversized one, and JSON that is not a request.
                broker = socket.socket(fileno=os.dup(5))
                r, w = os.pipe()
                a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                if probe == "flood":
                    # Without descriptors (the kernel caps those in flight at the sender's own
                    # open-files limit): the broker gives up on the plugin at its 100th.
                    for _ in range(150):
                        broker.send(b'{"host":"127.0.0.1","port":1}')
                        broker.send(b"")
                    return True, "flooded"
                broker.send(b'{"host":"127.0.0.1","port":1}')
                socket.send_fds(broker, [b'{"host":"127.0.0.1","port":1}'], [r])
                socket.send_fds(broker, [b'{"host":"127.0.0.1","port":1}'], [b.fileno(), b.fileno(), r, w])
                broker.send(b"")
                broker.send(b"x" * 5000)
                socket.send_fds(broker, [b'[1,2'], [b.fileno()])
                answer = a.recv(4096).decode()
                s = vigil_plugin.connect("127.0.0.1", int(incident["port"]), timeout=5)
                s.sendall(b"ping\\n")
                return True, answer + " then " + s.makefile("rb").readline().decode().strip()
            s = vigil_plugin.connect(incident.get("host", "127.0.0.1"), int(incident["port"]), timeout=5)
            if probe == "unspec":
                # connect(AF_UNSPEC) would detach the brokered socket for another destination.
                unspec = (ctypes.c_ubyte * 16)()
                rc = libc.connect(s.fileno(), ctypes.byref(unspec), 16)
                return True, "unspec rc=%d errno=%s" % (rc, errno.errorcode.get(ctypes.get_errno(), "0"))
            if probe == "ip-options":
                # IPv4 loose source routing would carry the packets to another host: a breach.
                s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, bytes([0x83, 7, 4, 192, 0, 2, 1, 0]))
                return True, "set IP_OPTIONS"
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # other options run
            s.sendall(b"ping\\n")
            answer = s.makefile("rb").readline().decode().strip()
            s.close()
            return True, answer

        plugin.run_notifier(deliver)
        """

    /// A TCP server on 127.0.0.1 answering each line with `pong:LINE`, on threads of its own.
    final class LineServer: @unchecked Sendable {
        let fd: Int32
        let port: UInt16

        init() throws {
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0, listen(listener, 16) == 0 else { close(listener); throw POSIXError(.EADDRINUSE) }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
            }
            fd = listener
            port = UInt16(bigEndian: address.sin_port)
            Thread {
                while true {
                    let client = accept(listener, nil, nil)
                    guard client >= 0 else { return }
                    Thread {
                        defer { close(client) }
                        var line: [UInt8] = []
                        var byte: UInt8 = 0
                        while read(client, &byte, 1) == 1, byte != 10 { line.append(byte) }
                        let answer = Array("pong:\(String(decoding: line, as: UTF8.self))\n".utf8)
                        _ = write(client, answer, answer.count)
                    }.start()
                }
            }.start()
        }

        func stop() { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
    }

    static func manifest(_ world: PluginWorld, egress: [String]) throws -> PluginManifest {
        try world.folder("brokered", program: nil, manifest: """
            name: brokered
            kind: notifier
            exec: notifier.py
            protocol: 1
            sandbox:
              network: brokered
              egress: [\(egress.map { "\"\($0)\"" }.joined(separator: ", "))]
              read_paths: [\(PluginWorld.sdk)]
              env: { VIGIL_SDK: \(PluginWorld.sdk) }
              limits: { memory: 256 MiB, processes: 16, open_files: 64 }
            """, files: ["notifier.py": notifier])
    }

    @Test(.timeLimit(.minutes(2)))
    func aDeclaredDestinationIsConnectedAndNothingElse() async throws {
        let server = try LineServer()
        defer { server.stop() }
        let other = try LineServer()
        defer { other.stop() }
        let world = try PluginWorld(policy: .noRestartsDuringATest)
        await world.start([try Self.manifest(world, egress: ["127.0.0.1:\(server.port)", "localhost:\(server.port)"])])
        #expect(await world.eventually { await world.host.status("brokered")?.state == .running })

        // Declared, by address and by name (the broker resolves it): the server's answer comes back.
        let ok = try await world.host.notify("brokered", incident: .object(["port": .number(Double(server.port))]), title: "t", body: "b")
        #expect(ok.ok && ok.detail == "pong:ping", "\(ok.detail)")
        let byName = try await world.host.notify("brokered", incident: .object(["host": .string("localhost"), "port": .number(Double(server.port))]),
                                                 title: "t", body: "b")
        #expect(byName.ok && byName.detail == "pong:ping", "\(byName.detail)")

        // The brokered socket cannot be pointed elsewhere: connect (even AF_UNSPEC) is refused.
        let unspec = try await world.host.notify("brokered", incident: .object(["port": .number(Double(server.port)), "probe": .string("unspec")]),
                                                 title: "t", body: "b")
        #expect(unspec.detail == "unspec rc=-1 errno=EPERM", "\(unspec.detail)")

        // Another port on the same host is not declared: refused, a breach naming it, quarantined.
        // (The quarantine may stop the plugin before its own answer, the refusal, reaches the host.)
        let refused = try? await world.host.notify("brokered", incident: .object(["port": .number(Double(other.port))]), title: "t", body: "b")
        #expect(refused?.ok != true)
        if let refused { #expect(refused.detail.contains("127.0.0.1:\(other.port) is not declared under sandbox.egress"), "\(refused.detail)") }
        var breach: (name: String, value: Double, lane: Lane, labels: [String: String], source: String)?
        #expect(await world.eventually {
            breach = world.drained().first { $0.name == "plugin_isolation_breach_detected" }
            return breach != nil
        })
        #expect(breach?.lane == .security)
        #expect(breach?.labels["plugin"] == "brokered")
        #expect(breach?.labels["syscall"] == "connect")
        #expect(breach?.labels["destination"] == "127.0.0.1:\(other.port)")
        #expect(await world.eventually { await world.host.status("brokered")?.state == .quarantined })
        #expect(await world.host.status("brokered")?.counters.breaches == 1)
        await world.stop()
    }

    /// Runs `probe` in a fresh brokered notifier: the breach it raised (its labels), once the
    /// plugin is quarantined.
    static func breach(of probe: String) async throws -> [String: String]? {
        let server = try LineServer()
        defer { server.stop() }
        let world = try PluginWorld(policy: .noRestartsDuringATest)
        await world.start([try Self.manifest(world, egress: ["127.0.0.1:\(server.port)"])])
        #expect(await world.eventually { await world.host.status("brokered")?.state == .running })
        let result = try? await world.host.notify("brokered", incident: .object(["port": .number(Double(server.port)), "probe": .string(probe)]),
                                                  title: "t", body: "b", deadline: .seconds(10))
        #expect(result?.ok != true || probe == "flood", "\(String(describing: result))")
        var breach: [String: String]?
        #expect(await world.eventually {
            breach = world.drained().first { $0.name == "plugin_isolation_breach_detected" }?.labels
            return breach != nil
        })
        #expect(await world.eventually { await world.host.status("brokered")?.state == .quarantined })
        await world.stop()
        return breach
    }

    @Test(.timeLimit(.minutes(2)))
    func reroutingTheBrokeredSocketIsABreach() async throws {
        #expect(try await Self.breach(of: "ip-options")?["syscall"] == "setsockopt")
    }

    @Test(.timeLimit(.minutes(2)))
    func aSocketOfItsOwnIsABreach() async throws {
        #expect(try await Self.breach(of: "own-socket")?["syscall"] == "socket")
    }

    /// Requests that are not requests — no reply socket, a pipe as one, four descriptors, empty,
    /// oversized, not JSON — are dropped (the last answered), and the broker still serves: the
    /// plugin's next connection works. A flood of them is a breach.
    @Test(.timeLimit(.minutes(2)))
    func malformedRequestsAreDroppedAndAFloodIsABreach() async throws {
        let server = try LineServer()
        defer { server.stop() }
        let world = try PluginWorld(policy: .noRestartsDuringATest)
        await world.start([try Self.manifest(world, egress: ["127.0.0.1:\(server.port)"])])
        #expect(await world.eventually { await world.host.status("brokered")?.state == .running })
        let junk = try await world.host.notify("brokered", incident: .object(["port": .number(Double(server.port)), "probe": .string("junk")]),
                                               title: "t", body: "b", deadline: .seconds(10))
        #expect(junk.ok && junk.detail.contains("malformed request") && junk.detail.hasSuffix("then pong:ping"), "\(junk.detail)")
        #expect(await world.host.status("brokered")?.state == .running)
        await world.stop()
        let flood = try await Self.breach(of: "flood")
        #expect(flood?["destination"] == "(malformed requests)", "\(flood ?? [:])")
    }
}

/// The broker's request reader and the manifest's and policy's egress forms.
struct EgressRequestTests {
    @Test func requestsAreReadStrictly() {
        #expect(EgressBroker.parse(Array(#"{"host":"smtp.example.org","port":587}"#.utf8))
            == .connect(host: "smtp.example.org", port: 587, timeout: EgressBroker.defaultTimeout))
        #expect(EgressBroker.parse(Array(#"{"host":"a","port":25,"timeout_ms":1e12}"#.utf8))
            == .connect(host: "a", port: 25, timeout: EgressBroker.maximumTimeout))
        for bad in [#"{"host":"a","port":0}"#, #"{"host":"a","port":65536}"#, #"{"host":"a","port":1.5}"#, #"{"host":"","port":1}"#,
                    #"{"port":1}"#, #"{"host":"a","port":"25"}"#, #"{"host":"a","port":25,"timeout_ms":-1}"#, "[]", "nul", ""] {
            guard case .malformed = EgressBroker.parse(Array(bad.utf8)) else {
                Issue.record("accepted \(bad)")
                continue
            }
        }
        #expect(EgressBroker.escaped("a\"b\\c\nd") == #"a\"b\\c\u000ad"#)
    }

    @Test func destinationsParseAndMatch() throws {
        let d = try #require(EgressDestination(parsing: "SMTP.Example.org.:587"))
        #expect(d.host == "smtp.example.org" && d.port == 587)
        #expect(d.matches(host: "smtp.example.ORG", port: 587) && !d.matches(host: "smtp.example.org", port: 25))
        #expect(EgressDestination(parsing: "[2001:db8::1]:443")?.host == "2001:db8::1")
        #expect(EgressDestination(parsing: "[2001:db8::1]:443")?.description == "[2001:db8::1]:443")
        for bad in ["example.org", "example.org:0", "example.org:70000", ":25", "2001:db8::1:443", "a b:25", "-a.org:25", "[x]:1",
                    "a..b:25", "ex\u{0}ample:25"] {
            #expect(EgressDestination(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func thePolicyBoundsEgress() throws {
        let d = try #require(EgressDestination(parsing: "hooks.slack.com:443"))
        #expect(PluginCeiling.allows(d, ["*"]))
        #expect(PluginCeiling.allows(d, ["*.slack.com:443"]))
        #expect(PluginCeiling.allows(d, ["hooks.slack.com:*"]))
        #expect(PluginCeiling.allows(d, ["*:443"]))
        #expect(!PluginCeiling.allows(d, ["*.slack.com:80", "slack.com:443", "evil.com:*"]))
        #expect(!PluginCeiling.allows(try #require(EgressDestination(parsing: "notslack.com:443")), ["*.slack.com:443"]))
        #expect(PluginCeiling.isEgressPattern("*.example.org:25") && PluginCeiling.isEgressPattern("[::1]:25"))
        #expect(!PluginCeiling.isEgressPattern("example.org") && !PluginCeiling.isEgressPattern("a:0"))
        var manifest = PluginManifest(name: "n", kind: .notifier, directory: "/tmp", executable: "/bin/true")
        manifest.sandbox.network = .brokered
        manifest.sandbox.egress = [d]
        let policy = PluginPolicy(defaultCeiling: PluginCeiling(networks: [.brokered], egress: ["smtp.example.org:587"]))
        #expect(policy.violations(of: manifest).map(\.field) == ["sandbox.egress"])
    }

    /// The shipped policy bounds each notifier to its own service: a grant's egress is not
    /// widened by a default that allows everything.
    @Test func theShippedPolicyBoundsEachNotifiersEgress() throws {
        let config = try ConfigLoader.load(path: SandboxHarness.repository.appendingPathComponent("Config/vigil.yaml").path)
        func asks(_ plugin: String, _ destination: String) throws -> [String] {
            var manifest = PluginManifest(name: plugin, kind: .notifier, directory: "/tmp", executable: "/bin/true")
            manifest.sandbox.network = .brokered
            manifest.sandbox.egress = [try #require(EgressDestination(parsing: destination))]
            return config.plugins.policy.violations(of: manifest).map(\.field)
        }
        #expect(try asks("slack", "slack.com:443").isEmpty)
        #expect(try asks("slack", "evil.example:443") == ["sandbox.egress"])
        #expect(try asks("pagerduty", "127.0.0.1:9093") == ["sandbox.egress"])
        #expect(try asks("email", "smtp.example.org:587").isEmpty)
        #expect(try asks("unknown-notifier", "slack.com:443") == ["sandbox.network", "sandbox.egress"])
    }
}
