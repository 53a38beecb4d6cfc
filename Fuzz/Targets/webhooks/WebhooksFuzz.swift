import Foundation
import FuzzSupport
import VigilCore
import VigilHTTP

/// A webhook body (Grafana, Alertmanager or generic, chosen by the first byte). Whatever it is:
/// no crash, a refusal says something, every alert is accounted for (kept or named), and every
/// kept alert is one `POST /api/v2/alerts` would keep: valid labels, started before it ends,
/// firing ones leased from now.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebhooks(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = input(data, size)
    guard let first = bytes.first else { return 0 }
    let payload = ["grafana", "alertmanager", "generic"][Int(first) % 3]
    let now = Timestamp(nanoseconds: 1_790_000_000_000_000_000)
    let lease: Duration = .seconds(3600)
    switch WebhookWire.read(Data(bytes.dropFirst()), payload: payload, now: now, lease: lease) {
    case .refused(let why):
        invariant(!why.isEmpty, "an empty refusal")
    case .read(let valid, let errors, let count):
        invariant(valid.count + errors.count == count, "\(count) alerts, \(valid.count) kept and \(errors.count) refused")
        invariant(errors.allSatisfy { !$0.isEmpty }, "an empty per-alert error")
        for a in valid {
            invariant(!a.labels.isEmpty && a.labels.keys.allSatisfy(LabelName.isValid), "kept an alert with bad labels")
            invariant(a.labels.values.allSatisfy { !$0.isEmpty }, "kept an empty label value")
            invariant(a.startsAt <= a.endsAt, "kept an alert that ends before it starts")
            invariant(a.startsAt <= now, "kept an alert starting in the future")
            invariant(a.endsAt <= now || a.endsAt == now + lease, "a firing alert without the webhook lease")
            invariant(a.updatedAt == now, "updatedAt is not now")
        }
    }
    return 0
}
