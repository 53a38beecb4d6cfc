// swift-tools-version:6.1
// `make bench-rules`: samples through 1,000 rules over 10,000 series, on one core.
// VigilCore and VigilRules are symlinks to the real sources, so only they are built (release).
import PackageDescription

let package = Package(
    name: "RulesBenchmark",
    targets: [
        .target(name: "VigilMatchers"),
        .target(name: "VigilCore", dependencies: ["VigilMatchers"]),
        .target(name: "VigilRules", dependencies: ["VigilCore"]),
        .executableTarget(name: "RulesBenchmark", dependencies: ["VigilRules", "VigilCore"]),
    ]
)
