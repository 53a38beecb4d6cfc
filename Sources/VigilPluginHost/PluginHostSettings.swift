import CSeccomp
import CVigilSys
import Foundation
import VigilCore

/// How the daemon runs its plugins.
public struct PluginHostSettings: Sendable {
    /// Absolute path of `vigil-sandbox`.
    public var launcherPath: String
    /// A root-only folder (mode 0700) for the launcher's spec files (one-shot mode).
    public var specDirectory: String
    /// How `vigil-sandbox` runs: one long-lived zygote (the default) or one process per start.
    public var launcherMode: SandboxSpawner.Mode
    /// The folder holding `NAME.profile` and `groups/` (normally `Sandbox/`).
    public var profilesDirectory: String
    public var maximumFrameBytes: Int
    public var policy: SupervisionPolicy
    /// How often deadlines, heartbeats and restarts are checked.
    public var tickInterval: Duration
    /// The length of one window of watched-syscall counts for `unusual_system_call_patterns`.
    public var syscallWindow: Duration
    /// Whether the breach watcher receives the plugins' seccomp notifications (false only where
    /// the kernel lacks user notification: unknown syscalls then get EPERM from the kernel).
    public var useNotify: Bool
    /// What a connection accepts from its plugin beyond the wire format (labels, series, rates).
    public var connectionLimits = ConnectionLimits()
    /// The operator policy over manifests, checked again at every start, and where data folders
    /// go; nil (tests that build requests themselves) checks paths for symlinks only.
    public var launchGuard: PluginLaunchGuard?

    public init(launcherPath: String, specDirectory: String, profilesDirectory: String,
                maximumFrameBytes: Int = 1 << 20, policy: SupervisionPolicy = SupervisionPolicy(),
                tickInterval: Duration = .milliseconds(200), syscallWindow: Duration = .seconds(60),
                useNotify: Bool = SandboxSupport.detect().userNotification, launcherMode: SandboxSpawner.Mode = .zygote) {
        self.launcherPath = launcherPath
        self.specDirectory = specDirectory
        self.profilesDirectory = profilesDirectory
        self.maximumFrameBytes = maximumFrameBytes
        self.policy = policy
        self.tickInterval = tickInterval
        self.syscallWindow = syscallWindow
        self.useNotify = useNotify
        self.launcherMode = launcherMode
    }

    /// `vigil-sandbox` next to the running executable (`vigild` and it are built together).
    public static func launcherBesideExecutable() -> String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return ((exe as NSString).deletingLastPathComponent as NSString).appendingPathComponent("vigil-sandbox")
    }
}

/// What this kernel offers the sandbox; logged at start-up so an operator knows what is missing.
public struct SandboxSupport: Sendable, Equatable, CustomStringConvertible {
    /// Landlock ABI version; 0 when the kernel has none.
    public var landlockABI: Int
    /// Seccomp user notification with `SECCOMP_USER_NOTIF_FLAG_CONTINUE` (libseccomp API level ≥ 6).
    public var userNotification: Bool
    /// Whether the daemon may create namespaces and switch uids (it runs as root).
    public var privileged: Bool

    public static func detect() -> SandboxSupport {
        SandboxSupport(landlockABI: Int(vigil_landlock_abi()), userNotification: seccomp_api_get() >= 6,
                       privileged: geteuid() == 0)
    }

    /// What is missing, in sentences (empty when everything is there).
    public var missing: [String] {
        var out: [String] = []
        if !privileged { out.append("not running as root: plugins cannot be given their own uid, namespaces and view, so none is started") }
        if landlockABI == 0 { out.append("no Landlock: paths, ports and exec are confined by the mount namespace and seccomp only") }
        else if landlockABI < 4 { out.append("Landlock ABI \(landlockABI) < 4: TCP ports are not restricted") }
        if !userNotification { out.append("no seccomp user notification: syscalls outside a profile get EPERM from the kernel without a breach report, watched syscalls are not counted") }
        return out
    }

    public var description: String {
        "landlock ABI \(landlockABI), seccomp user notification \(userNotification ? "yes" : "no"), root \(privileged ? "yes" : "no")"
    }
}
