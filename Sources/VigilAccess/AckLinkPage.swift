import VigilCore

/// What `GET` and `POST /ack/{token}` do, apart from HTTP: a GET only checks the link and shows a
/// confirmation form (mail scanners and chat previews follow GETs, so a GET must change nothing);
/// the form's POST uses the link up and acknowledges.
public struct AckLinkRedemption: Sendable {
    /// Records the nonce as used; false when it already was.
    public typealias Consume = @Sendable (AckLink) async throws -> Bool
    /// Acknowledges the incident as the link's person; returns a sentence for the page, or throws
    /// an error whose description the person may read (already acknowledged, resolved…).
    public typealias Acknowledge = @Sendable (AckLink) async throws -> String

    let signer: AckLinkSigner
    let consume: Consume
    let acknowledge: Acknowledge

    public init(signer: AckLinkSigner, consume: @escaping Consume, acknowledge: @escaping Acknowledge) {
        self.signer = signer
        self.consume = consume
        self.acknowledge = acknowledge
    }

    /// The answer to one request: a status and a small HTML page.
    public struct Page: Sendable, Equatable {
        public var status: Int
        public var html: String
    }

    /// `GET /ack/{token}`: the confirmation form, or why the link cannot be used. Changes nothing.
    public func confirm(token: String) -> Page {
        do {
            let link = try signer.verify(token)
            return Page(status: 200, html: Self.page(title: "Acknowledge \(link.incidentID)?", body: """
                <p>Acknowledge incident <strong>\(Self.escape(link.incidentID))</strong> as \
                <strong>\(Self.escape(link.person))</strong>?</p>
                <p>This link works once, until \(Self.escape(link.expiresAt.rfc3339)).</p>
                <form method="post" action="\(Self.escape(token))"><button type="submit">Acknowledge</button></form>
                """))
        } catch {
            return Self.refusal(error)
        }
    }

    /// `POST /ack/{token}`: checks the link, uses it up, acknowledges.
    public func redeem(token: String) async -> Page {
        let link: AckLink
        do { link = try signer.verify(token) } catch { return Self.refusal(error) }
        do {
            guard try await consume(link) else { return Self.refusal(.used) }
        } catch {
            return Page(status: 503, html: Self.page(title: "Try again", body: "<p>The link could not be checked right now; it was not used.</p>"))
        }
        do {
            let outcome = try await acknowledge(link)
            return Page(status: 200, html: Self.page(title: "Acknowledged \(link.incidentID)", body: "<p>\(Self.escape(outcome))</p>"))
        } catch {
            return Page(status: 409, html: Self.page(title: "Not acknowledged",
                                                     body: "<p>\(Self.escape(String(describing: error)))</p>"))
        }
    }

    static func refusal(_ error: AckLinkError) -> Page {
        let status = switch error {
        case .malformed, .badSignature, .tooLong: 404
        case .expired, .used: 410
        }
        return Page(status: status, html: page(title: "Link not usable", body: "<p>\(escape(error.description))</p>"))
    }

    static func page(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer"><title>\(escape(title)) — Vigil</title></head>
        <body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 2rem auto; padding: 0 1rem">
        <h1 style="font-size: 1.3rem">\(escape(title))</h1>
        \(body)
        </body></html>

        """
    }

    /// Escapes text for HTML element content and double-quoted attributes (``HTMLText``).
    public static func escape(_ text: String) -> String { HTMLText.escaped(text) }

    /// Headers every ack page is sent with: never cached or framed (the button must not be
    /// clickjacked), and the token in the URL not leaked through a Referer.
    public static let headers: [(String, String)] = [
        ("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"), ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
    ]
}
