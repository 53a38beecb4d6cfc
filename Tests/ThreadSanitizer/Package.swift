// swift-tools-version:6.1
// Runs the EventBus stress tests under ThreadSanitizer (`make test-tsan`, part of `make test`).
// A package of its own so only VigilCore (with the pure VigilMatchers it uses) and VigilBus are rebuilt with the sanitizer; the
// targets are symlinks to the real sources and tests.
import PackageDescription

let package = Package(
    name: "VigilBusThreadSanitizer",
    targets: [
        .target(name: "VigilMatchers"),
        .target(name: "VigilCore", dependencies: ["VigilMatchers"]),
        .target(name: "CVigilBarrier"),
        .target(name: "VigilBus", dependencies: ["VigilCore", "CVigilBarrier"]),
        .testTarget(name: "VigilBusTests", dependencies: ["VigilBus", "VigilCore"]),
    ]
)
