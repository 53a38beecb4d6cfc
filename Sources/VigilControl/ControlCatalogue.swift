import VigilCore
import VigilPluginProtocol

/// Where one command of the control protocol is served over HTTP (`/api/v1`).
///
/// The control socket, the HTTP API and the CLI share this table: the CLI sends a
/// ``ControlRequest`` either as one line on the socket or, with `--url`, as the HTTP request this
/// table names; the daemon's HTTP routes are made from the same table and turn each request back
/// into the same ``ControlRequest`` for the one executor both front doors use.
///
/// Arguments: `{name}` segments of the path are the argument of that name; a `GET` carries the
/// other arguments as query parameters (repeat a key for a list), other methods as a JSON object
/// body.
public struct ControlRoute: Sendable, Hashable {
    public var command: String
    /// `GET`, `POST` or `DELETE`.
    public var method: String
    /// `/api/v1/incidents/{id}/ack`.
    public var path: String
    /// One line for the OpenAPI document.
    public var summary: String
    /// Arguments that are numbers (a path or query text is converted).
    public var numbers: Set<String>
    /// Query arguments that are always lists, even when given once.
    public var lists: Set<String>
    /// Path parameters that carry an argument of another name (`{id}` → `incident`): the router
    /// needs one parameter name per position (`/api/v1/incidents/{id}/…`).
    public var renamed: [String: String]

    public init(_ command: String, _ method: String, _ path: String, _ summary: String,
                numbers: Set<String> = [], lists: Set<String> = [], renamed: [String: String] = [:]) {
        self.command = command
        self.method = method
        self.path = path
        self.summary = summary
        self.numbers = numbers
        self.lists = lists
        self.renamed = renamed
    }

    /// The argument a path parameter carries.
    public func argument(for parameter: String) -> String { renamed[parameter] ?? parameter }

    /// The names in `{…}` segments, in order.
    public var pathParameters: [String] {
        path.split(separator: "/").compactMap { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? String(segment.dropFirst().dropLast()) : nil
        }
    }

    /// The path in Hummingbird's syntax (`/api/v1/incidents/:id/ack`).
    public var routerPath: String {
        "/" + path.split(separator: "/").map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + String(segment.dropFirst().dropLast()) : String(segment)
        }.joined(separator: "/")
    }
}

