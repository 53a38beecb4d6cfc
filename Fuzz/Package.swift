// swift-tools-version:6.1
// libFuzzer targets for every parser that reads plugin, file or socket input (`make fuzz`, see
// Docs/security.md, "Fuzzing"). A package of its own so only the parsers' modules are rebuilt
// with `-sanitize=fuzzer,address`; the library targets are symlinks to the real sources
// (VigilControl holds only ControlProtocol.swift, the control socket's request decoding; VigilHTTP
// only AlertBody.swift, WebhookWire.swift, CallbackWire.swift, AgentWire.swift, WireText.swift and WireTime.swift, the
// alert and webhook intakes', the host agents' and the Slack and PagerDuty callbacks' decoding, and FormBody.swift, the web console's form reader).
import PackageDescription

let fuzzTargets = ["frame-decoder", "json-scanner", "event-batch", "message-codec", "config", "rules", "control", "matchers", "webhooks",
                   "alerts", "callbacks", "console-forms", "agents"]

let package = Package(
    name: "VigilFuzz",
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        .target(name: "VigilMatchers"),
        .target(name: "VigilCore", dependencies: ["VigilMatchers"]),
        .target(name: "VigilSilences", dependencies: ["VigilCore", "VigilMatchers", "VigilPluginProtocol"]),
        .target(name: "VigilPluginProtocol", dependencies: ["VigilCore"]),
        .target(name: "VigilRules", dependencies: ["VigilCore"]),
        .target(name: "VigilConfig", dependencies: ["VigilCore", "VigilRules", "VigilMatchers", "VigilSilences", .product(name: "Yams", package: "Yams")]),
        .target(name: "VigilControl", dependencies: ["VigilCore", "VigilPluginProtocol"]),
        .target(name: "VigilHTTP", dependencies: ["VigilCore", "VigilPluginProtocol"]),
        .target(name: "CFuzzer", path: "CFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzer"], path: "Support"),
    ] + fuzzTargets.map { name in
        .executableTarget(name: "fuzz-\(name)",
                          dependencies: ["FuzzSupport", "VigilCore", "VigilMatchers", "VigilSilences", "VigilPluginProtocol", "VigilRules", "VigilConfig",
                                         "VigilControl", "VigilHTTP"],
                          path: "Targets/\(name)")
    }
)
