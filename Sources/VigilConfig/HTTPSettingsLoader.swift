import VigilCore

/// `http:` — the HTTP front door: where it listens, how much it accepts, and its TLS files.
public struct HTTPSettings: Sendable, Equatable {
    /// The default listen address: Alertmanager's port, so a Prometheus already pointed at a
    /// local Alertmanager finds Vigil there unchanged; loopback, so nothing outside the host
    /// reaches it until the operator says so.
    public static let defaultListen = HTTPListenAddress(host: "127.0.0.1", port: 9093)

    /// Serve HTTP at all (`enabled`, default true).
    public var enabled = true
    /// Where the server listens (`listen`, `HOST:PORT`; port 0 picks a free port).
    public var listen = HTTPSettings.defaultListen
    /// Largest request body accepted; larger ones are answered 413 (`max_body_bytes`, default 4 MiB).
    public var maxBodyBytes = 4 << 20
    /// How long an alert posted without `endsAt` stays firing (`resolve_timeout`, Alertmanager's 5 m).
    public var resolveTimeout: Duration = .seconds(300)
    /// How long a firing alert from a webhook intake (Grafana, Alertmanager, generic) stays firing
    /// without being repeated (`webhook_lease`, default 12 h: longer than the senders' default
    /// 4 h repeat interval, so a quiet but still firing alert does not resolve between repeats).
    public var webhookLease: Duration = .seconds(12 * 3600)
    /// PEM certificate chain and private key; nil serves plain HTTP (for a reverse proxy in front).
    public var tls: HTTPTLSFiles?
    /// What a request without a token may do while the server listens on loopback only
    /// (`auth.loopback_anonymous`): `sender` (post alerts and heartbeats, the default, so a local
    /// Prometheus needs no credentials) or `none`. Off loopback, nothing needs no token but the
    /// health, readiness, metrics, acknowledgement-link and signed callback routes.
    public var loopbackAnonymous = "sender"
    /// Where people reach this server (`external_url`, e.g. `https://vigil.example.com`), for the
    /// acknowledgement links pages carry; nil: ``listen`` with `http`/`https` by ``tls``.
    public var externalURL: String?
    /// The signed callbacks of Slack and PagerDuty (`callbacks`); each is off until its secret is set.
    public var callbacks = HTTPCallbackSettings()
    /// The web console and the public status page (`console:`).
    public var console = HTTPConsoleSettings()

    public init() {}

    /// The base of links to this server: ``externalURL`` without a trailing `/`, or one made from
    /// the listen address (a wildcard address replaced by `hostName`).
    public func linkBase(hostName: String) -> String {
        if let externalURL { return externalURL.hasSuffix("/") ? String(externalURL.dropLast()) : externalURL }
        var host = listen.host
        if host == "0.0.0.0" || host == "::" { host = hostName }
        if host.contains(":") { host = "[" + host + "]" }
        return (tls == nil ? "http" : "https") + "://" + host + ":" + String(listen.port)
    }

    /// Whether `text` can be an ``externalURL``: `http://` or `https://`, a host, an optional path,
    /// no query, fragment, credentials, spaces or control characters.
    public static func isValidExternalURL(_ text: String) -> Bool {
        guard text.utf8.count <= 512, text.hasPrefix("http://") || text.hasPrefix("https://"),
              !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || "?#@\\\"<>`".unicodeScalars.contains($0) })
        else { return false }
        let rest = text.drop { $0 != ":" }.dropFirst(3)
        return !(rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").isEmpty
    }
}

/// A `HOST:PORT` the server binds to.
public struct HTTPListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `127.0.0.1:9093`, `localhost:9093`, `[::1]:9093` or `0.0.0.0:9093`; nil otherwise.
    public static func parse(_ text: String) -> HTTPListenAddress? {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { return nil }  // an IPv6 address needs its brackets
        }
        guard !host.isEmpty, host.count <= 253, !host.contains(where: { $0.isWhitespace || $0 == "/" }),
              !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(portText), (0...65_535).contains(port) else { return nil }
        return HTTPListenAddress(host: String(host), port: port)
    }

    /// True for addresses only this host can reach (the token rules are looser there).
    public var isLoopback: Bool { host == "localhost" || host.hasPrefix("127.") || host == "::1" }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// `http.tls`: the server's certificate chain and key, both PEM files.
public struct HTTPTLSFiles: Sendable, Equatable {
    public var certificate: String
    public var key: String
    public init(certificate: String, key: String) {
        self.certificate = certificate
        self.key = key
    }
}

