import Foundation
import Hummingbird
import VigilCore

/// Where forwarded signals are applied, implemented by the central daemon's agent service.
public protocol AgentIntake: Sendable {
    /// Applies what `agent` forwarded (each signal once, in order) and records its call-in;
    /// returns once that is stored. Throws ``AgentIntakeRefusal`` for a refusal that names why.
    func receive(agent: String, batch: AgentBatch) async throws -> AgentAcknowledgement
    /// The containment actions waiting for `agent`, waiting up to `wait` for one; a call-in too.
    func commands(agent: String, wait: Duration) async throws -> [AgentCommand]
    /// What `agent` answers about actions it was given; results about other agents' actions or
    /// unknown ones are ignored. Returns how many were taken.
    func results(agent: String, _ results: [AgentCommandResult]) async -> Int
}

/// A forwarded request the agent service will not take (a new agent beyond the limit).
public struct AgentIntakeRefusal: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// 403 (not allowed) or 409 (not now: a request of the same agent is still being applied).
    public var status: Int
    public init(_ message: String, status: Int = 403) {
        self.message = message
        self.status = status
    }
    public var description: String { message }
}

/// The host agents' routes. Only a token of role `agent` may call them (the access middleware
/// refuses every other role); the agent is its token's person, never a field of a body.
/// - `POST /api/v1/agents/signals`: forward what the agent saw (rule signals, plugin failures,
///   isolation breaches) and call in.
/// - `POST /api/v1/agents/commands`: the agent's long poll for containment actions to run on its
///   host (the agent keeps the connection, so no port is opened on hosts).
/// - `POST /api/v1/agents/results`: what those actions did.
/// The list of agents (`GET /api/v1/agents`) is a control command like any other.
public struct AgentsController: HTTPController {
    let services: HTTPServices

    public init(services: HTTPServices) { self.services = services }

    public func addRoutes(to router: Router<VigilRequestContext>) {
        let services = self.services
        router.post("/api/v1/agents/signals") { request, context in
            let (intake, agent) = try Self.agent(services, context)
            let body = try await Self.collect(request, context: context, limit: AgentLimits.maximumBodyBytes)
            let batch: AgentBatch
            switch Result(catching: { () throws(AgentWire.Refusal) -> AgentBatch in
                try AgentWire.decode(body, now: services.clock.now())
            }) {
            case .success(let decoded): batch = decoded
            case .failure(let refusal): throw APIError(.badRequest, refusal.message)
            }
            // One line per request, however many were refused (the first reason stands for them).
            if let first = batch.refused.first {
                context.logger.warning("forwarded signals were refused", metadata: [
                    "agent": "\(agent)", "refused": "\(batch.refused.count)", "first_seq": "\(first.seq)", "reason": "\(first.reason)"])
            }
            do {
                return try JSONResponse.encode(try await intake.receive(agent: agent, batch: batch))
            } catch let refusal as AgentIntakeRefusal {
                throw APIError(refusal.status == 409 ? .conflict : .forbidden, refusal.message)
            } catch {
                context.logger.error("forwarded signals could not be stored", metadata: [
                    "agent": "\(agent)", "signals": "\(batch.items.count)", "error": "\(error)"])
                throw APIError(.internalServerError, "the signals could not be stored: \(error)")
            }
        }
        router.post("/api/v1/agents/commands") { request, context in
            let (intake, agent) = try Self.agent(services, context)
            let poll: AgentCommandWire.Poll = try Self.decode(try await Self.collect(request, context: context, limit: 4096))
            let wait = Duration.seconds(min(max(0, poll.waitSeconds), AgentCommandWire.longestWait))
            do {
                return try JSONResponse.encode(AgentCommandWire.Commands(commands: try await intake.commands(agent: agent, wait: wait)))
            } catch let refusal as AgentIntakeRefusal {
                throw APIError(.forbidden, refusal.message)
            }
        }
        router.post("/api/v1/agents/results") { request, context in
            let (intake, agent) = try Self.agent(services, context)
            let posted: AgentCommandWire.Results = try Self.decode(try await Self.collect(request, context: context, limit: 1 << 20))
            guard posted.results.count <= 256 else { throw APIError(.badRequest, "results has \(posted.results.count) entries; at most 256") }
            let taken = await intake.results(agent: agent, posted.results.map { $0.bounded() })
            return try JSONResponse.encode(["taken": taken])
        }
    }

    /// The intake and the calling agent's name, or the refusal.
    static func agent(_ services: HTTPServices, _ context: VigilRequestContext) throws -> (any AgentIntake, String) {
        guard let intake = services.agents else { throw APIError(.serviceUnavailable, "this daemon does not take host agents") }
        guard let principal = context.principal, principal.role == "agent" else {
            throw APIError(.forbidden, "only a token of role agent may call this")
        }
        guard AgentName.isValid(principal.person) else {
            throw APIError(.forbidden, "this agent token's person is not a host name "
                + "(1 to \(AgentName.maximumLength) letters, digits, '.', '_' and '-')")
        }
        return (intake, principal.person)
    }

    /// A JSON body of at most `limit` bytes: 415 for another type, 413 past the limit.
    static func collect(_ request: Request, context: VigilRequestContext, limit: Int) async throws -> [UInt8] {
        try AlertWire.checkContentType(request)
        var limited = context
        limited.maxBodyBytes = min(context.maxBodyBytes, limit)
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limited.maxBodyBytes {
            throw APIError(.contentTooLarge, "the body has \(declared) bytes; at most \(limited.maxBodyBytes) are accepted")
        }
        return Array(try await request.collectBody(context: limited).readableBytesView)
    }

    static func decode<T: Decodable>(_ bytes: [UInt8]) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch {
            throw APIError(.badRequest, AgentWire.decodingReason(error))
        }
    }
}
