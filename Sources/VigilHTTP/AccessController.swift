import HTTPTypes
import Hummingbird
import VigilAccess
import VigilMetrics

/// `GET`/`POST /ack/{token}` (signed acknowledgement links) and `GET /metrics`.
public struct AccessController<Context: RequestContext>: Sendable {
    let redemption: AckLinkRedemption
    let scrape: @Sendable () async -> [UInt8]

    public init(redemption: AckLinkRedemption, scrape: @escaping @Sendable () async -> [UInt8]) {
        self.redemption = redemption
        self.scrape = scrape
    }

    public func addRoutes(to router: Router<Context>) {
        router.get("/ack/:token") { _, context in
            Self.page(redemption.confirm(token: context.parameters.get("token") ?? ""))
        }
        router.post("/ack/:token") { _, context in
            Self.page(await redemption.redeem(token: context.parameters.get("token") ?? ""))
        }
        router.get("/metrics") { _, _ in
            let bytes = await scrape()
            return Response(status: .ok, headers: [.contentType: VigilMetrics.contentType],
                            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }

    static func page(_ page: AckLinkRedemption.Page) -> Response {
        var headers = HTTPFields()
        for (name, value) in AckLinkRedemption.headers {
            if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
        }
        return Response(status: HTTPResponse.Status(code: page.status), headers: headers,
                        body: .init(byteBuffer: ByteBuffer(string: page.html)))
    }
}

extension AccessController: HTTPController where Context == VigilRequestContext {}
