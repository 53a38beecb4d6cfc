import Foundation
import VigilCore
import VigilMatchers
import VigilPluginProtocol

/// Alertmanager API v2's `postableSilence`, read from a request body with Alertmanager's checks
/// and status codes: a body that is not JSON of the right shape (wrong types, bad times) is a
/// 400 `{"code":400,"message":…}`; a missing required field or an empty `matchers` is a 422
/// `{"code":602|612,"message":…}` (go-openapi's codes, checked in its order: comment, createdBy,
/// endsAt, matchers, startsAt). The schema is a contract Vigil does not own; the domain only
/// ever sees the ``SilenceDraft`` this returns.
public enum AlertmanagerSilenceSchema {
    /// A refused body: the HTTP status and the JSON error body Alertmanager sends.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var status: Int
        /// go-openapi's code: 400 (parse), 602 (required), 612 (too few items).
        public var code: Int
        public var message: String
        public var description: String { message }
    }

    static func badRequest(_ why: String) -> Refusal {
        Refusal(status: 400, code: 400, message: "parsing silence body failed, because \(why)")
    }
    static func required(_ field: String) -> Refusal {
        Refusal(status: 422, code: 602, message: "\(field) in body is required")
    }

    /// Reads a `POST /api/v2/silences` body.
    public static func decodePostable(_ body: [UInt8]) throws(Refusal) -> SilenceDraft {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { throw required("silence") }
        let parsed: JSONValue
        // The bounded scanner (64 levels, strict UTF-8, finite numbers): Foundation's JSONDecoder
        // recurses without a limit a hostile body could use.
        do { parsed = try JSONValue.parse(body) } catch {
            throw badRequest("the body is not valid JSON: \(error.problem)")
        }
        if parsed == .null { throw required("comment") }
        guard let object = parsed.objectValue else { throw badRequest("the body is not a JSON object") }

        func string(_ key: String) throws(Refusal) -> String? {
            guard let v = object[key], v != .null else { return nil }
            guard let s = v.stringValue else { throw badRequest("\(key) must be a string") }
            return s
        }
        func time(_ key: String) throws(Refusal) -> Timestamp? {
            guard let s = try string(key) else { return nil }
            guard let t = RFC3339.parse(s) else { throw badRequest("\(key) \"\(s)\" is not an RFC 3339 time") }
            return t
        }
        // Types first (Go's JSON decoding), then the required fields (go-openapi's validation).
        let id = try string("id")
        let comment = try string("comment")
        let createdBy = try string("createdBy")
        let endsAt = try time("endsAt")
        let startsAt = try time("startsAt")
        var matcherItems: [[String: JSONValue]]?
        if let raw = object["matchers"], raw != .null {
            guard let list = raw.arrayValue else { throw badRequest("matchers must be an array") }
            guard list.count <= LabelMatchers.maxCount else {
                throw Refusal(status: 400, code: 400,
                              message: "silence invalid: \(list.count) matchers; at most \(LabelMatchers.maxCount) are accepted")
            }
            var items: [[String: JSONValue]] = []
            for (i, item) in list.enumerated() {
                guard let m = item.objectValue else { throw badRequest("matchers.\(i) must be an object") }
                for key in ["name", "value"] where m[key] != nil && m[key] != .null && m[key]?.stringValue == nil {
                    throw badRequest("matchers.\(i).\(key) must be a string")
                }
                for key in ["isRegex", "isEqual"] where m[key] != nil && m[key] != .null && m[key]?.boolValue == nil {
                    throw badRequest("matchers.\(i).\(key) must be a boolean")
                }
                items.append(m)
            }
            matcherItems = items
        }
        guard let comment else { throw required("comment") }
        guard let createdBy else { throw required("createdBy") }
        guard let endsAt else { throw required("endsAt") }
        guard let matcherItems else { throw required("matchers") }
        guard !matcherItems.isEmpty else {
            throw Refusal(status: 422, code: 612, message: "matchers in body should have at least 1 items")
        }
        var matchers: [MatcherInput] = []
        for (i, m) in matcherItems.enumerated() {
            guard let isRegex = m["isRegex"]?.boolValue else { throw required("matchers.\(i).isRegex") }
            guard let name = m["name"]?.stringValue else { throw required("matchers.\(i).name") }
            guard let value = m["value"]?.stringValue else { throw required("matchers.\(i).value") }
            let isEqual = m["isEqual"]?.boolValue ?? true
            matchers.append(MatcherInput(name: name, value: value, type: .init(isRegex: isRegex, isEqual: isEqual)))
        }
        guard let startsAt else { throw required("startsAt") }
        var draft = SilenceDraft(matchers: matchers, startsAt: startsAt, endsAt: endsAt, createdBy: createdBy,
                                 comment: comment)
        if let id, !id.isEmpty {
            if let uuid = UUID(uuidString: id) { draft.id = uuid } else { draft.unparsableID = id }
        }
        return draft
    }
}
