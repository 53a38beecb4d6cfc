// swift-tools-version:6.1
// Vigil: an incident-response daemon for Linux. See ARCHITECTURE in Docs/ and README.md.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

/// Links a plugin with the Swift runtime and Foundation inside it (static archives of the toolchain),
/// so the sandbox does not need to expose the toolchain's shared libraries.
let staticSwiftRuntime: [LinkerSetting] = [
    .unsafeFlags(["-static-stdlib", "-Xlinker", "--start-group", "-lFoundation", "-lFoundationEssentials",
                  "-lFoundationInternationalization", "-lCoreFoundation", "-l_FoundationICU", "-l_FoundationCShims",
                  "-l_FoundationCollections", "-ldispatch", "-lBlocksRuntime", "-Xlinker", "--end-group", "-lstdc++"]),
]

let package = Package(
    name: "Vigil",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vigild", targets: ["vigild"]),
        .executable(name: "vigil", targets: ["vigil"]),
        .executable(name: "vigil-sandbox", targets: ["vigil-sandbox"]),
        .library(name: "VigilPluginKit", targets: ["VigilPluginKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.24.0"),
    ],
    targets: [
        // System libraries (Debian: libseccomp-dev, libcap-dev).
        .systemLibrary(name: "CSeccomp", path: "Sources/CSeccomp", pkgConfig: "libseccomp",
                       providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CLibcap", path: "Sources/CLibcap", pkgConfig: "libcap",
                       providers: [.apt(["libcap-dev"])]),
        // OpenSSL's libcrypto (Debian: libssl-dev) for SHA-256 of backups and evidence.
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        // Small C shims for kernel interfaces Swift cannot express (CMSG macros, SO_PEERCRED, ioctls).
        .target(name: "CVigilSys", path: "Sources/CVigilSys"),

        .target(name: "VigilCore", dependencies: ["VigilMatchers"], swiftSettings: strict),
        // Alertmanager's label matchers and an RE2-syntax regex engine: pure, no dependencies,
        // shared by silences, maintenance windows and alert routing.
        .target(name: "VigilMatchers", swiftSettings: strict),
        // Silences and maintenance windows: values and rules over an injected clock, no I/O.
        .target(name: "VigilSilences", dependencies: ["VigilCore", "VigilMatchers", "VigilPluginProtocol"], swiftSettings: strict),
        .target(name: "CVigilBarrier", path: "Sources/CVigilBarrier"),
        .target(name: "VigilBus", dependencies: ["VigilCore", "CVigilBarrier"], swiftSettings: strict),
        .target(name: "VigilRules", dependencies: ["VigilCore"], swiftSettings: strict),
        .target(name: "VigilIncidents", dependencies: [
            "VigilCore",
            .product(name: "Mustache", package: "swift-mustache"),
        ], swiftSettings: strict),
        .target(name: "VigilConfig", dependencies: [
            "VigilCore", "VigilRules", "VigilMatchers", "VigilSilences",
            .product(name: "Yams", package: "Yams"),
        ], swiftSettings: strict),
        .target(name: "VigilStore", dependencies: [
            "VigilCore", "CCrypto",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "DequeModule", package: "swift-collections"),
        ], swiftSettings: strict),
        .target(name: "VigilPluginProtocol", dependencies: ["VigilCore"], swiftSettings: strict),
        // Who may do what over HTTP: API tokens, roles, signed acknowledgement links (pure, plus libcrypto).
        .target(name: "VigilAccess", dependencies: ["VigilCore", "CCrypto"], swiftSettings: strict),
        // The daemon's own metrics on a swift-prometheus registry, and /metrics' text.
        .target(name: "VigilMetrics", dependencies: [
            "VigilCore",
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], swiftSettings: strict),
        .target(name: "VigilPluginHost", dependencies: [
            "VigilCore", "VigilBus", "VigilPluginProtocol", "VigilConfig", "CVigilSys", "CSeccomp",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], swiftSettings: strict),
        .target(name: "VigilPluginKit", dependencies: ["VigilPluginProtocol"], swiftSettings: strict),
        .target(name: "VigilSandboxLauncher", dependencies: ["VigilCore", "CSeccomp", "CLibcap", "CVigilSys"],
                swiftSettings: strict),
        // The HTTP front door (Alertmanager API v2, health, status). It knows the daemon only through
        // the protocols and closures of `HTTPServices`, which the composition root fills in.
        // Also the web console and the public status page (Console/): server-rendered HTML from
        // Mustache templates, a little plain JavaScript, live updates over Server-Sent Events.
        .target(name: "VigilHTTP", dependencies: [
            "VigilCore", "VigilControl", "VigilAccess", "VigilMetrics", "VigilMatchers", "VigilSilences", "VigilPluginProtocol",
            "VigilIncidents",
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], swiftSettings: strict),
        // One command model: the control protocol's requests, responses and views, the command
        // catalogue with its /api/v1 routes, and the clients (Unix socket, HTTP). The CLI depends on
        // this, not on the daemon.
        .target(name: "VigilControl", dependencies: ["VigilCore", "VigilPluginProtocol"], swiftSettings: strict),
        .target(name: "VigilDaemon", dependencies: [
            "VigilControl", "VigilCore", "VigilBus", "VigilRules", "VigilIncidents", "VigilConfig", "VigilStore", "VigilMatchers", "VigilSilences",
            "VigilPluginProtocol", "VigilPluginHost", "CVigilSys", "VigilHTTP", "VigilAccess", "VigilMetrics",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "HeapModule", package: "swift-collections"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ], swiftSettings: strict),
        .target(name: "VigilCLI", dependencies: [
            "VigilCore", "VigilConfig", "VigilRules", "VigilControl", "VigilIncidents", "VigilPluginHost", "VigilMatchers",
            "VigilStore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: strict),

        .executableTarget(name: "vigild", dependencies: [
            "VigilDaemon", "VigilControl",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: strict),
        .executableTarget(name: "vigil", dependencies: ["VigilCLI"], swiftSettings: strict),
        // Static Swift runtime: the launcher is started for every plugin run, and loading the
        // shared Swift and Foundation libraries cost it ~8 ms of its start (measured).
        .executableTarget(name: "vigil-sandbox", dependencies: ["VigilSandboxLauncher"],
                          swiftSettings: strict, linkerSettings: staticSwiftRuntime),

        // Bundled plugins written in Swift. Linked with the Swift runtime inside, so inside their
        // sandbox they need nothing but the C library. `make build` copies them into their folders.
        .executableTarget(name: "vigil-system-metrics", dependencies: ["VigilPluginKit"],
                          path: "Plugins/system-metrics/Sources", swiftSettings: strict,
                          linkerSettings: staticSwiftRuntime),
        // `make bench-plugins` (Benchmarks/plugins/run.sh).
        .executableTarget(name: "vigil-bench-plugins", dependencies: [
            "VigilPluginHost", "VigilPluginProtocol", "VigilBus", "VigilConfig", "VigilCore",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Benchmarks/plugins/Sources/PluginBenchmark"),
        .executableTarget(name: "vigil-bench-flood", dependencies: ["VigilPluginKit"],
                          path: "Benchmarks/plugins/Sources/FloodDetector", linkerSettings: staticSwiftRuntime),
        .executableTarget(name: "vigil-config-watch", dependencies: ["VigilPluginKit"],
                          path: "Plugins/examples/swift-detector/Sources", swiftSettings: strict,
                          linkerSettings: staticSwiftRuntime),

        .testTarget(name: "VigilCoreTests", dependencies: ["VigilCore"]),
        .testTarget(name: "VigilMatchersTests", dependencies: ["VigilMatchers"]),
        .testTarget(name: "VigilSilencesTests", dependencies: ["VigilSilences", "VigilMatchers", "VigilCore"]),
        .testTarget(name: "VigilBusTests", dependencies: ["VigilBus", "VigilCore"]),
        .testTarget(name: "VigilRulesTests", dependencies: ["VigilRules", "VigilCore", "VigilConfig"]),
        .testTarget(name: "VigilIncidentsTests", dependencies: ["VigilIncidents", "VigilCore", "VigilConfig"]),
        .testTarget(name: "VigilConfigTests", dependencies: ["VigilConfig", "VigilCore"]),
        .testTarget(name: "VigilPluginProtocolTests", dependencies: ["VigilPluginProtocol", "VigilCore"]),
        .testTarget(name: "VigilStoreTests", dependencies: ["VigilStore", "VigilCore", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "VigilAccessTests", dependencies: ["VigilAccess", "VigilCore"]),
        .testTarget(name: "VigilMetricsTests", dependencies: ["VigilMetrics", "VigilCore"]),
        .testTarget(name: "VigilHTTPTests", dependencies: [
            "VigilHTTP", "VigilCore", "VigilConfig", "VigilAccess", "VigilMetrics", "VigilStore",
            "VigilSilences", "VigilDaemon", "VigilControl", "VigilTestSupport",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .testTarget(name: "VigilConsoleTests", dependencies: [
            "VigilHTTP", "VigilCore", "VigilAccess", "VigilControl", "VigilIncidents",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "VigilPluginHostTests", dependencies: [
            "VigilPluginHost", "VigilSandboxLauncher", "VigilPluginProtocol", "VigilCore", "VigilBus", "VigilConfig", "CSeccomp", "CLibcap", "CVigilSys",
            .product(name: "Logging", package: "swift-log"),
        ], exclude: ["Fixtures"]),
        // Starting the real vigild and vigil from tests (daemon tests and the end-to-end scenarios).
        .target(name: "VigilTestSupport", dependencies: ["VigilCore", "VigilDaemon", "VigilControl"], path: "Tests/VigilTestSupport"),
        .testTarget(name: "Scenarios", dependencies: ["VigilTestSupport", "VigilCore", "VigilDaemon", "VigilControl"],
                    path: "Tests/Scenarios", exclude: ["Fixtures", "run.sh", "document.sh"]),
        .testTarget(name: "VigilDaemonTests", dependencies: ["VigilTestSupport",
            "VigilDaemon", "VigilControl", "VigilHTTP", "VigilPluginProtocol",
            .product(name: "Yams", package: "Yams"), "VigilCore", "VigilConfig", "VigilStore", "VigilIncidents", "VigilBus", "CVigilSys",
            "VigilMatchers", "VigilSilences",
            "VigilAccess", "VigilMetrics",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], exclude: ["Fixtures"]),
    ]
)
