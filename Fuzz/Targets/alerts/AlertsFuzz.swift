import Foundation
import FuzzSupport
import VigilCore
import VigilHTTP

/// A `POST /api/v2/alerts` body. Whatever it is: no crash; a refusal says something, with
/// go-openapi's code exactly when it is a 422; and every posted alert is accounted for by
/// validation (kept or named), every kept one with valid, non-empty labels within the bounds,
/// starting before it ends, updated now, leased from now when no end was given.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAlerts(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = input(data, size)
    let now = Timestamp(nanoseconds: 1_790_000_000_000_000_000)
    let lease: Duration = .seconds(300)
    let read = bytes.withUnsafeBytes { raw in
        Result { () throws(AlertBody.Refusal) -> [AlertBody.Posted] in try AlertBody.decode(raw) }
    }
    let posted: [AlertBody.Posted]
    switch read {
    case .success(let p): posted = p
    case .failure(let error):
        invariant(!error.message.isEmpty, "an empty refusal")
        invariant(error.unprocessable == (error.code != nil), "a 422 without a code, or a 400 with one")
        return 0
    }
    let (valid, errors) = AlertBody.validate(posted, now: now, resolveTimeout: lease)
    invariant(valid.count + errors.count == posted.count, "\(posted.count) alerts, \(valid.count) kept and \(errors.count) refused")
    invariant(errors.allSatisfy { !$0.isEmpty }, "an empty per-alert error")
    for a in valid {
        invariant(!a.labels.isEmpty && a.labels.keys.allSatisfy(LabelName.isValid), "kept an alert with bad labels")
        invariant(a.labels.values.allSatisfy { !$0.isEmpty && $0.utf8.count <= 64 << 10 }, "kept an empty or oversized label value")
        invariant(a.labels.count <= 256, "kept more than 256 labels")
        invariant(a.annotations.keys.allSatisfy(LabelName.isValid), "kept an annotation with a bad name")
        invariant(a.startsAt <= a.endsAt, "kept an alert that ends before it starts")
        invariant(a.updatedAt == now, "updatedAt is not now")
    }
    // One at a time, each judged as in the batch; one posted without an end is leased from now.
    for p in posted.prefix(64) {
        let (one, _) = AlertBody.validate([p], now: now, resolveTimeout: lease)
        if let a = one.first, p.endsAt == nil {
            invariant(a.endsAt == now + lease, "an alert without an end is not leased from now")
        }
    }
    return 0
}
