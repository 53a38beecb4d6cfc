import Foundation
import Testing

/// Issue 16, point 6: an SDK plugin exits when its socket closes, whatever its body does.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "needs python3"))
struct SDKLifetimeTests {
    static let repository = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// One length-prefixed frame read from `fd` (nil at end of file).
    func readFrame(_ fd: Int32) -> String? {
        func exactly(_ n: Int) -> [UInt8]? {
            var out: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: n)
            while out.count < n {
                let got = read(fd, &buffer, n - out.count)
                if got <= 0 { return nil }
                out += buffer[0..<got]
            }
            return out
        }
        guard let header = exactly(4) else { return nil }
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        guard length > 0, length < 1 << 20, let body = exactly(length) else { return nil }
        return String(decoding: body, as: UTF8.self)
    }

    func writeFrame(_ fd: Int32, _ json: String) {
        let body = Array(json.utf8)
        let n = UInt32(body.count)
        let frame = [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + body
        _ = frame.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Starts behave.py in `mode` with fd 3 on a socketpair; returns its pid and the daemon's end.
    func spawnBehave(_ mode: String) -> (pid: pid_t, fd: Int32)? {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else { return nil }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pair[1], 3)  // dup2 clears close-on-exec
        let script = Self.repository + "/Tests/VigilPluginHostTests/Fixtures/python/behave.py"
        let argv: [UnsafeMutablePointer<CChar>?] = ["/usr/bin/python3", script, mode, mode].map { (s: String) in strdup(s) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = ["VIGIL_SDK=\(Self.repository)/Plugins/sdk/python", "PATH=/usr/bin:/bin"].map { (s: String) in strdup(s) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/usr/bin/python3", &actions, nil, argv, envp)
        close(pair[1])
        guard spawned == 0 else { close(pair[0]); return nil }
        return (pid, pair[0])
    }

    /// The SDK answers notify requests on a bounded pool of worker threads (each thread counts
    /// against the sandbox's `processes`; a thread per request ran into it under load and the
    /// plugin died), and its reader keeps answering pings while every worker is busy.
    @Test(.timeLimit(.minutes(1)))
    func aPythonNotifierAnswersABurstOnABoundedPoolAndKeepsAnsweringPings() throws {
        let plugin = try #require(spawnBehave("counting-notifier"))
        defer { close(plugin.fd); kill(plugin.pid, SIGKILL); var s: Int32 = 0; waitpid(plugin.pid, &s, 0) }
        #expect(readFrame(plugin.fd)?.contains("\"hello\"") == true)
        writeFrame(plugin.fd, #"{"type":"welcome","protocol":1,"config":{}}"#)
        let burst = 60
        for i in 0..<burst {
            writeFrame(plugin.fd, #"{"type":"notify","id":"r\#(i)","incident":{},"message":{"title":"t","body":"b"},"deadline_ms":30000}"#)
        }
        writeFrame(plugin.fd, #"{"type":"ping","seq":7}"#)
        var answered = Set<String>()
        var pongAfter: Int?
        var most = 0, threads = 0
        while answered.count < burst, let frame = readFrame(plugin.fd) {
            let json = try #require(try JSONSerialization.jsonObject(with: Data(frame.utf8)) as? [String: Any])
            switch json["type"] as? String {
            case "pong": pongAfter = answered.count
            case "result":
                #expect(json["ok"] as? Bool == true, "\(frame)")
                answered.insert(json["id"] as? String ?? "?")
                let detail = (json["detail"] as? String ?? "").split(separator: " ")
                for part in detail {
                    let kv = part.split(separator: "=")
                    if kv.count == 2, let n = Int(kv[1]) { if kv[0] == "most" { most = max(most, n) } else { threads = max(threads, n) } }
                }
            default: break
            }
        }
        #expect(answered.count == burst)
        #expect(most > 1 && most <= 4, "at most 4 requests at once (saw \(most))")
        #expect(threads <= 6, "main, reader and 4 workers (saw \(threads))")
        // Sent after the 60 requests, answered long before the last of them (60 × 50 ms / 4 ≈ 0.75 s).
        #expect((pongAfter ?? burst) < burst - 8, "the pong came after \(pongAfter ?? -1) results")
    }

    @Test(.timeLimit(.minutes(1)))
    func aPythonDetectorThatIgnoresStoppingExitsWhenItsSocketCloses() throws {
        var pair: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pair[1], 3)  // dup2 clears close-on-exec
        let script = Self.repository + "/Tests/VigilPluginHostTests/Fixtures/python/behave.py"
        let argv: [UnsafeMutablePointer<CChar>?] = ["/usr/bin/python3", script, "stubborn", "stubborn"].map { (s: String) in strdup(s) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = ["VIGIL_SDK=\(Self.repository)/Plugins/sdk/python", "PATH=/usr/bin:/bin"].map { (s: String) in strdup(s) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        #expect(posix_spawn(&pid, "/usr/bin/python3", &actions, nil, argv, envp) == 0)
        close(pair[1])
        let hello = readFrame(pair[0])
        #expect(hello?.contains("\"hello\"") == true)
        writeFrame(pair[0], #"{"type":"welcome","protocol":1,"config":{}}"#)
        // The daemon goes away.
        close(pair[0])
        var status: Int32 = 0
        var exited = false
        for _ in 0..<1000 where !exited {  // ≤ 10 s; the SDK exits within milliseconds
            if waitpid(pid, &status, WNOHANG) == pid { exited = true } else { usleep(10_000) }
        }
        if !exited { kill(pid, SIGKILL); waitpid(pid, &status, 0) }
        #expect(exited, "the plugin still ran after its socket closed")
    }
}
