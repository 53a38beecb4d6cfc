// swift-tools-version:6.1
// Runs the EventBus stress tests under ThreadSanitizer (`make test-tsan`, part of `make test`).
// A package of its own so only VigilCore and VigilBus are rebuilt with the sanitizer; the
// targets are symlinks to the real sources and tests.
import PackageDescription

let package = Package(
    name: "VigilBusThreadSanitizer",
    targets: [
        .target(name: "VigilCore"),
        .target(name: "CVigilBarrier"),
        .target(name: "VigilBus", dependencies: ["VigilCore", "CVigilBarrier"]),
        .testTarget(name: "VigilBusTests", dependencies: ["VigilBus", "VigilCore"]),
    ]
)
