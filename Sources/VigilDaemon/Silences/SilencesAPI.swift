import VigilControl
import Foundation
import VigilCore
import VigilMatchers
import VigilSilences

/// Alertmanager API v2's silence endpoints, independent of the HTTP server: each handler takes
/// what the request carried and returns the status and JSON body Alertmanager 0.25 answers with
/// (checked against the real one in `SilenceParityTests`). The HTTP layer only routes and checks
/// the content type (415) and who is asking.
public struct SilencesAPI: SilencesEndpoint {
    public typealias Answer = SilencesAnswer

    let service: SilenceService
    let clock: any VigilClock

    public init(service: SilenceService, clock: any VigilClock) {
        self.service = service
        self.clock = clock
    }

    /// `POST /api/v2/silences`: 200 `{"silenceID"}`, 400 (bad JSON or refused by the rules, as a JSON
    /// string), 404 (unknown id), 422 (a required field missing).
    public func post(_ body: [UInt8], actor: String) async -> Answer {
        let draft: SilenceDraft
        do { draft = try AlertmanagerSilenceSchema.decodePostable(body) } catch {
            return Self.json(error.status, .object(["code": .number(Double(error.code)), "message": .string(error.message)]))
        }
        do {
            let change = try await service.set(draft, actor: actor)
            return Self.json(200, .object(["silenceID": .string(change.silence.idText)]))
        } catch let e as SilenceError {
            return Self.json(e.isNotFound ? 404 : 400, .string(e.message))
        } catch {
            return Self.json(500, .string("storing the silence failed: \(error)"))
        }
    }

    /// `GET /api/v2/silences?filter=…`: 200 with the list, 400 (a JSON string) for a bad filter.
    public func list(filters: [String]) -> Answer {
        var matchers: [LabelMatcher] = []
        for f in filters.prefix(LabelMatchers.maxCount) {
            do { matchers.append(try LabelMatchers.parseMatcher(f)) } catch {
                return Self.json(400, .string(error.description))
            }
        }
        let now = clock.now()
        let views = service.list(filter: matchers.isEmpty ? nil : LabelMatchers(matchers)).map { SilenceView($0, now: now) }
        return Self.encode(200, views)
    }

    /// `GET /api/v2/silence/{id}`: 200 with the silence, 404 (empty) when unknown, 422 when not a UUID.
    public func get(_ id: String) -> Answer {
        guard let uuid = UUID(uuidString: id) else { return Self.notUUID(id) }
        guard let s = service.silence(uuid) else { return Answer(status: 404, body: Data()) }
        return Self.encode(200, SilenceView(s, now: clock.now()))
    }

    /// `DELETE /api/v2/silence/{id}`: 200 (also when already expired), 500 "silence not found" for an
    /// unknown id (as Alertmanager 0.25), 422 when not a UUID.
    public func delete(_ id: String, actor: String) async -> Answer {
        guard let uuid = UUID(uuidString: id) else { return Self.notUUID(id) }
        do {
            try await service.expire(uuid, actor: actor)
            return Answer(status: 200, body: Data())
        } catch let e as SilenceError {
            return Self.json(500, .string(e.message))
        } catch {
            return Self.json(500, .string("storing the expiry failed: \(error)"))
        }
    }

    static func notUUID(_ id: String) -> Answer {
        json(422, .object(["code": .number(601), "message": .string("silenceID in path must be of type uuid: \(JSONValue.string(id))")]))
    }

    static func json(_ status: Int, _ value: JSONValue) -> Answer {
        Answer(status: status, body: Data((value.description + "\n").utf8))
    }

    static func encode<T: Encodable>(_ status: Int, _ value: T) -> Answer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return json(500, .string("cannot encode the answer")) }
        return Answer(status: status, body: data + Data("\n".utf8))
    }
}
