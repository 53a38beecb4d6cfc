import Foundation
import Synchronization
import HTTPTypes
import Hummingbird
import Logging
import Mustache
import VigilAccess
import VigilControl
import VigilCore

/// The web console (`/console/…`) and the public status page (`/status`): server-rendered
/// HTML, a little plain JavaScript, live updates over Server-Sent Events.
///
/// Who: a token is exchanged for a session cookie at `/console/sign-in` and checked again on every
/// request (a revoked token ends its sessions at once); every change is a command of the one
/// command model run under the token's person, refused (403) when the role may not; every form
/// carries the session's CSRF secret.
public struct ConsoleController: HTTPController {
    let services: ConsoleServices
    let sessions: ConsoleSessions
    let hub: ConsoleEventHub
    let library: MustacheLibrary
    let samples: ConsoleSamples
    let publicCache = PublicPageCache()
    let streams = StreamCounts()
    let logger: Logger
    /// Serve `/console` (the configuration's `http.console.enabled`).
    let consoleEnabled: Bool
    /// Serve `/status` (`http.console.status_page`).
    let statusPageEnabled: Bool

    public init(services: ConsoleServices, hub: ConsoleEventHub, logger: Logger, console: Bool = true, statusPage: Bool = true) {
        self.consoleEnabled = console
        self.statusPageEnabled = statusPage
        self.services = services
        self.sessions = ConsoleSessions(clock: services.clock)
        self.hub = hub
        self.library = ConsoleTemplates.library()
        self.samples = ConsoleSamples()
        self.logger = logger
    }

    /// Page size of the incident list.
    static let pageSize = 50

    public func addRoutes(to router: Router<VigilRequestContext>) {
        if statusPageEnabled { addStatusRoutes(to: router) }
        guard consoleEnabled else { return }
        router.get("/console") { _, _ in Self.redirect("/console/incidents") }
        router.get("/console/static/console.css") { _, _ in Self.asset(ConsoleStatic.css, type: "text/css; charset=utf-8") }
        router.get("/console/static/console.js") { _, _ in Self.asset(ConsoleStatic.js, type: "text/javascript; charset=utf-8") }
        router.get("/console/sign-in") { request, _ in await signInPage(request) }
        router.post("/console/sign-in") { request, context in await signIn(request, context: context) }
        router.post("/console/sign-out") { request, context in await signOut(request, context: context) }
        router.get("/console/events") { request, _ in await events(request) }

        addIncidentRoutes(to: router)
        addPostMortemRoutes(to: router)
        addOtherRoutes(to: router)
    }

    // MARK: - Sessions

    /// A signed-in request: the session and the token's current principal.
    struct Signed {
        var session: ConsoleSession
        var person: String
        var role: AccessRole
        var csrf: String { session.csrf }
        func may(_ command: String) -> Bool { ConsoleAccess.allows(role, command) }
    }

