/// What a request does, as far as permission goes. Each HTTP route falls in exactly one
/// (``AccessPolicy/operation(method:path:)``); each role is allowed a fixed set (``AccessPolicy/allows(_:_:)``).
public enum AccessOperation: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Answers without a token: `/-/healthy`, `/-/ready`, `/metrics`, `/ack/…` (the signed
    /// link is its own credential), and `POST /api/v1/callbacks/slack|pagerduty` (Slack and
    /// PagerDuty cannot send a token; each request's signature under the service's secret is its
    /// credential, checked by the route before it reads anything).
    case open
    /// Reading anything: incidents, alerts, silences, status, plugins, on-call, runbooks, actions.
    case read
    /// `POST /api/v2/alerts`, the webhook intakes and `POST /api/v1/events`.
    case sendAlerts
    /// `POST /api/v1/heartbeats/NAME`.
    case sendHeartbeat
    /// `POST /api/v1/agents/signals|commands|results`: a host agent forwarding what it saw,
    /// calling in, and taking and answering the containment actions it is to run on its host.
    case forwardAsAgent
    /// Working incidents: declare, acknowledge, assign, comment, escalate, transition, resolve,
    /// reopen, classify, runbook steps, containment actions (approve, deny, run, undo), on-call
    /// overrides (add, remove).
    case respond
    /// Creating and expiring silences.
    case manageSilences
    /// Tokens, plugins (enable, disable, restart), configuration, and any change the table does not name.
    case administer

    public var description: String { rawValue }
}

/// The outcome of checking one request.
public enum AccessDecision: Sendable, Equatable {
    case allowed(AccessPrincipal)
    /// 401 with `WWW-Authenticate: Bearer`: no credentials, or credentials that are not (or no longer) valid.
    case unauthenticated(String)
    /// 403: a valid token whose role may not do this.
    case forbidden(String)

    /// The HTTP status this decision answers with (200 stands for "go on").
    public var status: Int {
        switch self {
        case .allowed: 200
        case .unauthenticated: 401
        case .forbidden: 403
        }
    }
}

/// Who may do what over HTTP: a fixed table of roles and operations, and the mapping of routes to
/// operations. Pure: the HTTP middleware asks it, and tests read it as a table.
public enum AccessPolicy {
    /// The operations each role may perform. `admin` may do everything; the rest is least privilege:
    /// a sender's credentials sit in Prometheus' configuration, so they may only send.
    public static func allowedOperations(_ role: AccessRole) -> Set<AccessOperation> {
        switch role {
        case .viewer: [.open, .read]
        // A responder may beat a heartbeat by hand (a job run manually while its sender is down).
        case .responder: [.open, .read, .respond, .manageSilences, .sendHeartbeat]
        case .admin: Set(AccessOperation.allCases).subtracting([.forwardAsAgent])
        case .sender: [.open, .sendAlerts, .sendHeartbeat]
        // Only an agent forwards as one: its name is its token's person, so an admin's or a
        // responder's token cannot speak for a host.
        case .agent: [.open, .forwardAsAgent]
        }
    }

    /// The services whose signed callbacks answer without a token (`POST /api/v1/callbacks/NAME`).
    public static let callbackServices: Set<String> = ["slack", "pagerduty"]

    public static func allows(_ role: AccessRole, _ operation: AccessOperation) -> Bool {
        allowedOperations(role).contains(operation)
    }

    /// The operation of a request. Unknown reads are `read`; unknown changes are `administer`, so a
    /// route added without a line here is closed to everyone but admins until it gets one.
    public static func operation(method: String, path: String) -> AccessOperation {
        let method = method.uppercased()
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let reading = method == "GET" || method == "HEAD"
        switch segments.first {
        case "-" where segments.count == 2 && ["healthy", "ready"].contains(segments[1]) && reading: return .open
        case "metrics" where segments.count == 1 && reading: return .open
        case "ack" where segments.count == 2 && (reading || method == "POST"): return .open
        // The web console signs its users in with a session cookie and checks each page and form
        // itself (a token's role, per command); the public status page needs no sign-in.
        case "console" where reading || method == "POST": return .open
        case "status" where reading && segments.count <= 2: return .open
        case "api" where segments.count == 4 && segments[1] == "v1" && segments[2] == "callbacks" && method == "POST"
            && callbackServices.contains(segments[3]):
            return .open
        default: break
        }
        // API tokens are the admin's, to read as well as to change.
        if segments.count >= 3, segments[0] == "api", segments[1] == "v1", segments[2] == "tokens" { return .administer }
        if reading { return .read }
        guard segments.first == "api", segments.count >= 3 else { return .administer }
        let resource = segments[2]
        switch (segments[1], resource) {
        case ("v2", "alerts") where method == "POST" && segments.count == 3: return .sendAlerts
        case ("v2", "silences") where method == "POST" && segments.count == 3: return .manageSilences
        case ("v2", "silence") where method == "DELETE" && segments.count == 4: return .manageSilences
        case ("v1", "heartbeats") where method == "POST" && segments.count == 4: return .sendHeartbeat
        // Samples and signals for the rules: a monitor's or an application's, as alerts are.
        case ("v1", "events") where method == "POST" && segments.count == 3: return .sendAlerts
        // Deploys and other changes for root-cause help: a deploy pipeline's, sent as alerts are.
        case ("v1", "changes") where method == "POST" && segments.count == 3: return .sendAlerts
        case ("v1", "webhook"), ("v1", "webhooks"), ("v1", "alerts"):
            // (A `where` after several patterns binds only the last one: the method is checked here.)
            return method == "POST" ? .sendAlerts : .administer
        case ("v1", "silences") where method == "POST" || method == "DELETE": return .manageSilences
        case ("v1", "agents") where method == "POST" && segments.count == 4 && ["signals", "commands", "results"].contains(segments[3]):
            return .forwardAsAgent
        case ("v1", "incidents"), ("v1", "actions"), ("v1", "runbooks"), ("v1", "action-items"): return .respond
        // Who is on call is incident work: a responder covers for a colleague without an admin.
        case ("v1", "oncall") where segments.count >= 4 && segments[3] == "overrides"
            && ((method == "POST" && segments.count == 4) || (method == "DELETE" && segments.count == 5)):
            return .respond
        default: return .administer
        }
    }

    /// Decides one request. `principal` is nil when the request carried no credentials and is not
    /// let in anonymously (``AnonymousAccess``); `credentialProblem` says why presented credentials
    /// were refused.
    public static func decide(_ operation: AccessOperation, principal: AccessPrincipal?,
                              credentialProblem: String? = nil) -> AccessDecision {
        if operation == .open, let principal { return .allowed(principal) }
        if operation == .open { return .allowed(.anonymous) }
        if let credentialProblem { return .unauthenticated(credentialProblem) }
        guard let principal else { return .unauthenticated("this request needs an API token (Authorization: Bearer vgl_…)") }
        guard allows(principal.role, operation) else {
            return .forbidden("the \(principal.role) role may not \(operation.sentence) (token \(principal.tokenID ?? "none"))")
        }
        return .allowed(principal)
    }
}

extension AccessOperation {
    var sentence: String {
        switch self {
        case .open: "open public endpoints"
        case .read: "read"
        case .sendAlerts: "send alerts"
        case .sendHeartbeat: "send heartbeats"
        case .forwardAsAgent: "forward as a host agent"
        case .respond: "work incidents or actions"
        case .manageSilences: "create or expire silences"
        case .administer: "administer the daemon (tokens, plugins, configuration)"
        }
    }
}
