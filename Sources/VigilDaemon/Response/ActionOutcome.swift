import Foundation
import Synchronization
import VigilCore
import VigilStore

/// What a built-in action (or one plugin) made of a request.
struct ActionOutcome: Sendable {
    var ok: Bool
    var detail: String
    var evidence: [String: JSONValue] = [:]
    /// How to undo it (stored with the action).
    var undo: JSONValue?
    /// Nothing here can perform it (not configured): neither success nor failure.
    var unavailable = false

    static func unavailable(_ why: String) -> ActionOutcome {
        ActionOutcome(ok: true, detail: "not available: \(why)", unavailable: true)
    }
}

/// What a built-in action acts on.
struct ActionContext: Sendable {
    var incident: Incident
    var evidence: [EvidenceRecord]
    var params: [String: JSONValue]
    var dryRun: Bool
    var now: Timestamp
    var deadline: Duration
    /// A person asked for it (`vigil actions run`), not the category's sequence.
    var manual = false
}

/// Resumes one continuation with the first outcome offered; later offers are dropped.
final class FirstOutcome: Sendable {
    private struct State {
        var continuation: CheckedContinuation<ActionOutcome, Never>?
        var settled = false
        var onSettled: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    func wait(_ continuation: CheckedContinuation<ActionOutcome, Never>) {
        state.withLock { $0.continuation = continuation }
    }

    /// Runs `action` once the outcome is settled (at once if it already is).
    func whenSettled(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            if s.settled { return true }
            s.onSettled = action
            return false
        }
        if now { action() }
    }

    /// True when this offer was the first.
    @discardableResult
    func offer(_ outcome: ActionOutcome) -> Bool {
        let taken = state.withLock { s -> (CheckedContinuation<ActionOutcome, Never>?, (@Sendable () -> Void)?)? in
            guard !s.settled else { return nil }
            s.settled = true
            defer { s.continuation = nil; s.onSettled = nil }
            return (s.continuation, s.onSettled)
        }
        guard let taken else { return false }
        taken.0?.resume(returning: outcome)
        taken.1?()
        return true
    }
}

extension ResponseEngine {
    /// The action's outcome, or a failure at the deadline — whichever comes first. The caller is
    /// answered at the deadline without waiting for the work to notice its cancellation (a plugin
    /// request or a blocking copy may not), so a stuck action never holds up the response.
    static func withDeadline(_ deadline: Duration, _ body: @escaping @Sendable () async -> ActionOutcome) async -> ActionOutcome {
        let first = FirstOutcome()
        return await withCheckedContinuation { continuation in
            first.wait(continuation)
            let work = Task { first.offer(await body()) }
            let timer = Task {
                try? await Task.sleep(for: deadline)
                if !Task.isCancelled,
                   first.offer(ActionOutcome(ok: false, detail: "missed its deadline of \(DurationText.format(deadline))")) {
                    work.cancel()
                }
            }
            first.whenSettled { timer.cancel() }
        }
    }
}
