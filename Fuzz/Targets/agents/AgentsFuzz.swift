import Foundation
import FuzzSupport
import VigilCore
import VigilHTTP

/// A host agent's forwarded batch (`POST /api/v1/agents/signals`). Whatever it is: no crash, a
/// refusal says something, every signal is accounted for (applied or refused by its seq), seqs
/// increase, and every kept signal keeps the bounds: labels, fingerprint, no time after now.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAgents(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = input(data, size)
    let now = Timestamp(nanoseconds: 1_790_000_000_000_000_000)
    do {
        let batch = try AgentWire.decode(bytes, now: now)
        let seqs = (batch.items.map(\.seq) + batch.refused.map(\.seq)).sorted()
        invariant(Set(seqs).count == seqs.count, "a seq both applied and refused, or twice")
        invariant(batch.items.map(\.seq) == batch.items.map(\.seq).sorted(), "applied signals out of order")
        invariant(seqs.allSatisfy { $0 > 0 }, "a seq of 0 or less")
        invariant(seqs.count <= AgentLimits.maximumSignalsPerRequest, "more signals than a request may carry")
        invariant(batch.lastSeq == seqs.last, "lastSeq is not the highest seq")
        invariant(batch.refused.allSatisfy { !$0.reason.isEmpty }, "an empty refusal of a signal")
        invariant(!batch.spool.isEmpty && batch.spool.utf8.count <= AgentLimits.maximumSpoolIDLength, "a bad spool id kept")
        for item in batch.items {
            let s = item.signal
            invariant(s.labels.count <= AgentLimits.maximumLabels && s.labels.keys.allSatisfy(LabelName.isValid), "bad labels kept")
            invariant(!s.fingerprint.isEmpty && s.fingerprint.utf8.count <= AgentLimits.maximumFingerprintBytes, "bad fingerprint kept")
            invariant(s.at <= now && s.firstHeldAt <= s.at, "a time after now, or first held after it fired")
            invariant(s.value.isFinite, "a value that is not finite")
        }
    } catch {
        invariant(!error.message.isEmpty, "an empty refusal")
    }
    return 0
}
