import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceLifecycle
import Testing
import VigilCore
import VigilDaemon
import VigilHTTP
import VigilSilences
import VigilStore

/// A stand-in endpoint that echoes what the controller handed it.
struct EchoEndpoint: SilencesEndpoint {
    func post(_ body: [UInt8], actor: String) async -> SilencesAnswer {
        SilencesAnswer(status: 200, body: Data(#"{"silenceID":"\#(actor)-\#(body.count)"}"#.utf8))
    }
    func list(filters: [String]) async -> SilencesAnswer { SilencesAnswer(status: 200, body: Data("\(filters)".utf8)) }
    func get(_ id: String) async -> SilencesAnswer { SilencesAnswer(status: id == "x" ? 404 : 200, body: Data()) }
    func delete(_ id: String, actor: String) async -> SilencesAnswer { SilencesAnswer(status: 200, body: Data()) }
}

@Suite struct SilencesControllerTests {
    @Test func routesBodiesAndContentTypes() async throws {
        let router = Router()
        SilencesController<BasicRequestContext>(endpoint: EchoEndpoint(), actor: { _, _ in "t" })
            .addRoutes(to: router.group("api/v2"))
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/api/v2/silences", method: .post,
                                     headers: [.contentType: "application/json; charset=utf-8"], body: ByteBuffer(string: "{}")) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body) == #"{"silenceID":"t-2"}"#)
            }
            try await client.execute(uri: "/api/v2/silences", method: .post, headers: [.contentType: "text/plain"],
                                     body: ByteBuffer(string: "{}")) { r in
                #expect(r.status.code == 415)
                #expect(String(buffer: r.body).contains(#"only [application/json] are allowed"#))
            }
            try await client.execute(uri: "/api/v2/silences", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(repeating: 0x20, count: 300_000)) { r in #expect(r.status.code == 413) }
            try await client.execute(uri: "/api/v2/silences?filter=a%3D%22b%22&filter=c%3Dd", method: .get) { r in
                #expect(String(buffer: r.body) == #"["a=\"b\"", "c=d"]"#)
            }
            try await client.execute(uri: "/api/v2/silence/x", method: .get) { r in #expect(r.status.code == 404) }
            try await client.execute(uri: "/api/v2/silence/y", method: .delete) { r in #expect(r.status.code == 200) }
        }
    }

    /// `amtool silence add/query/expire` against the silence routes over a real socket, backed by
    /// the daemon's silence service on a real SQLite file.
    @Test(.timeLimit(.minutes(2))) func amtoolWorksAgainstTheRoutes() async throws {
        let amtool = "/usr/bin/amtool"
        try #require(FileManager.default.isExecutableFile(atPath: amtool),
                     "amtool is missing: install the Debian package prometheus-alertmanager (APT_PACKAGES)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-http-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let store = try Store(path: dir + "/vigil.db")
        let clock = SystemClock()
        let service = try await SilenceService(store: store, clock: clock, logger: logger)
        let router = Router()
        SilencesController<BasicRequestContext>(endpoint: SilencesAPI(service: service, clock: clock), actor: { _, _ in "amtool" })
            .addRoutes(to: router.group("api/v2"))
        let (ports, portFeed) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { portFeed.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let url = "--alertmanager.url=http://127.0.0.1:\(port)"

            let added = await run(amtool, ["silence", "add", "alertname=DiskFull", #"instance=~"db[0-9]+""#,
                                           "--comment=disk swap", "--author=ana", url])
            #expect(added.status == 0, "\(added.err)")
            let id = added.out.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(UUID(uuidString: id) != nil, "\(added.out)")
            let query = await run(amtool, ["silence", "query", url])
            #expect(query.status == 0 && query.out.contains(id) && query.out.contains(#"instance=~"db[0-9]+""#), "\(query)")
            let filtered = await run(amtool, ["silence", "query", "-o", "json", "alertname=DiskFull", url])
            #expect(filtered.out.contains(id) && filtered.out.contains(#""createdBy":"ana""#), "\(filtered)")
            let refused = await run(amtool, ["silence", "add", #"a="""#, "--comment=x", url])
            #expect(refused.status != 0 && refused.err.contains("at least one matcher must not match the empty string"), "\(refused)")
            let expired = await run(amtool, ["silence", "expire", id, url])
            #expect(expired.status == 0, "\(expired.err)")
            #expect(service.silence(try #require(UUID(uuidString: id)))?.state(at: clock.now()) == .expired)
            let expiredList = await run(amtool, ["silence", "query", "--expired", url])
            #expect(expiredList.out.contains(id), "\(expiredList)")
            await group.triggerGracefulShutdown()
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Runs a program on a thread of its own (its wait must not hold a cooperative thread).
    func run(_ program: String, _ args: [String]) async -> (status: Int32, out: String, err: String) {
        await withCheckedContinuation { done in
            Thread.detachNewThread {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: program)
                p.arguments = args
                let out = Pipe(), err = Pipe()
                p.standardOutput = out
                p.standardError = err
                do { try p.run() } catch {
                    done.resume(returning: (-1, "", "\(error)"))
                    return
                }
                let o = out.fileHandleForReading.readDataToEndOfFile()
                let e = err.fileHandleForReading.readDataToEndOfFile()
                p.waitUntilExit()
                done.resume(returning: (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self)))
            }
        }
    }
}
