import Foundation
import VigilCore

/// A secret from the configuration (a signing secret): its bytes, never printed. Its description,
/// debug description and mirror all read `<secret>`, so neither a log line nor a dump of the
/// settings shows it.
public struct CallbackSecret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var description: String { ConfigRedaction.placeholder }
    public var debugDescription: String { ConfigRedaction.placeholder }
    public var customMirror: Mirror { Mirror(self, children: []) }

    /// Longest secret accepted (Slack's and PagerDuty's are 32 to 64 characters).
    public static let maximumBytes = 4096
}

/// `http.callbacks.slack`: Slack's interactivity requests (the Acknowledge and Resolve buttons).
public struct SlackCallbackSettings: Sendable, Equatable {
    /// The Slack app's signing secret (Basic Information → App Credentials → Signing Secret).
    public var signingSecret: CallbackSecret
    /// Only users of this workspace (`team.id`, `T…`) may act; nil: any workspace the app is in.
    public var teamID: String?
    public init(signingSecret: CallbackSecret, teamID: String? = nil) {
        self.signingSecret = signingSecret
        self.teamID = teamID
    }
}

/// `http.callbacks.pagerduty`: a PagerDuty v3 webhook subscription's deliveries.
public struct PagerDutyCallbackSettings: Sendable, Equatable {
    /// The subscription's secret (shown once when the subscription is made).
    public var webhookSecret: CallbackSecret
    public init(webhookSecret: CallbackSecret) { self.webhookSecret = webhookSecret }
}

/// `http.callbacks`: which signed callbacks the server answers. A service left out is disabled
/// (its route answers 404).
public struct HTTPCallbackSettings: Sendable, Equatable {
    public var slack: SlackCallbackSettings?
    public var pagerDuty: PagerDutyCallbackSettings?
    public init(slack: SlackCallbackSettings? = nil, pagerDuty: PagerDutyCallbackSettings? = nil) {
        self.slack = slack
        self.pagerDuty = pagerDuty
    }
}

/// Reads `http.callbacks`. A secret is given either inline (`signing_secret`) or, better, as a
/// file (`signing_secret_file`, relative to the configuration's folder) read when the
/// configuration is loaded: surrounding whitespace and the final newline are dropped. Errors name
/// the file, line and key, never the secret.
enum CallbackSettingsLoader {
    static func load(_ node: YAMLNode, resolve: (String) -> String) -> HTTPCallbackSettings {
        var settings = HTTPCallbackSettings()
        guard let f = node.fields("callbacks", allowed: ["slack", "pagerduty"]) else { return settings }
        if let s = f["slack"]?.fields("slack", allowed: ["signing_secret", "signing_secret_file", "team_id"]) {
            let secret = Self.secret(s, key: "signing_secret", resolve: resolve)
            var teamID: String?
            if let n = s["team_id"], let text = n.string("team_id") {
                if isIdentifier(text) { teamID = text } else {
                    n.diagnostics.add(.invalidValue(n.location, key: "team_id", found: String(text.prefix(80)),
                                                    expected: "a Slack workspace id like T0123ABCD"))
                }
            }
            if let secret { settings.slack = SlackCallbackSettings(signingSecret: secret, teamID: teamID) }
        }
        if let p = f["pagerduty"]?.fields("pagerduty", allowed: ["webhook_secret", "webhook_secret_file"]),
           let secret = Self.secret(p, key: "webhook_secret", resolve: resolve) {
            settings.pagerDuty = PagerDutyCallbackSettings(webhookSecret: secret)
        }
        return settings
    }

    /// `key` or `key_file`, exactly one.
    static func secret(_ f: Fields, key: String, resolve: (String) -> String) -> CallbackSecret? {
        let fileKey = key + "_file"
        switch (f[key], f[fileKey]) {
        case (nil, nil):
            f.owner.diagnostics.add(.missingKey(f.owner.location, key: fileKey))
            return nil
        case (.some(let n), .some):
            n.diagnostics.add(.invalidValue(n.location, key: key, found: ConfigRedaction.placeholder,
                                            expected: "given once: either \(key) or \(fileKey), not both"))
            return nil
        case (.some(let n), nil):
            guard let text = n.string(key) else { return nil }
            return checked(Array(text.trimmingWhitespace().utf8), node: n, key: key, what: "the secret")
        case (nil, .some(let n)):
            guard let path = n.string(fileKey) else { return nil }
            return secretFile(resolve(path), node: n, key: fileKey)
        }
    }

    static func checked(_ bytes: [UInt8], node: YAMLNode, key: String, what: String) -> CallbackSecret? {
        guard !bytes.isEmpty, bytes.count <= CallbackSecret.maximumBytes else {
            node.diagnostics.add(.invalidValue(node.location, key: key, found: bytes.isEmpty ? "nothing" : "\(bytes.count) bytes",
                                               expected: "\(what) of 1 to \(CallbackSecret.maximumBytes) bytes"))
            return nil
        }
        return CallbackSecret(bytes)
    }

    /// Reads a secret file: a regular file (a FIFO or a device would hang or flood the load), at
    /// most ``CallbackSecret/maximumBytes`` once trimmed.
    static func secretFile(_ path: String, node: YAMLNode, key: String) -> CallbackSecret? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else {
            node.diagnostics.add(.unreadableFile(node.location, path: path, reason: String(cString: strerror(errno))))
            return nil
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & mode_t(S_IFMT) == mode_t(S_IFREG) else {
            node.diagnostics.add(.invalidValue(node.location, key: key, found: path, expected: "a regular file holding the secret"))
            return nil
        }
        let limit = CallbackSecret.maximumBytes + 64
        var buffer = [UInt8](repeating: 0, count: limit + 1)
        var total = 0
        while total <= limit {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + total, $0.count - total) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else {
                node.diagnostics.add(.unreadableFile(node.location, path: path, reason: String(cString: strerror(errno))))
                return nil
            }
            if n == 0 { break }
            total += n
        }
        let text = buffer.prefix(min(total, limit + 1))
        guard total <= limit else {
            node.diagnostics.add(.invalidValue(node.location, key: key, found: path,
                                               expected: "a file of at most \(CallbackSecret.maximumBytes) bytes"))
            return nil
        }
        var slice = text[...]
        let space: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
        while let b = slice.first, space.contains(b) { slice.removeFirst() }
        while let b = slice.last, space.contains(b) { slice.removeLast() }
        return checked(Array(slice), node: node, key: key, what: "\(path): the secret")
    }

    /// A Slack id: 1 to 64 letters and digits.
    static func isIdentifier(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) }
    }
}