/// `http.console`: the web console (`/console`) and the public status page (`/status`).
public struct HTTPConsoleSettings: Sendable, Equatable {
    /// Serve the console at `/console` (`enabled`, default true).
    public var enabled = true
    /// Serve the public status page and its feed at `/status` without sign-in (`status_page`, default true).
    public var statusPage = true
    /// The name pages carry (`title`, default "Vigil").
    public var title = "Vigil"
    /// The components the status page lists, in order (`components`); by default those the
    /// rotations and incident types name.
    public var components: [String] = []
    public init() {}
}

enum HTTPSettingsLoader {
    static let keys = ["enabled", "listen", "max_body_bytes", "resolve_timeout", "webhook_lease", "tls", "auth", "external_url",
                       "callbacks", "console"]

    static func load(_ node: YAMLNode, resolve: (String) -> String) -> HTTPSettings {
        var s = HTTPSettings()
        guard let f = node.fields("http", allowed: keys) else { return s }
        if let e = f["enabled"]?.bool("enabled") { s.enabled = e }
        if let n = f["listen"], let text = n.string("listen") {
            if let address = HTTPListenAddress.parse(text) { s.listen = address } else {
                n.diagnostics.add(.invalidValue(n.location, key: "listen", found: text,
                                                expected: "HOST:PORT like \"127.0.0.1:9093\" or \"[::1]:9093\" (port 0-65535)"))
            }
        }
        if let m = f["max_body_bytes"]?.int("max_body_bytes", range: 1024...(256 << 20)) { s.maxBodyBytes = m }
        if let n = f["resolve_timeout"], let d = n.duration("resolve_timeout") {
            if d > .zero { s.resolveTimeout = d } else {
                n.diagnostics.add(.invalidValue(n.location, key: "resolve_timeout", found: "\(d)", expected: "longer than 0"))
            }
        }
        if let n = f["webhook_lease"], let d = n.duration("webhook_lease") {
            if d > .zero, d <= .seconds(366 * 86_400) { s.webhookLease = d } else {
                n.diagnostics.add(.invalidValue(n.location, key: "webhook_lease", found: "\(d)", expected: "longer than 0 and at most 366 days"))
            }
        }
        if let n = f["external_url"], let text = n.string("external_url") {
            if HTTPSettings.isValidExternalURL(text) { s.externalURL = text } else {
                n.diagnostics.add(.invalidValue(n.location, key: "external_url", found: text,
                                                expected: "an http:// or https:// URL with a host and no query, fragment or credentials"))
            }
        }
        if let t = f["tls"]?.fields("tls", allowed: ["certificate", "key"]) {
            let certificate = t.required("certificate")?.string("certificate")
            let key = t.required("key")?.string("key")
            if let certificate, let key { s.tls = HTTPTLSFiles(certificate: resolve(certificate), key: resolve(key)) }
        }
        if let c = f["callbacks"] { s.callbacks = CallbackSettingsLoader.load(c, resolve: resolve) }
        if let c = f["console"]?.fields("console", allowed: ["enabled", "status_page", "title", "components"]) {
            if let e = c["enabled"]?.bool("enabled") { s.console.enabled = e }
            if let e = c["status_page"]?.bool("status_page") { s.console.statusPage = e }
            if let n = c["title"], let t = n.string("title") {
                if !t.isEmpty, t.count <= 100, !t.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                    s.console.title = t
                } else {
                    n.diagnostics.add(.invalidValue(n.location, key: "title", found: String(t.prefix(40)),
                                                    expected: "1 to 100 characters without control characters"))
                }
            }
            if let n = c["components"], let list = n.strings("components") {
                if list.count <= 200, list.allSatisfy({ !$0.isEmpty && $0.count <= 100 }) { s.console.components = list } else {
                    n.diagnostics.add(.invalidValue(n.location, key: "components", found: "\(list.count) names",
                                                    expected: "at most 200 names of 1 to 100 characters"))
                }
            }
        }
        if let a = f["auth"]?.fields("auth", allowed: ["loopback_anonymous"]), let n = a["loopback_anonymous"],
           let text = n.string("loopback_anonymous") {
            if ["sender", "none"].contains(text) { s.loopbackAnonymous = text } else {
                n.diagnostics.add(.invalidValue(n.location, key: "loopback_anonymous", found: text, expected: "sender or none"))
            }
        }
        return s
    }
}
