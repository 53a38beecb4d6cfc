// swift-tools-version:6.1
// `make bench-http`: the load generator (and webhook sink) that measures vigild and the real
// Alertmanager side by side. Only swift-nio: it speaks plain HTTP/1.1 with keep-alive itself so
// that the client costs as little as possible and the same for both servers.
import PackageDescription

let package = Package(
    name: "HTTPBenchmark",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
    ],
    targets: [
        .executableTarget(name: "vigil-bench-http", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], path: "Sources/HTTPBenchmark", swiftSettings: [.swiftLanguageMode(.v5)]),
    ]
)
