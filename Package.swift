// swift-tools-version:6.1
// Vigil: an incident-response daemon for Linux. See ARCHITECTURE in Docs/ and README.md.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
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
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
    ],
    targets: [
        // System libraries (Debian: libseccomp-dev, libcap-dev).
        .systemLibrary(name: "CSeccomp", path: "Sources/CSeccomp", pkgConfig: "libseccomp",
                       providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CLibcap", path: "Sources/CLibcap", pkgConfig: "libcap",
                       providers: [.apt(["libcap-dev"])]),
        // Small C shims for kernel interfaces Swift cannot express (CMSG macros, SO_PEERCRED, ioctls).
        .target(name: "CVigilSys", path: "Sources/CVigilSys"),

        .target(name: "VigilCore", swiftSettings: strict),
        .target(name: "VigilBus", dependencies: ["VigilCore"], swiftSettings: strict),
        .target(name: "VigilRules", dependencies: ["VigilCore"], swiftSettings: strict),
        .target(name: "VigilIncidents", dependencies: [
            "VigilCore",
            .product(name: "Mustache", package: "swift-mustache"),
        ], swiftSettings: strict),
        .target(name: "VigilConfig", dependencies: [
            "VigilCore",
            .product(name: "Yams", package: "Yams"),
        ], swiftSettings: strict),
        .target(name: "VigilStore", dependencies: [
            "VigilCore",
            .product(name: "GRDB", package: "GRDB.swift"),
        ], swiftSettings: strict),
        .target(name: "VigilPluginProtocol", dependencies: ["VigilCore"], swiftSettings: strict),
        .target(name: "VigilPluginHost", dependencies: [
            "VigilCore", "VigilBus", "VigilPluginProtocol", "VigilConfig", "CVigilSys", "CSeccomp",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], swiftSettings: strict),
        .target(name: "VigilPluginKit", dependencies: ["VigilPluginProtocol"], swiftSettings: strict),
        .target(name: "VigilSandboxLauncher", dependencies: ["VigilCore", "CSeccomp", "CLibcap", "CVigilSys"],
                swiftSettings: strict),
        .target(name: "VigilDaemon", dependencies: [
            "VigilCore", "VigilBus", "VigilRules", "VigilIncidents", "VigilConfig", "VigilStore",
            "VigilPluginProtocol", "VigilPluginHost", "CVigilSys",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], swiftSettings: strict),
        .target(name: "VigilCLI", dependencies: [
            "VigilCore", "VigilConfig", "VigilRules", "VigilDaemon",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: strict),

        .executableTarget(name: "vigild", dependencies: [
            "VigilDaemon",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: strict),
        .executableTarget(name: "vigil", dependencies: ["VigilCLI"], swiftSettings: strict),
        .executableTarget(name: "vigil-sandbox", dependencies: ["VigilSandboxLauncher"],
                          swiftSettings: strict),

        .testTarget(name: "VigilCoreTests", dependencies: ["VigilCore"]),
        .testTarget(name: "VigilBusTests", dependencies: ["VigilBus", "VigilCore"]),
        .testTarget(name: "VigilRulesTests", dependencies: ["VigilRules", "VigilCore", "VigilConfig"]),
        .testTarget(name: "VigilIncidentsTests", dependencies: ["VigilIncidents", "VigilCore", "VigilConfig"]),
        .testTarget(name: "VigilConfigTests", dependencies: ["VigilConfig", "VigilCore"]),
        .testTarget(name: "VigilStoreTests", dependencies: ["VigilStore", "VigilCore"]),
        .testTarget(name: "VigilPluginHostTests", dependencies: [
            "VigilPluginHost", "VigilPluginProtocol", "VigilCore", "VigilBus", "CSeccomp", "CLibcap",
        ], exclude: ["Fixtures"]),
        .testTarget(name: "VigilDaemonTests", dependencies: [
            "VigilDaemon", "VigilCore", "VigilConfig", "VigilStore", "VigilIncidents", "CVigilSys",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
    ]
)