    /// The query's fields as an HTML form sends them: `+` is a space, then %-escapes (Hummingbird
    /// decodes only the escapes). The first value of each name; malformed escapes are kept as sent.
    static func query(_ request: Request) -> [String: String] {
        guard let raw = request.uri.query, raw.utf8.count <= 16_384 else { return [:] }
        var out: [String: String] = [:]
        for pair in raw.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                let spaced = s.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            let name = decode(kv[0])
            if out[name] == nil { out[name] = kv.count > 1 ? decode(kv[1]) : "" }
        }
        return out
    }

    static func cookies(_ request: Request) -> [String: String] {
        var out: [String: String] = [:]
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let kv = part.split(separator: "=", maxSplits: 1)
                guard kv.count == 2 else { continue }
                let name = kv[0].trimmingCharacters(in: .whitespaces)
                if out[name] == nil { out[name] = kv[1].trimmingCharacters(in: .whitespaces) }
            }
        }
        return out
    }

    /// The request's live session, its token checked again (revoked, expired or unknown: signed out).
    func signed(_ request: Request) async -> Signed? {
        guard let id = Self.cookies(request)[cookieName], id.utf8.count <= 100,
              let session = sessions.touch(id) else { return nil }
        switch await services.authenticate("Bearer " + session.token) {
        case .valid(let principal) where AccessPolicy.allows(principal.role, .read):
            return Signed(session: session, person: principal.actor, role: principal.role)
        default:
            sessions.close(id)
            return nil
        }
    }

    /// The signed-in request, or the redirect to the sign-in page.
    func requireSignIn(_ request: Request) async -> Result<Signed, Refused> {
        if let s = await signed(request) { return .success(s) }
        let next = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
        return .failure(Refused(Self.redirect("/console/sign-in?next=" + Self.percentEncoded(next))))
    }

    /// The sign-in form's own CSRF secret, in a cookie of its own and a hidden field: a page
    /// elsewhere cannot sign a browser in as someone else (login CSRF).
    static let signInCookie = "vigil_signin"

    func signInPage(_ request: Request) async -> Response {
        let next = Self.safeNext(Self.query(request)["next"])
        if await signed(request) != nil { return Self.redirect(next) }
        return signInForm(next: next)
    }

    func signInForm(next: String, status: HTTPResponse.Status = .ok, error: String? = nil) -> Response {
        let secret = ConsoleSessions.randomToken()
        var response = page("Sign in", signed: nil, template: "signin", ["next": next, "signinCSRF": secret], status: status, error: error)
        var c = "\(Self.signInCookie)=\(secret); Path=/console/sign-in; HttpOnly; SameSite=Strict; Max-Age=3600"
        if services.secureCookies { c += "; Secure" }
        response.headers.append(HTTPField(name: .setCookie, value: c))
        return response
    }

    func signIn(_ request: Request, context: VigilRequestContext) async -> Response {
        if let refusal = Self.crossOrigin(request) { return refusal }
        let form: FormBody
        switch await readForm(request, context: context) {
        case .success(let f): form = f
        case .failure(let r): return r.response
        }
        let next = Self.safeNext(form["next"])
        guard let sent = form["_csrf"], let expected = Self.cookies(request)[Self.signInCookie],
              ConsoleSessions.constantTimeEqual(sent, expected) else {
            return signInForm(next: next, status: .forbidden, error: "This sign-in form is stale or came from elsewhere; try again.")
        }
        guard let token = form["token"]?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty,
              token.utf8.count <= 512 else {
            return signInForm(next: next, status: .badRequest, error: "Paste an API token (vgl_…) to sign in.")
        }
        switch await services.authenticate("Bearer " + token) {
        case .valid(let principal):
            guard AccessPolicy.allows(principal.role, .read) else {
                return signInForm(next: next, status: .forbidden,
                                  error: "A \(principal.role) token cannot sign in to the console; use a viewer, responder or admin token.")
            }
            guard let session = sessions.open(token: token, person: principal.actor, role: principal.role) else {
                logger.warning("console sign-in refused: the session table is full", metadata: ["person": "\(principal.actor)"])
                return signInForm(next: next, status: .serviceUnavailable, error: "Too many people are signed in right now; try again later.")
            }
            logger.info("console sign-in", metadata: ["person": "\(principal.actor)", "role": "\(principal.role)"])
            var response = Self.redirect(next)
            response.headers.append(HTTPField(name: .setCookie, value: cookie(session.id, maxAge: nil)))
            response.headers.append(HTTPField(name: .setCookie, value: "\(Self.signInCookie)=; Path=/console/sign-in; Max-Age=0"))
            return response
        case .refused(let why):
            logger.info("console sign-in refused", metadata: ["reason": "\(why)"])
            return signInForm(next: next, status: .unauthorized, error: "Sign-in refused: \(why).")
        case .none:
            return signInForm(next: next, status: .unauthorized, error: "Sign-in refused: no token.")
        }
    }

    func signOut(_ request: Request, context: VigilRequestContext) async -> Response {
        let s: Signed
        switch await requireSignIn(request) {
        case .success(let v): s = v
        case .failure: return Self.redirect("/console/sign-in")
        }
        if case .failure(let r) = await checkedForm(request, context: context, signed: s) { return r.response }
        sessions.close(s.session.id)
        var response = Self.redirect("/console/sign-in")
        response.headers.append(HTTPField(name: .setCookie, value: cookie("", maxAge: 0)))
        return response
    }

    /// `__Host-vigil_session` when cookies are `Secure` (a sibling host cannot plant one), else `vigil_session`.
    var cookieName: String { services.secureCookies ? "__Host-" + ConsoleSessions.cookieName : ConsoleSessions.cookieName }

    func cookie(_ value: String, maxAge: Int?) -> String {
        var c = "\(cookieName)=\(value); Path=/; HttpOnly; SameSite=Strict"
        if services.secureCookies { c += "; Secure" }
        if let maxAge { c += "; Max-Age=\(maxAge)" }
        return c
    }

    /// Where to go after signing in: a console path only (no other site, no `//host`).
    static func safeNext(_ next: Substring?) -> String { safeNext(next.map(String.init)) }

    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/console/"), !next.hasPrefix("//"), !next.contains("\\"),
              !next.contains("\r"), !next.contains("\n"), next.utf8.count <= 2000 else { return "/console/incidents" }
        return next
    }

    // MARK: - Forms

    /// A request whose `Origin` names another site (a page elsewhere posting here) is refused.
    static func crossOrigin(_ request: Request) -> Response? {
        // Browsers say where a request comes from (Fetch Metadata); a page elsewhere is refused.
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site == "cross-site" || site == "same-site" {
            return plain(.forbidden, "Refused: this form was sent from another site (Sec-Fetch-Site \(site)).")
        }
        guard let origin = request.headers[.origin] else { return nil }
        let host = (request.head.authority ?? "").lowercased()
        let originHost = origin.range(of: "://").map { String(origin[$0.upperBound...]).lowercased() } ?? ""
        guard origin != "null", !host.isEmpty, originHost == host else {
            return plain(.forbidden, "Refused: this form was sent from another site (Origin \(origin)).")
        }
        return nil
    }

    /// The submitted form, read within the form limits.
    func readForm(_ request: Request, context: VigilRequestContext, signed: Signed? = nil,
                  limit: Int = FormBody.maximumBytes) async -> Result<FormBody, Refused> {
        func refused(_ status: HTTPResponse.Status, _ why: String) -> Result<FormBody, Refused> {
            .failure(Refused(page("Not saved", signed: signed, template: "message",
                                  ["heading": "Not saved", "back": Self.backLink(request)], status: status,
                                  error: "Not saved: \(why). Nothing was stored.")))
        }
        let type = request.headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/x-www-form-urlencoded") else {
            return refused(.unsupportedMediaType, "a console form is sent as application/x-www-form-urlencoded")
        }
        var request = request
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: limit) } catch {
            return refused(.contentTooLarge, "the form is larger than \(limit / 1024) KiB")
        }
        do { return .success(try FormBody.parse(Array(buffer: buffer), limit: limit)) } catch let problem {
            return refused(.badRequest, problem.description)
        }
    }

    /// The page a refused form came from: `/console/incidents/ID` for its changes,
    /// `/console/plugins/NAME`, or the section (`/console/silences`, `/console/oncall`).
    static func backLink(_ request: Request) -> String {
        let parts = request.uri.path.split(separator: "/").map(String.init)
        guard parts.count >= 2, parts[0] == "console" else { return "/console/incidents" }
        switch parts[1] {
        case "incidents" where parts.count >= 3: return "/console/incidents/" + (validIncidentID(parts[2]) ?? "")
        case "plugins" where parts.count >= 3 && validPluginName(parts[2]): return "/console/plugins/" + parts[2]
        case "silences", "oncall", "plugins": return "/console/" + parts[1]
        default: return "/console/incidents"
        }
    }

    /// The form of a change: same site, a role that may run `command` (checked before the form
    /// is read, so a viewer's post is a 403 whatever it carries), the session's CSRF secret,
    /// within limits.
    func checkedForm(_ request: Request, context: VigilRequestContext, signed: Signed,
                     for command: String? = nil, limit: Int = FormBody.maximumBytes) async -> Result<FormBody, Refused> {
        if let refusal = Self.crossOrigin(request) { return .failure(Refused(refusal)) }
        if let command, !signed.may(command) {
            return .failure(Refused(page("Refused", signed: signed, template: "message",
                                         ["heading": "Refused", "text": "The \(signed.role) role may not do this (\(command))."],
                                         status: .forbidden)))
        }
        let form: FormBody
        switch await readForm(request, context: context, signed: signed, limit: limit) {
        case .success(let f): form = f
        case .failure(let r): return .failure(r)
        }
        guard let sent = form["_csrf"], ConsoleSessions.constantTimeEqual(sent, signed.csrf) else {
            logger.info("console form refused: CSRF", metadata: ["person": "\(signed.person)", "path": "\(request.uri.path)"])
            return .failure(Refused(page("Refused", signed: signed, template: "message",
                                 ["heading": "Refused", "text": "This form is stale or came from elsewhere: reload the page and try again."],
                                 status: .forbidden)))
        }
        return .success(form)
    }

    // MARK: - Commands

    /// A response that ends a request early (sign-in redirect, refused form).
    struct Refused: Error {
        var response: Response
        init(_ response: Response) { self.response = response }
    }

    struct Refusal: Error {
        var status: HTTPResponse.Status
        var message: String
    }

    /// Runs `command` as the signed-in person, when the role may.
    func run(_ command: String, _ args: [String: JSONValue], as s: Signed) async -> Result<JSONValue, Refusal> {
        guard s.may(command) else {
            return .failure(Refusal(status: .forbidden, message: "The \(s.role) role may not do this (\(command))."))
        }
        let response = await services.execute(ControlRequest(command: command, args: args), s.person, s.role)
        guard response.ok else {
            let status: HTTPResponse.Status = switch response.errorKind.flatMap(ControlFailure.Kind.init(rawValue:)) {
            case .notFound?: .notFound
            case .conflict?: .conflict
            case .forbidden?: .forbidden
            case .unavailable?: .serviceUnavailable
            case .invalid?, nil: .badRequest
            }
            return .failure(Refusal(status: status, message: response.error ?? "refused"))
        }
        return .success(response.result ?? .null)
    }

    /// `run`, decoded as `T`.
    func fetch<T: Decodable>(_ type: T.Type, _ command: String, _ args: [String: JSONValue] = [:],
                             as s: Signed) async -> Result<T, Refusal> {
        switch await run(command, args, as: s) {
        case .success(let value):
            do { return .success(try value.decode(T.self)) } catch {
                return .failure(Refusal(status: .internalServerError, message: "\(command) answered in an unexpected shape"))
            }
        case .failure(let r): return .failure(r)
        }
    }

    // MARK: - Rendering

    static let navItems: [(String, String)] = [
        ("/console/incidents", "Incidents"), ("/console/oncall", "On call"), ("/console/plugins", "Plugins"),
        ("/console/bus", "Bus"), ("/console/agents", "Agents"), ("/console/silences", "Silences"), ("/console/metrics", "Metrics"), ("/status", "Status page"),
    ]

    func render(_ template: String, _ context: [String: Any]) -> String {
        library.render(Self.pruned(context), withTemplate: template) ?? ""
    }

    /// The context without empty texts: Mustache counts "" as true, so `{{#x}}…{{/x}}` would
    /// show a section for a value that is not there.
    static func pruned(_ value: Any) -> Any {
        switch value {
        case let d as [String: Any]:
            var out: [String: Any] = [:]
            for (k, v) in d {
                if let s = v as? String, s.isEmpty { continue }
                out[k] = pruned(v)
            }
            return out
        case let a as [[String: Any]]: return a.map { pruned($0) }
        case let a as [Any]: return a.map { pruned($0) }
        default: return value
        }
    }

    /// A whole page: `template` rendered with `context`, inside the layout.
    func page(_ title: String, signed: Signed?, template: String, _ context: [String: Any],
              status: HTTPResponse.Status = .ok, error: String? = nil, notice: String? = nil, link: String? = nil,
              path: String = "") -> Response {
        var ctx = context
        ctx["csrf"] = signed?.csrf ?? ""
        let body = render(template, ctx)
        var layout: [String: Any] = ["title": title, "site": services.title, "body": body,
                                     "home": signed == nil ? "/status" : "/console/incidents"]
        if let signed {
            layout["signedIn"] = true
            layout["person"] = signed.person
            layout["role"] = signed.role.rawValue
            layout["csrf"] = signed.csrf
            layout["nav"] = Self.navItems.map { ["href": $0.0, "label": $0.1, "current": path.hasPrefix($0.0)] as [String: Any] }
        }
        if let error { layout["error"] = error }
        if let notice { layout["notice"] = notice }
        if let link { layout["link"] = link }
        if template == "status" { layout["feed"] = true }
        return Self.html(render("layout", layout), status: status, cache: signed == nil && template == "status")
    }

    /// A fragment (a table body the page's script swaps in).
    func fragment(_ template: String, _ context: [String: Any]) -> Response {
        Self.html(render(template, context), status: .ok, cache: false)
    }

    static let securityHeaders = HTTPFields([
        HTTPField(name: .contentSecurityPolicy,
                  value: "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
        HTTPField(name: HTTPField.Name("X-Content-Type-Options")!, value: "nosniff"),
        // `same-origin`, not `no-referrer`: with `no-referrer` browsers send `Origin: null` on
        // the console's own form posts, which the origin check must refuse.
        HTTPField(name: HTTPField.Name("Referrer-Policy")!, value: "same-origin"),
        HTTPField(name: HTTPField.Name("X-Frame-Options")!, value: "DENY"),
    ])

    static func html(_ text: String, status: HTTPResponse.Status, cache: Bool) -> Response {
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8"]
        headers.append(contentsOf: securityHeaders)
        headers[.cacheControl] = cache ? "public, max-age=10" : "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"]
        headers.append(contentsOf: securityHeaders)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers: HTTPFields = [.contentType: type, .cacheControl: "public, max-age=300"]
        headers.append(contentsOf: securityHeaders)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    static func percentEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// `2026-12-07T04:08:33Z` → `2026-12-07 04:08`.
    static func short(_ rfc3339: String) -> String {
        let s = rfc3339.replacingOccurrences(of: "T", with: " ")
        return String(s.prefix(16))
    }

    // MARK: - Live events

    /// `text/event-stream`: `incident` events (data: the id), `silences`, and a `tick` every
    /// 2 seconds for the pages with live figures; a comment line keeps proxies from closing it.
    func events(_ request: Request) async -> Response {
        guard let signed = await signed(request) else { return Self.plain(.unauthorized, "Sign in first.") }
        guard streams.enter(signed.session.id) else {
            return Self.plain(.tooManyRequests, "This session has too many live pages open.")
        }
        guard let stream = hub.subscribe() else {
            streams.leave(signed.session.id)
            return Self.plain(.serviceUnavailable, "Too many live pages are open; this one will retry.")
        }
        var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-store"]
        headers.append(contentsOf: Self.securityHeaders)
        let (sessions, services, streams, clock) = (self.sessions, self.services, self.streams, services.clock)
        let sessionID = signed.session.id
        let token = signed.session.token
        let opened = clock.now()
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { streams.leave(sessionID) }
            try await writer.write(ByteBuffer(string: "retry: 2000\n: connected\n\n"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                let (merged, continuation) = AsyncStream<ConsoleEvent>.makeStream(bufferingPolicy: .bufferingNewest(64))
                group.addTask {
                    for await e in stream { continuation.yield(e) }
                    continuation.finish()
                }
                group.addTask {
                    var ticks = 0
                    while !Task.isCancelled {
                        try await Task.sleep(for: .seconds(2))
                        ticks += 1
                        // The stream lives as long as its session and token, and an hour at most
                        // (the browser reconnects, signed in again).
                        var alive = sessions.isOpen(sessionID) && clock.now() - opened < Self.streamLifetime
                        if alive, ticks % 15 == 0 {
                            // The token again every 30 seconds: revoked or expired ends the stream.
                            if case .valid = await services.authenticate("Bearer " + token) {} else { alive = false }
                        }
                        guard alive else { break }
                        continuation.yield(.tick)
                    }
                    continuation.finish()
                }
                for await event in merged {
                    try await writer.write(ByteBuffer(string: "event: \(event.name)\ndata: \(event.data)\n\n"))
                }
                group.cancelAll()
            }
            try await writer.finish(nil)
        })
    }

    /// The longest one event stream stays open.
    static let streamLifetime: Duration = .seconds(3600)
}

/// Live event streams per session: at most `perSession` (a few tabs), so no one session holds
/// the hub's slots.
final class StreamCounts: Sendable {
    static let perSession = 8
    private let counts = Mutex<[String: Int]>([:])

    func enter(_ id: String) -> Bool {
        counts.withLock { c in
            let n = c[id, default: 0]
            guard n < Self.perSession else { return false }
            c[id] = n + 1
            return true
        }
    }

    func leave(_ id: String) {
        counts.withLock { c in
            let n = c[id, default: 0] - 1
            c[id] = n > 0 ? n : nil
        }
    }
}
