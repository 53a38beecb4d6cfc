/// Why a frame from a peer was refused; each case names the frame (1-based, counted per
/// connection) and what was wrong, so the daemon's log and `vigil plugins show` can say it.
public enum ProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The length prefix announced more bytes than the configured maximum.
    case oversizedFrame(frame: Int, length: UInt32, limit: Int)
    /// The frame is not one UTF-8 JSON object; `offset` is the byte within the frame's payload.
    case invalidJSON(frame: Int, offset: Int, problem: String)
    /// The JSON parsed, but a field is missing or has the wrong type or value.
    case invalidMessage(frame: Int, type: String, field: String, problem: String)
    /// The `type` field names no message of protocol v1.
    case unknownType(frame: Int, type: String)
    /// A valid message arrived where the protocol does not allow it (events before the handshake, …).
    case unexpectedMessage(frame: Int, type: String, expected: String)
    /// The peer spoke a protocol version this build does not.
    case unsupportedVersion(frame: Int, version: Int)

    /// The frame number the error is about.
    public var frame: Int {
        switch self {
        case .oversizedFrame(let f, _, _), .invalidJSON(let f, _, _), .invalidMessage(let f, _, _, _),
             .unknownType(let f, _), .unexpectedMessage(let f, _, _), .unsupportedVersion(let f, _):
            f
        }
    }

    /// Text a plugin chose, as it may appear in the daemon's log and the operator's terminal:
    /// printable ASCII kept, everything else (newlines, escapes, bidi controls) as `\u{…}`, cut
    /// at 64 characters. A plugin cannot forge a log line or drive a terminal through it.
    static func shown(_ text: String) -> String {
        var out = ""
        for (i, scalar) in text.unicodeScalars.enumerated() {
            if i == 64 { return out + "…" }
            if scalar.value >= 0x20, scalar.value < 0x7f, scalar != "\\" {
                out.unicodeScalars.append(scalar)
            } else {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            }
        }
        return out
    }

    public var description: String {
        switch self {
        case .oversizedFrame(let f, let length, let limit):
            "frame \(f): announced length \(length) bytes exceeds the limit of \(limit) bytes"
        case .invalidJSON(let f, let offset, let problem):
            "frame \(f): invalid JSON at byte \(offset): \(problem)"
        case .invalidMessage(let f, let type, let field, let problem):
            "frame \(f): \"\(Self.shown(type))\" message: field \"\(Self.shown(field))\" \(problem)"
        case .unknownType(let f, let type):
            "frame \(f): unknown message type \"\(Self.shown(type))\""
        case .unexpectedMessage(let f, let type, let expected):
            "frame \(f): unexpected \"\(Self.shown(type))\" message; expected \(expected)"
        case .unsupportedVersion(let f, let version):
            "frame \(f): protocol version \(version) is not supported (this build speaks \(WireProtocol.version))"
        }
    }
}

/// Constants of wire protocol v1 (see `Docs/plugin-protocol.md`).
public enum WireProtocol {
    /// The protocol version this build speaks.
    public static let version = 1
    /// The default largest frame payload, 1 MiB.
    public static let defaultMaximumFrameBytes = 1 << 20
}