/// Every command a remote client may send, and its route (``ControlRoute``).
///
/// Commands missing here are socket-only on purpose: `emit` (local event injection), token and
/// acknowledgement-link management that the socket limits to root or the daemon's user are served
/// to `admin` tokens only, `plugins.restart` and the silences' changes (which have
/// Alertmanager's own `/api/v2` routes; only their preview is here).
public enum ControlCatalogue {
    public static let routes: [ControlRoute] = [
        .init("status", "GET", "/api/v1/status", "The daemon's health, bus lanes and incident counts"),
        .init("events.send", "POST", "/api/v1/events",
              "Send metric samples and signals to the detection rules (`{\"events\": [{\"kind\", \"name\", \"value\", \"unit\", \"labels\", \"time\"}]}`)"),
        .init("rules.sources", "GET", "/api/v1/rules/sources",
              "Each loaded rule with the event it watches, what can send that event and the last sample seen"),
        .init("rules.samples", "GET", "/api/v1/rules/samples",
              "The samples recorded around one incident (query `incident`) or a rule's incidents (query `rule`, `limit`), "
                  + "as NDJSON lines for replay", numbers: ["limit"]),
        .init("incidents.list", "GET", "/api/v1/incidents",
              "Incidents, newest first or open first, a page at a time (query `states`, `severity`, `type`, `component`, "
                  + "`text`, `limit`, `offset`, `order`)",
              numbers: ["limit", "offset"], lists: ["states", "severity"]),
        .init("incidents.count", "GET", "/api/v1/incidents/count", "How many incidents the list's filters select",
              lists: ["states", "severity"]),
        .init("incidents.declare", "POST", "/api/v1/incidents", "Declare an incident"),
        .init("incidents.show", "GET", "/api/v1/incidents/{id}", "One incident with its timeline, notifications and action items"),
        .init("incidents.timeline", "GET", "/api/v1/incidents/{id}/timeline", "An incident's timeline"),
        .init("incidents.ack", "POST", "/api/v1/incidents/{id}/ack", "Acknowledge an incident"),
        .init("incidents.assign", "POST", "/api/v1/incidents/{id}/assign", "Give a role of an incident to a person"),
        .init("incidents.escalate", "POST", "/api/v1/incidents/{id}/escalate", "Escalate an incident by hand"),
        .init("incidents.transition", "POST", "/api/v1/incidents/{id}/transition", "Move an incident to another state"),
        .init("incidents.comment", "POST", "/api/v1/incidents/{id}/comments", "Comment on an incident or post a status update"),
        .init("incidents.resolve", "POST", "/api/v1/incidents/{id}/resolve", "Resolve an incident"),
        .init("incidents.reopen", "POST", "/api/v1/incidents/{id}/reopen", "Reopen a resolved incident"),
        .init("incidents.dismiss", "POST", "/api/v1/incidents/{id}/dismiss",
              "Close an open incident as a false positive, with the reason (body `reason`)"),
        .init("incidents.classify", "POST", "/api/v1/incidents/{id}/classify", "Change an incident's severity"),
        .init("runbooks.show", "GET", "/api/v1/incidents/{id}/runbook", "An incident's runbook with its progress",
              renamed: ["id": "incident"]),
        .init("runbooks.step", "POST", "/api/v1/incidents/{id}/runbook/steps", "Tick (or untick) a runbook step",
              numbers: ["step"]),
        .init("runbooks.list", "GET", "/api/v1/runbooks", "The loaded runbooks"),
        .init("runbooks.show", "GET", "/api/v1/runbooks/{name}", "One runbook"),
        .init("oncall", "GET", "/api/v1/oncall", "Who holds each role (query `at`, `component`)"),
        .init("oncall.schedule", "GET", "/api/v1/oncall/schedule",
              "Who holds each role over the coming days (query `from`, `days`, `component`)", numbers: ["days"]),
        .init("oncall.overrides", "GET", "/api/v1/oncall/overrides", "On-call overrides in force or still to come"),
        .init("oncall.override", "POST", "/api/v1/oncall/overrides", "Put a person on call for a rotation for a while"),
        .init("oncall.override.remove", "DELETE", "/api/v1/oncall/overrides/{id}", "Remove an on-call override",
              numbers: ["id"]),
        .init("report.response", "GET", "/api/v1/reports/response",
              "Response metrics per week and severity (query `weeks`, `severity`, `type`, `component`)",
              numbers: ["weeks"], lists: ["severity"]),
        .init("postmortem.show", "GET", "/api/v1/incidents/{id}/postmortem",
              "An incident's post-mortem, latest or one version (query `version`, `format`: json, markdown, html)", numbers: ["version"]),
        .init("postmortem.edit", "POST", "/api/v1/incidents/{id}/postmortem",
              "Draft or edit the post-mortem: a new version (`sections`: name → text, `redraft`, `note`)"),
        .init("postmortem.review", "POST", "/api/v1/incidents/{id}/postmortem/review",
              "Submit the post-mortem for review, approve it, or reopen it (`action`: submit, approve, reopen; `note`)"),
        .init("postmortem.hypothesis", "POST", "/api/v1/incidents/{id}/postmortem/hypotheses/{number}",
              "Confirm, reject or reopen a hypothesis of the post-mortem's possible causes (`verdict`: confirmed, rejected, open; `note`)",
              numbers: ["number"]),
        .init("changes.record", "POST", "/api/v1/changes",
              "Record a change for root-cause help, e.g. a deploy (`kind`, `component`, `summary`, `subject`, `detail`, `at`)"),
        .init("agents.list", "GET", "/api/v1/agents",
              "The host agents that call in: last contact, signals received, spool, and whether one is missing"),
        .init("changes.list", "GET", "/api/v1/changes",
              "Recorded changes, newest first (query `since`, `until`, `component`, `kind`, `limit`)",
              numbers: ["limit"], lists: ["kind"]),
        .init("actionitems.list", "GET", "/api/v1/action-items",
              "Action items across incidents, overdue first (query `owner`, `state`, `incident`, `overdue`)", lists: ["state"]),
        .init("actionitems.add", "POST", "/api/v1/action-items",
              "Add an action item to an incident (`incident`, `title`, `owner`, `due`, `category`, `success_criteria`, `depends_on`, `tracker_url`)"),
        .init("actionitems.update", "POST", "/api/v1/action-items/{id}",
              "Change an action item (`state`, `owner`, `due`, `title`, `category`, `success_criteria`, `depends_on`, `tracker_url`, `note`)",
              numbers: ["id"]),
        .init("report.metrics", "GET", "/api/v1/reports/metrics",
              "Response metrics over a period, grouped, with targets, containment success and the noisiest sources "
                  + "(query `from`, `until`, `since`, `by`, `severity`, `type`, `component`)",
              lists: ["severity"]),
        .init("dr.plans", "GET", "/api/v1/dr/plans", "The disaster-recovery criteria (RTO, RPO, severity threshold per tier) and plans"),
        .init("dr.assess", "POST", "/api/v1/incidents/{id}/dr/assess",
              "Assess whether the incident needs disaster recovery, with every reason (`estimate`, `data_loss`, `recovery_point`)"),
        .init("dr.start", "POST", "/api/v1/incidents/{id}/dr",
              "Start a disaster-recovery plan (`plan`; without it the best matching one; `data_loss`)"),
        .init("dr.status", "GET", "/api/v1/incidents/{id}/dr", "The recovery's steps with their times, the RTO/RPO clocks and the report"),
        .init("dr.step", "POST", "/api/v1/incidents/{id}/dr/steps",
              "Tick the current recovery step done or skipped (`step`, `mark`: done or skip, `note`)", numbers: ["step"]),
        .init("dr.run-step", "POST", "/api/v1/incidents/{id}/dr/run-step",
              "Run the current step's action now, as `actions.run` does (`step`)", numbers: ["step"]),
        .init("dr.complete", "POST", "/api/v1/incidents/{id}/dr/complete",
              "Complete the recovery (`verification`): the report with the RTO and RPO achieved"),
        .init("silences.preview", "GET", "/api/v1/silences/preview",
              "What a silence with these matchers would mute now (query `matchers`, repeatable)",
              numbers: ["limit"], lists: ["matchers"]),
        .init("actions.list", "GET", "/api/v1/actions", "Containment actions (query `state`, `incident`)"),
        .init("actions.catalog", "GET", "/api/v1/actions/catalog", "The actions the daemon can run"),
        .init("actions.run", "POST", "/api/v1/actions", "Run an action for an incident"),
        .init("actions.show", "GET", "/api/v1/actions/{id}", "One action", numbers: ["id"]),
        .init("actions.approve", "POST", "/api/v1/actions/{id}/approve", "Approve an action awaiting approval", numbers: ["id"]),
        .init("actions.deny", "POST", "/api/v1/actions/{id}/deny", "Deny an action awaiting approval", numbers: ["id"]),
        .init("actions.undo", "POST", "/api/v1/actions/{id}/undo", "Undo a completed action", numbers: ["id"]),
        .init("actions.verify", "POST", "/api/v1/incidents/{id}/verify", "Run the containment verification checks",
              renamed: ["id": "incident"]),
        .init("plugins.list", "GET", "/api/v1/plugins", "The plugins and their state"),
        .init("plugins.show", "GET", "/api/v1/plugins/{name}", "One plugin"),
        .init("plugins.enable", "POST", "/api/v1/plugins/{name}/enable", "Enable a plugin (admin)"),
        .init("plugins.disable", "POST", "/api/v1/plugins/{name}/disable", "Disable a plugin (admin)"),
        .init("tokens.list", "GET", "/api/v1/tokens", "API tokens, never their secrets (admin)"),
        .init("tokens.create", "POST", "/api/v1/tokens", "Make an API token; its secret is shown this once (admin)"),
        .init("tokens.revoke", "DELETE", "/api/v1/tokens/{id}", "Revoke an API token (admin)"),
    ]

