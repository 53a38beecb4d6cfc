// swift-tools-version:6.1
// `make bench-bus`: the EventBus against a Mutex-guarded Deque and moodycamel::ConcurrentQueue.
// VigilCore and VigilBus are symlinks to the real sources, so only they are built (release).
import PackageDescription

let package = Package(
    name: "BusBenchmark",
    dependencies: [.package(url: "https://github.com/apple/swift-collections", from: "1.1.0")],
    targets: [
        .target(name: "VigilMatchers"),
        .target(name: "VigilCore", dependencies: ["VigilMatchers"]),
        .target(name: "CVigilBarrier"),
        .target(name: "VigilBus", dependencies: ["VigilCore", "CVigilBarrier"]),
        // Interposes malloc & co. and hooks swift_retain to count them around the hot path.
        .target(name: "CAllocationCounter"),
        .executableTarget(name: "BusBenchmark", dependencies: [
            "VigilBus", "VigilCore", "CAllocationCounter", .product(name: "DequeModule", package: "swift-collections"),
        ]),
    ]
)
