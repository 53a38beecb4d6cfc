import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import VigilControl
import VigilCore
import VigilHTTP
import VigilMetrics
import VigilStore

/// The host agent's side (`agent:` in the configuration): every rule signal this daemon's
/// detection produces — its plugins' rules, plugin failures, isolation breaches — is written to a
/// durable spool in the state folder's database, then forwarded to the central daemons oldest
/// first, a batch at a time, and forgotten only once a central daemon has acknowledged it.
///
/// A partition or a central restart loses nothing: the spool keeps filling (up to
/// `agent.spool_limit`, past which new signals are counted and logged as dropped) and drains in
/// order when a central daemon answers again. A lost answer makes the batch go again; the central
/// daemon applies each sequence number once. With nothing to send, the agent still calls in every
/// `agent.call_in` so the central daemons know it is alive.
public actor AgentForwarder {
    let store: Store
    let settings: AgentModeSettings
    let clock: any VigilClock
    let logger: Logger
    let metrics: VigilMetrics?
    let token: String
    /// The client's configuration, checked at start (its CA file read); the client itself is
    /// made at the first request and shut down with the service, so a daemon that stops before
    /// forwarding leaves nothing to shut down.
    let clientConfiguration: HTTPClient.Configuration
    var client: HTTPClient?
    var spool = ""
    var state = "starting"
    var connectedTo: String?
    var lastContact: Timestamp?
    var lastError: String?
    var forwarded = 0
    var dropped = 0
    var spooled = 0
    /// Which central URL the next request goes to (the next one after a failure).
    var target = 0
    var waiter: (id: Int, continuation: CheckedContinuation<Void, Never>)?
    var nextWaiter = 0
    var workPending = false
    /// Signals encoded but not yet in the spool (it could not be written), oldest first, with
    /// whether each is a resolved signal.
    var pending: [(body: Data, resolved: Bool)] = []
    var spoolFailing = false
    /// Signals per request now: halved when the central daemon finds a request too large.
    var batchCap: Int
    static let maximumPending = 100_000

    /// One request carries at most this many bytes of signals (and ``AgentModeSettings/batch`` signals).
    static let maximumRequestBytes = 1 << 20
    static let longestBackoff: Duration = .seconds(30)

    /// Reads the token file; throws a message naming the file when it cannot.
    public init(store: Store, settings: AgentModeSettings, clock: any VigilClock, logger: Logger, metrics: VigilMetrics?) throws {
        self.store = store
        self.settings = settings
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
        token = try Self.readToken(settings.tokenFile)
        batchCap = settings.batch
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = settings.caFile {
            // Read once at start: a missing or unreadable file stops the start, naming it.
            do { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) } catch {
                throw AgentSetupError("cannot read agent.ca_file \(caFile): \(error)")
            }
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow,
                                                     timeout: .init(connect: .seconds(5), read: Self.amount(settings.timeout + .seconds(Self.pollWait + 5))))
        configuration.connectionPool = .init(idleTimeout: .seconds(60))
        clientConfiguration = configuration
    }

    static func readToken(_ path: String) throws -> String {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw AgentSetupError("cannot read agent.token_file \(path): \(error.localizedDescription)")
        }
        guard data.count <= 4096, let text = String(data: data, encoding: .utf8) else {
            throw AgentSetupError("agent.token_file \(path) does not hold a token (vgl_…)")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, token.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw AgentSetupError("agent.token_file \(path) does not hold a token (vgl_…)")
        }
        return token
    }

    /// Makes or reads the spool's id; call before signals arrive.
    public func prepare() async throws {
        spool = try await store.agentSpoolIdentity(now: clock.now())
        spooled = try await store.agentSpoolCount()
        metrics?.agentSpoolDepth(spooled)
        logger.notice("host agent: forwarding to the central daemons", metadata: [
            "central": "\(settings.central.joined(separator: ", "))", "spool": "\(spool)", "spooled": "\(spooled)"])
    }

    /// Spools signals, durable when this returns, and wakes the forwarding loop. Each is first
    /// fitted to the bounds the central daemon holds signals to (``AgentWire/fit(_:)``), so none
    /// is refused there. If the spool cannot be written (a full disk), the signals wait in memory
    /// (at most ``maximumPending``), in order, and are spooled by the loop as soon as it can.
    public func enqueue(_ signals: [RuleSignal]) async {
        guard !signals.isEmpty else { return }
        let encoder = JSONEncoder()
        for s in signals {
            do { pending.append((try encoder.encode(AgentWire.fit(s)), s.transition == .resolved)) } catch {
                logger.error("host agent: a signal could not be encoded; it is lost", metadata: ["rule": "\(s.ruleID)", "error": "\(error)"])
            }
        }
        if pending.count > Self.maximumPending {
            let lost = pending.count - Self.maximumPending
            pending.removeLast(lost)
            count(dropped: lost, why: "the spool cannot be written and \(Self.maximumPending) signals already wait in memory")
        }
        await flushPending()
        wake()
    }

    /// Writes what waits in memory to the spool; keeps it there if the spool cannot be written.
    func flushPending() async {
        guard !pending.isEmpty else { return }
        let items = pending
        do {
            // A resolved signal may use a tenth more room: dropping it would leave its incident open for good.
            let (appended, lost) = try await store.appendToAgentSpool(items.map { ($0.body, $0.resolved) }, queuedAt: clock.now(),
                                                                      limit: settings.spoolLimit, reserve: settings.spoolLimit / 10)
            pending.removeFirst(min(items.count, pending.count))
            spooled += appended
            metrics?.agentSpoolDepth(spooled)
            if lost > 0 { count(dropped: lost, why: "the spool is full (agent.spool_limit \(settings.spoolLimit))") }
            if spoolFailing {
                spoolFailing = false
                logger.notice("host agent: the spool can be written again", metadata: ["spooled": "\(items.count)"])
            }
        } catch {
            if !spoolFailing {
                spoolFailing = true
                logger.error("host agent: signals cannot be spooled; they wait in memory", metadata: [
                    "waiting": "\(pending.count)", "error": "\(error)"])
            }
        }
    }

    private func count(dropped lost: Int, why: String) {
        dropped += lost
        metrics?.agentSpoolDropped(lost)
        logger.error("host agent: signals are dropped", metadata: ["dropped": "\(lost)", "why": "\(why)"])
    }

    // MARK: The loop

    /// Forwards until cancelled: the spool oldest first, a call-in when idle for `call_in`.
    func run() async {
        var failures = 0
        while !Task.isCancelled {
            await flushPending()
            let batch: [SpooledSignal]
            do { batch = try await nextBatch() } catch {
                logger.error("host agent: cannot read the spool", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            let due = lastContact.map { clock.now() - $0 >= settings.callIn } ?? true
            if batch.isEmpty && !due {
                let since = lastContact.map { clock.now() - $0 } ?? .zero
                await waitForWork(pending.isEmpty ? settings.callIn - since : .seconds(1))
                continue
            }
            if await send(batch) {
                failures = 0
            } else {
                failures += 1
                // 1 s, 2 s, 4 s … 30 s between attempts, on the next central daemon each time.
                let exponent = min(failures - 1, 5)
                let pause = min(Self.longestBackoff, .seconds(1 << exponent))
                try? await Task.sleep(for: pause)
            }
        }
    }

    /// The oldest spooled signals, at most ``batchCap`` and ``maximumRequestBytes`` (with the
    /// envelope's bytes per signal) — at least one.
    func nextBatch() async throws -> [SpooledSignal] {
        let rows = try await store.agentSpool(limit: batchCap)
        var bytes = 200
        var taken: [SpooledSignal] = []
        for r in rows {
            let size = r.body.count + 40
            if !taken.isEmpty && bytes + size > Self.maximumRequestBytes { break }
            bytes += size
            taken.append(r)
        }
        return taken
    }

    /// One request; true when a central daemon answered it (and what it acknowledged is forgotten).
    func send(_ batch: [SpooledSignal]) async -> Bool {
        let base = settings.central[target % max(1, settings.central.count)]
        let body = AgentWire.encode(spool: spool, spooled: Int64(max(0, spooled - batch.count)), agentVersion: VigilVersion.current,
                                    items: batch.map { ($0.seq, $0.body) })
        let answer: Data
        switch await post(base, "/api/v1/agents/signals", body: body, timeout: settings.timeout) {
        case .success(let data): answer = data
        case .failure(let reason):
            // Too large for the central daemon (413), or refused as malformed (400): smaller batches,
            // down to one signal; one signal still refused is dropped rather than holding the spool back.
            if (reason.hasPrefix("HTTP 413") || reason.hasPrefix("HTTP 400")), !batch.isEmpty {
                if batch.count > 1 {
                    batchCap = max(1, batch.count / 2)
                } else if let only = batch.first {
                    do {
                        try await store.removeFromAgentSpool(through: only.seq)
                        spooled = try await store.agentSpoolCount()
                    } catch {
                        logger.error("host agent: cannot drop a refused signal from the spool", metadata: ["error": "\(error)"])
                    }
                    count(dropped: 1, why: "the central daemon refused signal \(only.seq) alone: \(reason)")
                    return true
                }
            }
            return failed(base, reason, refused: reason.hasPrefix("HTTP 4"))
        }
        if batchCap < settings.batch { batchCap = min(settings.batch, batchCap * 2) }
        do {
            let ack = try JSONDecoder().decode(AgentAcknowledgement.self, from: answer)
            guard ack.spool == spool else { return failed(base, "the answer is about spool \(ack.spool), not \(spool)", refused: true) }
            if let acknowledged = ack.acknowledged, let last = batch.last?.seq {
                // Never forget more than was sent: an answer beyond it means this spool's numbers
                // went back (a restored state folder) and the central daemon takes new signals for
                // replays. A new spool id makes it take them again.
                if acknowledged > last {
                    logger.error("host agent: the central daemon has seen this spool further than it reaches; starting a new spool id",
                                 metadata: ["acknowledged": "\(acknowledged)", "sent_through": "\(last)"])
                    spool = try await store.renewAgentSpoolIdentity(now: clock.now())
                }
                let through = min(acknowledged, last)
                try await store.removeFromAgentSpool(through: through)
                forwarded += batch.count { $0.seq <= through }
                spooled = try await store.agentSpoolCount()
                metrics?.agentSpoolDepth(spooled)
            }
            for r in ack.refused {
                logger.error("host agent: the central daemon refused a signal", metadata: ["seq": "\(r.seq)", "reason": "\(r.reason)"])
            }
            if state != "forwarding" {
                logger.notice("host agent: connected to a central daemon", metadata: ["central": "\(base)", "spooled": "\(spooled)"])
            }
            state = "forwarding"
            connectedTo = base
            lastContact = clock.now()
            lastError = nil
            return true
        } catch {
            return failed(base, "\(error)", refused: false)
        }
    }

    private func failed(_ base: String, _ reason: String, refused: Bool) -> Bool {
        metrics?.agentForwardFailed()
        if state != "unreachable" || lastError != reason {
            // A refusal (a token of the wrong role, a revoked one) is not fixed by waiting: it is an error.
            let level: Logger.Level = refused ? .error : .warning
            logger.log(level: level, "host agent: the central daemon did not take the signals; they stay spooled", metadata: [
                "central": "\(base)", "reason": "\(reason)", "spooled": "\(spooled)"])
        }
        state = "unreachable"
        lastError = reason
        target += 1
        return false
    }

    // MARK: Containment actions the central daemons send

    /// Runs a containment action on this host (the response engine's ``ResponseEngine/runForCentral(_:)``).
    var executor: (@Sendable (AgentCommand) async -> AgentCommandResult)?
    func setExecutor(_ executor: @escaping @Sendable (AgentCommand) async -> AgentCommandResult) { self.executor = executor }
    var runningCommands = 0
    static let maximumRunningCommands = 16
    static let pollWait = 25

    /// Asks the central daemon for actions to run here, holding the request open up to
    /// ``pollWait`` seconds (so an action reaches the host at once and no port is opened on it),
    /// runs each, and sends back what it did.
    func pollLoop() async {
        var failures = 0
        while !Task.isCancelled {
            // The central daemon knows an agent once it has called in with its spool.
            guard let base = connectedTo, executor != nil else {
                try? await Task.sleep(for: .milliseconds(250))
                continue
            }
            let body = Data(#"{"wait_seconds":\#(Self.pollWait)}"#.utf8)
            switch await post(base, "/api/v1/agents/commands", body: body, timeout: settings.timeout + .seconds(Self.pollWait)) {
            case .success(let data):
                failures = 0
                let commands: [AgentCommand]
                do { commands = try JSONDecoder().decode(AgentCommandWire.Commands.self, from: data).commands } catch {
                    logger.error("host agent: the central daemon's actions could not be read", metadata: ["error": "\(error)"])
                    continue
                }
                for command in commands { start(command, answerTo: base) }
            case .failure(let reason):
                failures += 1
                if failures == 1 {
                    logger.warning("host agent: cannot ask the central daemon for actions", metadata: ["central": "\(base)", "reason": "\(reason)"])
                }
                try? await Task.sleep(for: min(Self.longestBackoff, .seconds(1 << min(failures - 1, 5))))
            }
        }
    }

    /// Ids of actions being run, and the results of the last ``rememberedResults`` run: the
    /// central daemon sends an unanswered action again with each poll.
    var runningIDs: Set<String> = []
    var results: [String: AgentCommandResult] = [:]
    var resultOrder: [String] = []
    static let rememberedResults = 1024

    private func start(_ command: AgentCommand, answerTo base: String) {
        guard let executor, !runningIDs.contains(command.id) else { return }
        if let done = results[command.id] {
            Task { await self.report(done, to: base) }
            return
        }
        guard runningCommands < Self.maximumRunningCommands else {
            let refused = AgentCommandResult(id: command.id, ok: false, unavailable: false,
                                             detail: "host agent busy: \(Self.maximumRunningCommands) actions already running", evidence: [:])
            Task { await self.report(refused, to: base) }
            return
        }
        runningCommands += 1
        runningIDs.insert(command.id)
        Task {
            let result = await executor(command)
            await self.finished(result, to: base)
        }
    }

    private func finished(_ result: AgentCommandResult, to base: String) async {
        runningCommands -= 1
        runningIDs.remove(result.id)
        results[result.id] = result
        resultOrder.append(result.id)
        if resultOrder.count > Self.rememberedResults { results[resultOrder.removeFirst()] = nil }
        await report(result, to: base)
    }

    /// Sends one result, a few times if the central daemon does not answer.
    private func report(_ result: AgentCommandResult, to base: String) async {
        guard let body = try? JSONEncoder().encode(AgentCommandWire.Results(results: [result])) else { return }
        for attempt in 0..<5 {
            let target = attempt == 0 ? base : (connectedTo ?? base)
            if case .success = await post(target, "/api/v1/agents/results", body: body, timeout: settings.timeout) { return }
            try? await Task.sleep(for: .seconds(1 << attempt))
        }
        logger.error("host agent: the result of an action could not be sent; the central daemon will record it as unanswered",
                     metadata: ["action_request": "\(result.id)"])
    }

    enum Posted { case success(Data), failure(String) }

    private func post(_ base: String, _ path: String, body: Data, timeout: Duration) async -> Posted {
        var request = HTTPClientRequest(url: base + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await httpClient().execute(request, timeout: Self.amount(timeout))
            let answer = try await response.body.collect(upTo: 8 << 20)
            guard response.status == .ok else { return .failure("HTTP \(response.status.code): \(String(buffer: answer).prefix(300))") }
            return .success(Data(answer.readableBytesView))
        } catch {
            return .failure("\(error)")
        }
    }

    private func httpClient() -> HTTPClient {
        if let client { return client }
        let made = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: clientConfiguration)
        client = made
        return made
    }

    static func amount(_ d: Duration) -> TimeAmount {
        let (seconds, atto) = d.components
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .hours(24) : .nanoseconds(ns + atto / 1_000_000_000)
    }

    // MARK: Waiting for work

    private func waitForWork(_ limit: Duration) async {
        if workPending {
            workPending = false
            return
        }
        let id = nextWaiter
        nextWaiter += 1
        let timer = Task { [weak self] in
            try? await Task.sleep(for: limit)
            await self?.wake(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { waiter = (id, $0) }
        } onCancel: {
            Task { [weak self] in await self?.wake(id) }
        }
        timer.cancel()
        workPending = false
    }

    private func wake(_ id: Int? = nil) {
        guard let w = waiter else {
            if id == nil { workPending = true }
            return
        }
        if let id, w.id != id { return }
        waiter = nil
        w.continuation.resume()
    }

    func shutdown() async {
        let current = client
        client = nil
        try? await current?.shutdown()
    }

    // MARK: View

    public func view() -> AgentModeView {
        AgentModeView(central: settings.central, connectedTo: connectedTo, state: state, spool: spool, spooled: spooled,
                      dropped: dropped, forwarded: forwarded, lastContactAt: lastContact.map(RFC3339.format), lastError: lastError)
    }
}

/// Why the host agent cannot start (its token file).
public struct AgentSetupError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Runs the host agent's forwarding loop until graceful shutdown.
public struct AgentForwarderService: Service {
    let forwarder: AgentForwarder

    public init(forwarder: AgentForwarder) { self.forwarder = forwarder }

    public func run() async throws {
        let forwarder = self.forwarder
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await forwarder.run() }
                group.addTask { await forwarder.pollLoop() }
            }
        }
        await forwarder.shutdown()
    }
}
