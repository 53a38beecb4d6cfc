import Foundation
import Testing
import VigilControl
import VigilCore
@testable import VigilDaemon
import VigilIncidents
import VigilStore
import VigilTestSupport

/// The incident service and its control commands over a real SQLite file and a manual clock:
/// what the console reads and changes through the one command model.
struct ControlRig {
    let path: String
    let store: Store
    let clock: ManualClock
    let service: IncidentService
    let control: IncidentControl

    init(ladder: String = "p1-p4", at time: Timestamp = monday, path: String? = nil) async throws {
        self.path = try path ?? temporaryDatabasePath()
        store = try Store(path: self.path)
        clock = ManualClock(time)
        service = IncidentService(store: store, policy: try shippedPolicy(ladder: ladder), clock: clock, logger: quietLogger)
        try await service.restoreOnCallOverrides()
        control = IncidentControl(service: service, store: store, clock: clock)
    }

    /// Runs a command as `caller`; a refusal is thrown as the ``ControlFailure`` the doors report.
    @discardableResult
    func run(_ command: String, _ args: [String: JSONValue] = [:],
             as caller: ControlCaller = .http(person: "alice", role: "responder")) async throws -> JSONValue {
        try await control.handle(ControlRequest(command: command, args: args), user: caller)
    }

    /// The refusal a command meets, or nil when it succeeds.
    func refusal(_ command: String, _ args: [String: JSONValue] = [:],
                 as caller: ControlCaller = .http(person: "alice", role: "responder")) async -> ControlFailure? {
        do { try await run(command, args, as: caller); return nil } catch let f as ControlFailure { return f } catch {
            return ControlFailure("unexpected \(error)")
        }
    }

    /// Walks an open incident on through the flow to `resolved`, one minute per step.
    func resolve(_ id: String) async throws {
        let flow: [IncidentState] = [.mobilised, .containing, .contained, .investigating, .remediating, .recovering, .validating]
        let current = try #require(try await store.incident(id: id)).state
        let next = (flow.firstIndex(of: current) ?? -1) + 1
        for state in flow[next...] {
            clock.advance(by: minutes(1))
            _ = try await service.transition(id, to: state, reason: "step", actor: "bob")
        }
        clock.advance(by: minutes(1))
        _ = try await service.resolve(id, request: ResolutionRequest(verification: "checked", summary: "fixed"), actor: "bob")
    }
}
