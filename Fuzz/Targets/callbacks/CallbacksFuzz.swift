import FuzzSupport
import VigilCore
import VigilHTTP

/// A signed callback's body, once its signature has checked: Slack's interaction form (first byte
/// even) or PagerDuty's v3 event (odd). Whatever it is: no crash, a refusal or an ignore says
/// something, and every request names one incident by an id that is short, not empty and free of
/// control characters, and the service that sent it; a Slack request names its user.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCallbacks(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = input(data, size)
    guard let first = bytes.first else { return 0 }
    let body = Array(bytes.dropFirst())
    func check(_ r: CallbackRequest, _ service: CallbackRequest.Service) {
        invariant(r.service == service, "a \(service) body made a \(r.service) request")
        for (what, id) in [("incident", r.incidentID), ("user", r.userID ?? "-"), ("team", r.teamID ?? "-"), ("reference", r.reference ?? "-")] {
            invariant(!id.isEmpty && id.utf8.count <= CallbackRequest.maximumIdentifierBytes, "\(what) id of \(id.utf8.count) bytes")
            invariant(!id.unicodeScalars.contains { $0.properties.generalCategory == .control }, "\(what) id with a control character")
        }
        if let name = r.userName {
            invariant(!name.isEmpty && name.count <= 64, "a user name of \(name.count) characters")
            invariant(!name.unicodeScalars.contains { $0.properties.generalCategory == .control }, "a user name with a control character")
        }
    }
    if first % 2 == 0 {
        switch SlackInteractionWire.read(body) {
        case .refused(let why), .ignored(let why): invariant(!why.isEmpty, "an empty refusal")
        case .requests(let requests):
            invariant(!requests.isEmpty && requests.count <= 25, "\(requests.count) requests from one press")
            for r in requests {
                check(r, .slack)
                invariant(r.userID != nil, "a Slack request without its user")
            }
        }
    } else {
        switch PagerDutyWebhookWire.read(body) {
        case .refused(let why), .ignored(let why): invariant(!why.isEmpty, "an empty refusal")
        case .request(let r, _): check(r, .pagerDuty)
        }
    }
    return 0
}
