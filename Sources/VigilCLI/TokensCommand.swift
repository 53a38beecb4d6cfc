import ArgumentParser
import VigilCore
import VigilControl

/// `vigil tokens create|list|revoke`: API tokens for the HTTP API (root or the daemon's user only).
struct TokensCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens", abstract: "Create, list and revoke API tokens for the HTTP API.",
        discussion: "Roles: viewer (read), responder (read and work incidents, silences), admin (everything), "
            + "sender (only post alerts and heartbeats). Only root or the daemon's user may manage tokens.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a token; its secret is printed this once and never stored.")
        @OptionGroup var location: DaemonLocation
        @Option(help: "viewer, responder, admin, sender or agent (a host agent; its person is the host's name).") var role: String
        @Option(help: "Who the token speaks for: every change made with it is attributed to this name.") var person: String
        @Option(help: "never (default), a duration (\"90 days\") or an RFC 3339 time.") var expires: String?
        @Flag(help: "Print the documented JSON form (it includes the secret).") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["role": .string(role), "person": .string(person)]
            if let expires { args["expires"] = .string(expires) }
            let created = try location.call("tokens.create", args).decode(CreatedTokenView.self)
            if json { try printJSON(created); return }
            print(created.secret)
            printError("token \(created.token.id): role \(created.token.role) for \(created.token.person), "
                + "expires \(created.token.expiresAt ?? "never"). The secret above is shown only now; "
                + "send it as \"Authorization: Bearer <secret>\".")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")
        @OptionGroup var location: DaemonLocation
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            let tokens = try location.call("tokens.list").decode([TokenView].self)
            if json { try printJSON(tokens); return }
            var t = TextTable("ID", "ROLE", "PERSON", "STATE", "CREATED", "BY", "EXPIRES")
            for k in tokens {
                t.add([k.id, k.role, k.person, k.state, k.createdAt, k.createdBy, k.expiresAt ?? "never"])
            }
            print(t.render())
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token at once; it is refused from then on.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The token id (the 12 hex digits after vgl_).") var id: String
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            let token = try location.call("tokens.revoke", ["id": .string(id)]).decode(TokenView.self)
            if json { try printJSON(token); return }
            print("token \(token.id) (\(token.role), \(token.person)) revoked at \(token.revokedAt ?? "-")")
        }
    }
}

extension IncidentsCommand {
    struct AckLink: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ack-link",
            abstract: "Make a signed, single-use link that acknowledges an incident as a roster person.",
            discussion: "Opening the link shows a confirmation page; only its button acknowledges (mail scanners "
                + "follow links). Append the printed path to the daemon's HTTP address.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Option(help: "The roster person the link acknowledges as.") var person: String
        @Option(help: "How long the link works (default 24 hours, at most 30 days).") var ttl: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["id": .string(id), "person": .string(person)]
            if let ttl { args["ttl"] = .string(ttl) }
            let link = try location.call("incidents.ack_link", args).decode(AckLinkView.self)
            if json { try printJSON(link); return }
            print(link.path)
            printError("acknowledges \(link.incident) as \(link.person), once, until \(link.expiresAt)")
        }
    }
}
