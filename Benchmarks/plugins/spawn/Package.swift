// swift-tools-version:6.1
// Spawn latency of /bin/true under vigil-sandbox, bwrap, firejail and bare posix_spawn
// (part of `make bench-plugins`). Sources are symlinks to the real ones; `VigilSandboxHost` is
// the sandbox half of VigilPluginHost (Sources/VigilPluginHost/Sandbox) built on its own.
import PackageDescription

let package = Package(
    name: "SpawnBenchmark",
    products: [.executable(name: "vigil-sandbox", targets: ["vigil-sandbox"])],
    targets: [
        .systemLibrary(name: "CSeccomp", path: "Sources/CSeccomp", pkgConfig: "libseccomp"),
        .systemLibrary(name: "CLibcap", path: "Sources/CLibcap", pkgConfig: "libcap"),
        .target(name: "CVigilSys", path: "Sources/CVigilSys"),
        .target(name: "VigilCore"),
        .target(name: "VigilSandboxHost", dependencies: ["VigilCore", "CVigilSys", "CSeccomp"]),
        .target(name: "VigilSandboxLauncher", dependencies: ["VigilCore", "CSeccomp", "CLibcap", "CVigilSys"]),
        .executableTarget(name: "vigil-sandbox", dependencies: ["VigilSandboxLauncher"]),
        .executableTarget(name: "SpawnBenchmark", dependencies: ["VigilSandboxHost", "VigilCore", "CVigilSys"]),
    ]
)