    /// The route a request goes over: the first of its command's routes whose path arguments
    /// the request carries as text.
    public static func route(for request: ControlRequest) -> ControlRoute? {
        routes.first { route in
            route.command == request.command && route.pathParameters.allSatisfy { name in
                switch request.args[route.argument(for: name)] {
                case .string?, .number?: true
                default: false
                }
            }
        }
    }

    /// The request a route's parts mean: path parameters, then query items, then the JSON body's
    /// members. An argument given twice (path and body) with different values is refused.
    public static func request(route: ControlRoute, pathParameters: [String: String], query: [(String, String)],
                               body: JSONValue?) throws(ControlFailure) -> ControlRequest {
        var args: [String: JSONValue] = [:]
        switch body {
        case nil, .null?: break
        case .object(let members)?: args = members
        case _?: throw ControlFailure("body: expected a JSON object of arguments")
        }
        var fromQuery: [String: [String]] = [:]
        for (key, value) in query { fromQuery[key, default: []].append(value) }
        for (key, values) in fromQuery {
            guard args[key] == nil else { throw ControlFailure("\(key): given both in the query and in the body") }
            if route.lists.contains(key) {
                args[key] = .array(values.flatMap { $0.split(separator: ",").map { .string(String($0)) } })
            } else if values.count == 1, let value = values.first {
                args[key] = try typed(key, value, route: route)
            } else {
                throw ControlFailure("\(key): given \(values.count) times; it takes one value")
            }
        }
        for name in route.pathParameters {
            guard let text = pathParameters[name] else { throw ControlFailure("\(name): missing from the path") }
            let argument = route.argument(for: name)
            let value = try typed(argument, text, route: route)
            if let given = args[argument], given != value {
                throw ControlFailure("\(argument): the body says \(given) but the path says \(text)")
            }
            args[argument] = value
        }
        return ControlRequest(command: route.command, args: args)
    }

    static func typed(_ key: String, _ text: String, route: ControlRoute) throws(ControlFailure) -> JSONValue {
        guard route.numbers.contains(key) else { return .string(text) }
        guard let n = Double(text), n.isFinite else { throw ControlFailure("\(key): expected a number, found \"\(text)\"") }
        return .number(n)
    }
}

extension ControlCatalogue {
    /// Largest request body read as arguments.
    public static let maximumBodyBytes = ControlRequest.maximumLineBytes

    /// Reads an HTTP body of arguments with the bounded scanner (nesting limited, numbers finite,
    /// strict UTF-8): a JSON object, or a failure saying what is wrong.
    public static func parseBody(_ bytes: [UInt8]) throws(ControlFailure) -> JSONValue {
        guard bytes.count <= maximumBodyBytes else {
            throw ControlFailure("body: longer than \(maximumBodyBytes) bytes")
        }
        let value: JSONValue
        do { value = try JSONValue.parse(bytes) } catch {
            throw ControlFailure("body: not valid JSON: \(error.problem) at byte \(error.offset)")
        }
        guard case .object = value else { throw ControlFailure("body: expected a JSON object of arguments") }
        return value
    }
}
