import Yams

/// The configuration as `GET /api/v2/status` shows it (`config.original`): the YAML that was
/// loaded, re-written without comments and with every secret replaced by `<secret>`, as
/// Alertmanager shows its own. Computed when the configuration is loaded or reloaded, never from
/// the file at request time (the file may have changed since, or be unreadable).
///
/// Secret are: every value under a `contacts` mapping (people's addresses and numbers), the
/// value of any key naming a password, token, secret, credential, API key or private key, and
/// the user information of URLs (`https://user:pass@host`).
public enum ConfigRedaction {
    public static let placeholder = "<secret>"

    static let secretWords = ["password", "passwd", "secret", "token", "credential", "apikey", "privatekey",
                              "authorization", "bearer", "cookie"]

    /// `text` redacted; a text that does not parse (it was not loaded either) is shown as nothing.
    public static func redacted(_ text: String) -> String {
        guard YAMLExpansion.nodeCount(text) != nil, let root = try? Yams.compose(yaml: text) else { return "" }
        let clean = redact(root, secret: false)
        return (try? Yams.serialize(node: clean, allowUnicode: true, sortKeys: false)) ?? ""
    }

    static func isSecretKey(_ key: String) -> Bool {
        let folded = key.lowercased().filter { $0 != "_" && $0 != "-" }
        return secretWords.contains { folded.contains($0) }
    }

    static func redact(_ node: Node, secret: Bool) -> Node {
        switch node {
        case .scalar(let s):
            if secret { return .scalar(.init(placeholder)) }
            return .scalar(.init(redactURL(s.string), s.tag, s.style))
        case .mapping(let m):
            var pairs: [(Node, Node)] = []
            for (k, v) in m {
                let key = k.string ?? ""
                pairs.append((k, redact(v, secret: secret || key == "contacts" || isSecretKey(key))))
            }
            return .mapping(.init(pairs, m.tag, m.style))
        case .sequence(let s):
            return .sequence(.init(s.map { redact($0, secret: secret) }, s.tag, s.style))
        case .alias:
            return secret ? .scalar(.init(placeholder)) : node
        }
    }

    /// `scheme://user:password@host/…` → `scheme://<secret>@host/…`.
    static func redactURL(_ text: String) -> String {
        guard let scheme = text.range(of: "://") else { return text }
        let rest = text[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return text }
        return String(text[..<scheme.upperBound]) + placeholder + String(rest[at...])
    }
}
