// swift-tools-version:6.1
// `make bench-incidents`: signal storms and clock ticks through the real incident service and a
// real SQLite file. VigilCore, VigilIncidents, VigilStore and the daemon's Incidents folder are
// symlinks to the real sources, so only they are built (release).
import PackageDescription

let package = Package(
    name: "IncidentBenchmark",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        .target(name: "VigilMatchers"),
        .target(name: "VigilCore", dependencies: ["VigilMatchers"]),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "VigilIncidents", dependencies: ["VigilCore", .product(name: "Mustache", package: "swift-mustache")]),
        .target(name: "VigilStore", dependencies: ["VigilCore", "CCrypto", .product(name: "GRDB", package: "GRDB.swift"),
                                                  .product(name: "DequeModule", package: "swift-collections")]),
        .target(name: "IncidentDaemon", dependencies: [
            "VigilCore", "VigilIncidents", "VigilStore",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "IncidentBenchmark", dependencies: [
            "IncidentDaemon", "VigilCore", "VigilIncidents", "VigilStore", .product(name: "Logging", package: "swift-log"),
        ]),
    ]
)
