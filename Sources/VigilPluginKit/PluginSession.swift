#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
@_exported import VigilCore
@_exported import VigilPluginProtocol

/// Entry points for plugins written in Swift. Each one does the handshake on fd 3, answers the
/// daemon's heartbeats, and exits when the daemon says `shutdown` or goes away:
///
/// ```swift
/// @main struct Hello {
///     static func main() async {
///         await VigilPlugin.detector(name: "hello", version: "1.0") { vigil in
///             while !vigil.isShuttingDown {
///                 vigil.metric("hello_total", 1)
///                 await vigil.sleep(for: .seconds(5))
///             }
///         }
///     }
/// }
/// ```
public enum VigilPlugin {
    /// Runs a detector: `body` emits events through the context until it returns or the daemon
    /// asks the plugin to stop (the task is cancelled; ``DetectorContext/isShuttingDown`` turns true).
    public static func detector(name: String, version: String = "0", batchSize: Int = 1000,
                                flushInterval: Duration = .milliseconds(50),
                                _ body: @escaping @Sendable (DetectorContext) async throws -> Void) async -> Never {
        let (session, reader) = PluginSession.connect(name: name, version: version)
        let context = DetectorContext(session: session, batchSize: batchSize)
        let work = Task { try await body(context) }
        session.serve(reader, requests: { _ in nil }, onStop: { work.cancel() })
        let flusher = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: flushInterval)
                context.flush()
            }
        }
        let outcome = await work.result
        flusher.cancel()
        context.flush()
        if case .failure(let error) = outcome, !(error is CancellationError), !session.isStopping {
            PluginSession.fail("detector failed: \(error)", code: 1)
        }
        exit(0)
    }

    /// Runs a notifier: `handle` delivers each `notify` and returns its result (a thrown error
    /// becomes a result with `ok: false` and the error as detail).
    public static func notifier(name: String, version: String = "0",
                                _ handle: @escaping @Sendable (NotifyRequest, PluginContext) async throws -> PluginResult) async -> Never {
        await serveRequests(name: name, version: version) { message, context in
            guard case .notify(let request) = message else { return nil }
            do { return try await handle(request, context) } catch {
                return PluginResult(id: request.id, ok: false, detail: "\(error)")
            }
        }
    }

    /// Runs an action plugin: `handle` carries out each `act` (honouring `dryRun`) and returns its result.
    public static func action(name: String, version: String = "0",
                              _ handle: @escaping @Sendable (ActRequest, PluginContext) async throws -> PluginResult) async -> Never {
        await serveRequests(name: name, version: version) { message, context in
            guard case .act(let request) = message else { return nil }
            do { return try await handle(request, context) } catch {
                return PluginResult(id: request.id, ok: false, detail: "\(error)")
            }
        }
    }

    private static func serveRequests(name: String, version: String,
                                      _ handle: @escaping @Sendable (PluginMessage, PluginContext) async -> PluginResult?) async -> Never {
        let (session, reader) = PluginSession.connect(name: name, version: version)
        let context = PluginContext(session: session)
        let stopped = AsyncStream<Void>.makeStream()
        session.serve(reader, requests: { message in await handle(message, context) },
                      onStop: { stopped.continuation.finish() })
        for await _ in stopped.stream {}
        exit(0)
    }
}

/// What every plugin can do besides its own job: read its configuration, log, know it is stopping.
public class PluginContext: @unchecked Sendable {
    let session: PluginSession

    init(session: PluginSession) { self.session = session }

    /// The `config:` mapping of the plugin's manifest, as the daemon sent it in `welcome`.
    public var config: JSONValue { session.config }

    /// True once the daemon asked the plugin to stop (or went away).
    public var isShuttingDown: Bool { session.isStopping }

    /// The plugin's own writable folder (`VIGIL_DATA_DIR`): made by vigild, owned by this
    /// plugin's uid, mode 0700, kept across restarts; nil when the daemon gave none.
    public var dataDirectory: String? { ProcessInfo.processInfo.environment["VIGIL_DATA_DIR"] }

    /// A line in the daemon's log, attributed to this plugin.
    public func log(_ level: String = "info", _ message: String) {
        session.socket.send(.log(LogLine(level: level, message: message)))
    }

    /// Sleeps, returning early when the plugin is asked to stop.
    public func sleep(for duration: Duration) async {
        try? await Task.sleep(for: duration)
    }
}

/// The connection and lifecycle shared by every kind of plugin.
final class PluginSession: Sendable {
    let socket: PluginSocket
    let config: JSONValue
    private let stopping = Atomic<Bool>(false)

    private init(socket: PluginSocket, config: JSONValue) {
        self.socket = socket
        self.config = config
    }

    var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Says hello and waits for `welcome`; exits with a message on stderr when that fails.
    static func connect(name: String, version: String) -> (PluginSession, PluginReader) {
        let socket = PluginSocket()
        guard socket.isConnected else {
            fail("fd 3 is not a socket: this program is a Vigil plugin and is started by vigild (see Docs/plugin-authoring.md)", code: 2)
        }
        guard socket.send(.hello(Hello(plugin: name, version: version))) else { fail("cannot send hello on fd 3", code: 2) }
        var reader = PluginReader(fd: socket.fd)
        do {
            switch try reader.next() {
            case .welcome(let welcome): return (PluginSession(socket: socket, config: welcome.config), reader)
            case .reject(let reason): fail("vigild rejected the handshake: \(reason)", code: 2)
            case let other: fail("expected welcome or reject, got \(other.typeName)", code: 2)
            }
        } catch {
            fail("handshake failed: \(error)", code: 2)
        }
    }

    /// Starts the reader thread: answers pings, runs requests, and calls `onStop` at `shutdown`;
    /// exits the process at once when the daemon goes away.
    func serve(_ reader: PluginReader, requests: @escaping @Sendable (PluginMessage) async -> PluginResult?,
               onStop: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            var reader = reader
            while true {
                let message: PluginMessage
                do { message = try reader.next() } catch {
                    // The daemon is gone (end of file) or broke the protocol: nobody is left to
                    // report to, and a plugin must not outlive its daemon (seen: system-metrics
                    // still running minutes after vigild crashed, holding its uid), whatever its
                    // body is doing. No flush, no cancellation to wait for.
                    _exit(0)
                }
                switch message {
                case .ping(let seq): socket.send(.pong(seq: seq))
                case .shutdown:
                    stopping.store(true, ordering: .releasing)
                    onStop()
                case .notify, .act:
                    Task {
                        if let result = await requests(message) { self.socket.send(.result(result)) }
                    }
                case .pong, .welcome, .reject, .hello, .events, .result, .log:
                    break
                }
            }
        }
        thread.name = "vigil-plugin-reader"
        thread.start()
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(code)
    }
}
