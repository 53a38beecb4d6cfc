import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import VigilCore
import VigilPluginProtocol

/// How a client reaches a daemon: the local control socket (``ControlClient``) or its HTTP API
/// (``HTTPControlClient``). Both send the same ``ControlRequest`` and get the same
/// ``ControlResponse``.
public protocol ControlTransport: Sendable {
    func send(_ request: ControlRequest) throws(ControlFailure) -> ControlResponse
}

/// Sends control requests to a remote `vigild` over its `/api/v1` routes (``ControlCatalogue``)
/// with an API token; the daemon attributes every change to the token's person.
public struct HTTPControlClient: ControlTransport {
    public let baseURL: URL
    let token: String
    /// How long one request may take.
    public var timeout: TimeInterval = 60
    /// The largest answer read.
    public static let maximumResponseBytes = 64 << 20

    /// `url` is `http(s)://HOST:PORT` (a path prefix is kept, for a reverse proxy).
    public init(url: String, token: String) throws(ControlFailure) {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme),
              parsed.host != nil else {
            throw ControlFailure("--url \"\(url)\": expected http://HOST:PORT or https://HOST:PORT")
        }
        let trimmed = token.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, !trimmed.contains(where: { $0.isNewline || $0 == "\r" }) else {
            throw ControlFailure("--token: empty (make one with `vigil tokens create`)")
        }
        baseURL = parsed
        self.token = trimmed
    }

    /// The URL, method and body of `request`, or a failure when no route serves its command.
    public func httpRequest(for request: ControlRequest) throws(ControlFailure) -> URLRequest {
        guard let route = ControlCatalogue.route(for: request) else {
            if ControlCatalogue.routes.contains(where: { $0.command == request.command }) {
                let route = ControlCatalogue.routes.first { $0.command == request.command }
                throw ControlFailure("\(request.command): missing argument "
                    + (route.map { r in r.pathParameters.map(r.argument(for:)).joined(separator: ", ") } ?? ""))
            }
            throw ControlFailure("\(request.command) is not available over HTTP; run it on the daemon's host")
        }
        var args = request.args
        var path = ""
        for segment in route.path.split(separator: "/") {
            var text = String(segment)
            if segment.hasPrefix("{"), segment.hasSuffix("}") {
                let name = route.argument(for: String(segment.dropFirst().dropLast()))
                switch args.removeValue(forKey: name) {
                case .string(let s)?: text = s
                case .number(let n)?: text = Int64(exactly: n).map(String.init) ?? "\(n)"
                default: throw ControlFailure("\(request.command): missing argument \(name)")
                }
                text = text.addingPercentEncoding(withAllowedCharacters: Self.segmentCharacters) ?? text
            }
            path += "/" + text
        }
        let base = baseURL.absoluteString.hasSuffix("/") ? String(baseURL.absoluteString.dropLast()) : baseURL.absoluteString
        guard var components = URLComponents(string: base + path) else { throw ControlFailure("cannot form a URL for \(path)") }
        var body: Data?
        if route.method == "GET" {
            var items: [URLQueryItem] = []
            for (key, value) in args.sorted(by: { $0.key < $1.key }) {
                switch value {
                case .array(let list): items += list.map { URLQueryItem(name: key, value: Self.text($0)) }
                case .null: continue
                default: items.append(URLQueryItem(name: key, value: Self.text(value)))
                }
            }
            if !items.isEmpty { components.queryItems = items }
        } else if !args.isEmpty {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            guard let data = try? encoder.encode(JSONValue.object(args)) else { throw ControlFailure("cannot encode the arguments") }
            body = data
        }
        guard let url = components.url else { throw ControlFailure("cannot form a URL for \(path)") }
        var r = URLRequest(url: url, timeoutInterval: timeout)
        r.httpMethod = route.method
        r.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        r.setValue("application/json", forHTTPHeaderField: "Accept")
        if let body {
            r.httpBody = body
            r.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        return r
    }

    public func send(_ request: ControlRequest) throws(ControlFailure) -> ControlResponse {
        let r = try httpRequest(for: request)
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        let task = URLSession.shared.dataTask(with: r) { data, response, error in
            box.set(data, response as? HTTPURLResponse, error)
            done.signal()
        }
        task.resume()
        done.wait()
        let (data, response, error) = box.get()
        guard let response, error == nil else {
            throw ControlFailure("cannot reach \(baseURL.absoluteString): \(error.map { $0.localizedDescription } ?? "no response")")
        }
        let bytes = data ?? Data()
        guard bytes.count <= Self.maximumResponseBytes else {
            throw ControlFailure("the daemon at \(baseURL.absoluteString) sent more than \(Self.maximumResponseBytes) bytes")
        }
        let status = response.statusCode
        let value = try? JSONValue.parse(Array(bytes))
        if (200..<300).contains(status) {
            guard let value else {
                throw ControlFailure("the daemon at \(baseURL.absoluteString) sent a malformed response (HTTP \(status))")
            }
            return .success(value)
        }
        let message = value?["message"]?.stringValue ?? String(decoding: bytes.prefix(500), as: UTF8.self)
        let kind: ControlFailure.Kind = switch status {
        case 404: .notFound
        case 409: .conflict
        case 401, 403: .forbidden
        case 400, 422: .invalid
        default: .unavailable
        }
        return .failure(ControlFailure("HTTP \(status): \(message)", kind: kind))
    }

    static func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): s
        case .number(let n): Int64(exactly: n).map(String.init) ?? "\(n)"
        case .bool(let b): b ? "true" : "false"
        default: "\(value)"
        }
    }

    /// Characters kept as they are inside one path segment.
    static let segmentCharacters: CharacterSet = {
        var set = CharacterSet.urlPathAllowed
        set.remove("/")
        return set
    }()
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: (Data?, HTTPURLResponse?, (any Error)?) = (nil, nil, nil)
    func set(_ data: Data?, _ response: HTTPURLResponse?, _ error: (any Error)?) { lock.withLock { value = (data, response, error) } }
    func get() -> (Data?, HTTPURLResponse?, (any Error)?) { lock.withLock { value } }
}
