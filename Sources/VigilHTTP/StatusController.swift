import Foundation
import Hummingbird
import VigilCore

/// `GET /api/v2/status` in Alertmanager's shape, so `amtool config show` and Grafana's
/// Alertmanager data source recognise the server.
public struct StatusController: HTTPController {
    let services: HTTPServices

    public init(services: HTTPServices) { self.services = services }

    struct Status: Encodable {
        struct Cluster: Encodable {
            var name = ""
            /// Vigil runs one instance: Alertmanager reports a disabled cluster the same way.
            var status = "disabled"
            var peers: [String] = []
        }
        struct VersionInfo: Encodable {
            var version: String
            var revision = ""
            var branch = ""
            var buildUser = ""
            var buildDate = ""
            var goVersion = "none (Vigil is written in Swift)"
        }
        struct Config: Encodable { var original: String }
        var cluster = Cluster()
        var versionInfo: VersionInfo
        var config: Config
        var uptime: String
    }

    public func addRoutes(to router: Router<VigilRequestContext>) {
        let services = self.services
        router.get("/api/v2/status") { _, _ in
            let status = Status(versionInfo: .init(version: services.version),
                                config: .init(original: await services.configurationText()),
                                uptime: WireTime.format(services.startedAt))
            return try JSONResponse.encode(status)
        }
    }
}

/// JSON bodies as Alertmanager writes them.
enum JSONResponse {
    static func encode(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
