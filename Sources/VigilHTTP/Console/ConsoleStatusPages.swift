import Foundation
import Synchronization
import HTTPTypes
import Hummingbird
import VigilCore
import VigilIncidents

/// The public status page (`/status`, no sign-in) and its Atom feed (`/status/feed.atom`): the
/// same document as `status-page.json`, over 90 days, with each component's state.
extension ConsoleController {
    static let statusRetention: Duration = .seconds(90 * 24 * 3600)
    /// The public page and feed are rendered at most this often: anyone may ask for them.
    static let statusCacheLife: Duration = .seconds(5)

    func addStatusRoutes(to router: Router<VigilRequestContext>) {
        router.get("/status") { _, _ in await cached("page") { await statusPage() } }
        router.get("/status/feed.atom") { _, _ in await cached("feed") { await statusFeed() } }
    }

    /// A public response from the last `statusCacheLife`, or a fresh one (only 200s are kept).
    func cached(_ key: String, _ make: () async -> Response) async -> Response {
        let now = services.clock.now()
        if let hit = publicCache.get(key, now: now, life: Self.statusCacheLife) { return hit }
        let response = await make()
        if response.status == .ok { publicCache.put(key, response, now: now) }
        return response
    }

    func publicDocument() async -> Result<(StatusPageDocument, [(component: String, impact: PublicImpact)]), Refusal> {
        let now = services.clock.now()
        do {
            let pairs = try await services.publicIncidents(now - Self.statusRetention)
            let document = StatusPageDocument.build(pairs, now: now, retention: Self.statusRetention)
            let states = StatusPageDocument.componentStates(pairs.map(\.0), components: await services.components())
            return .success((document, states))
        } catch {
            logger.error("status page not read", metadata: ["error": "\(error)"])
            return .failure(Refusal(status: .serviceUnavailable, message: "The status page cannot be read right now."))
        }
    }

    static func impactText(_ raw: String) -> String {
        switch raw {
        case "operational": "Operational"
        case "degraded_performance": "Degraded performance"
        case "partial_outage": "Partial outage"
        case "major_outage": "Major outage"
        default: raw
        }
    }

    func statusPage() async -> Response {
        let document: StatusPageDocument
        let states: [(component: String, impact: PublicImpact)]
        switch await publicDocument() {
        case .success(let v): (document, states) = v
        case .failure(let r):
            return page("Status", signed: nil, template: "message", ["heading": "Status", "text": r.message], status: r.status)
        }
        func entry(_ e: StatusPageDocument.Entry) -> [String: Any] {
            ["id": e.id, "title": e.title, "status": e.status, "impact": Self.impactText(e.impact), "startedAt": Self.short(e.startedAt),
             "resolvedAt": e.resolvedAt.map(Self.short) ?? "", "day": String(e.startedAt.prefix(10)),
             "updates": e.updates.reversed().map { ["time": Self.short($0.time), "iso": $0.time, "status": $0.status, "message": $0.message] }]
        }
        let active = document.incidents.filter { $0.resolvedAt == nil }
        let history = document.incidents.filter { $0.resolvedAt != nil }
        let overall = document.overall == "operational" ? "All systems operational" : Self.impactText(document.overall)
        let context: [String: Any] = [
            "site": services.title, "overall": overall, "generatedAt": document.generatedAt,
            "components": states.map { ["name": $0.component, "state": Self.impactText($0.impact.rawValue),
                                        "cls": $0.impact == .operational ? "ok" : "bad"] as [String: Any] },
            "active": active.map(entry), "history": history.map(entry),
        ]
        return page("Status", signed: nil, template: "status", context)
    }

    /// RFC 4287: one entry per public update (and one per incident without any), newest first.
    func statusFeed() async -> Response {
        guard case .success(let (document, _)) = await publicDocument() else {
            return Self.plain(.serviceUnavailable, "The status feed cannot be read right now.")
        }
        var entries: [(time: String, id: String, title: String, text: String)] = []
        for incident in document.incidents {
            if incident.updates.isEmpty {
                entries.append((incident.updatedAt, "\(incident.id)", incident.title,
                                "\(Self.impactText(incident.impact)) — \(incident.status)"))
            }
            for (n, u) in incident.updates.enumerated() {
                entries.append((u.time, "\(incident.id)/\(n + 1)", "\(incident.title): \(u.status)", u.message))
            }
        }
        entries.sort { $0.time > $1.time }
        let x = Self.escaped
        var xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n"
        xml += "<title>\(x(services.title)) status</title>\n<id>urn:vigil:status</id>\n"
        xml += "<updated>\(x(entries.first?.time ?? document.generatedAt))</updated>\n"
        xml += "<link rel=\"alternate\" type=\"text/html\" href=\"/status\"/>\n<link rel=\"self\" href=\"/status/feed.atom\"/>\n"
        xml += "<author><name>\(x(services.title))</name></author>\n"
        for e in entries.prefix(200) {
            xml += "<entry><id>urn:vigil:status:\(x(e.id))</id><title>\(x(e.title))</title><updated>\(x(e.time))</updated>"
            xml += "<link rel=\"alternate\" type=\"text/html\" href=\"/status\"/><content type=\"text\">\(x(e.text))</content></entry>\n"
        }
        xml += "</feed>\n"
        var headers: HTTPFields = [.contentType: "application/atom+xml; charset=utf-8", .cacheControl: "public, max-age=10"]
        headers.append(contentsOf: Self.securityHeaders)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: xml)))
    }
}

/// The public pages last rendered, by name.
final class PublicPageCache: Sendable {
    private let entries = Mutex<[String: (at: Timestamp, response: Response)]>([:])

    func get(_ key: String, now: Timestamp, life: Duration) -> Response? {
        entries.withLock { e in
            guard let hit = e[key], now - hit.at < life, hit.at <= now else { return nil }
            return hit.response
        }
    }

    func put(_ key: String, _ response: Response, now: Timestamp) {
        entries.withLock { $0[key] = (now, response) }
    }
}
