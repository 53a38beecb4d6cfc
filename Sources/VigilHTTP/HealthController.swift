import Hummingbird

/// `/-/healthy` and `/-/ready`, as Alertmanager and Prometheus answer them: 200 with a short
/// text while the process lives / is ready, 503 with the reasons while not ready.
public struct HealthController: HTTPController {
    let services: HTTPServices

    public init(services: HTTPServices) { self.services = services }

    public func addRoutes(to router: Router<VigilRequestContext>) {
        router.get("/-/healthy") { _, _ in Self.text(.ok, "OK") }
        router.head("/-/healthy") { _, _ in Response(status: .ok) }
        let readiness = services.readiness
        router.get("/-/ready") { _, _ in
            let r = await readiness()
            return r.ready ? Self.text(.ok, "OK") : Self.text(.serviceUnavailable, "not ready: " + r.reasons.joined(separator: "; "))
        }
        router.head("/-/ready") { _, _ in Response(status: await readiness().ready ? .ok : .serviceUnavailable) }
    }

    static func text(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }
}
