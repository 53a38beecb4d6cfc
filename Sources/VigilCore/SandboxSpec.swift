import Foundation

/// Everything `vigil-sandbox` needs to confine one plugin, fully resolved by the daemon.
///
/// The daemon writes it as a 0600 root-owned JSON file and passes `--spec PATH`; the launcher
/// decides nothing on its own. Paths inside the sandbox are the same as on the host (every
/// mount is a bind at the identical path), so `executable` and the path lists mean the same
/// thing on both sides. See `Docs/sandbox.md`, section "Launcher contract".
public struct SandboxSpec: Codable, Sendable, Equatable {
    /// The nice value every plugin and its start run at (the daemon's own threads run at 0).
    public static let pluginNiceness: Int32 = 5

    /// The spec format this build writes and reads.
    public static let currentVersion = 1

    /// Format version; the launcher refuses any other.
    public var version: Int
    /// Plugin name, used in the launcher's error lines and as the sandbox hostname.
    public var plugin: String
    /// Absolute path of the program to `execve` (argv[0] is this path).
    public var executable: String
    /// Arguments after argv[0].
    public var arguments: [String]
    /// The complete environment of the plugin; the launcher adds nothing.
    public var environment: [String: String]
    /// Working directory inside the view (normally the plugin folder).
    public var workingDirectory: String
    /// The plugin's own unprivileged uid and gid (never 0).
    public var uid: UInt32
    public var gid: UInt32
    /// Namespaces the launcher unshares.
    public var namespaces: Namespaces
    /// Resource limits (soft = hard).
    public var limits: ResourceLimits
    /// Capabilities the plugin keeps, as names (`CAP_NET_RAW`); they are made ambient.
    public var capabilities: [String]
    /// Network the plugin sees.
    public var network: NetworkMode
    /// TCP ports the plugin may `connect` to when `network` is not `none` (enforced by Landlock ABI >= 4).
    public var tcpConnectPorts: [UInt16]
    /// The resolved seccomp policy.
    public var seccomp: SeccompPolicy
    /// The filesystem view built under the new root.
    public var filesystem: FilesystemView
    /// Whether to apply a Landlock ruleset (skipped with a note on stderr when the kernel lacks it).
    public var landlock: Bool
    /// Supplementary group ids the plugin runs with (`sandbox.groups`, resolved by the daemon):
    /// none unless the operator's policy grants a group, such as `adm` for `/var/log/auth.log`.
    public var groups: [UInt32] = []
    /// Most supplementary groups a plugin may hold.
    public static let maximumGroups = 16

    public init(
        version: Int = SandboxSpec.currentVersion, plugin: String, executable: String,
        arguments: [String], environment: [String: String], workingDirectory: String,
        uid: UInt32, gid: UInt32, namespaces: Namespaces, limits: ResourceLimits,
        capabilities: [String], network: NetworkMode, tcpConnectPorts: [UInt16],
        seccomp: SeccompPolicy, filesystem: FilesystemView, landlock: Bool
    ) {
        self.version = version
        self.plugin = plugin
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.uid = uid
        self.gid = gid
        self.namespaces = namespaces
        self.limits = limits
        self.capabilities = capabilities
        self.network = network
        self.tcpConnectPorts = tcpConnectPorts
        self.seccomp = seccomp
        self.filesystem = filesystem
        self.landlock = landlock
    }

    /// Which namespaces to create. There is no user namespace: the daemon is root and gives the
    /// plugin a real unprivileged uid, which is stronger than root-in-a-user-namespace.
    public struct Namespaces: Codable, Sendable, Equatable {
        public var mount: Bool
        public var pid: Bool
        public var ipc: Bool
        public var uts: Bool
        /// A private network namespace with only loopback up (network `none`).
        public var net: Bool
        public init(mount: Bool = true, pid: Bool = true, ipc: Bool = true, uts: Bool = true, net: Bool = true) {
            self.mount = mount
            self.pid = pid
            self.ipc = ipc
            self.uts = uts
            self.net = net
        }
    }

    /// Limits applied with `setrlimit` before the uid switch; `nil` leaves the inherited limit.
    public struct ResourceLimits: Codable, Sendable, Equatable {
        /// RLIMIT_AS, bytes.
        public var memoryBytes: UInt64?
        /// RLIMIT_CPU, seconds.
        public var cpuSeconds: UInt64?
        /// RLIMIT_NOFILE.
        public var openFiles: UInt64?
        /// RLIMIT_NPROC: counted per uid, which is per plugin since each plugin has its own uid.
        public var processes: UInt64?
        /// RLIMIT_FSIZE, bytes: the largest file the plugin can write (or extend sparsely).
        public var fileBytes: UInt64?
        public init(memoryBytes: UInt64? = nil, cpuSeconds: UInt64? = nil, openFiles: UInt64? = nil, processes: UInt64? = nil,
                    fileBytes: UInt64? = nil) {
            self.memoryBytes = memoryBytes
            self.cpuSeconds = cpuSeconds
            self.openFiles = openFiles
            self.processes = processes
            self.fileBytes = fileBytes
        }
    }

    /// The plugin's network as declared in its manifest.
    public enum NetworkMode: String, Codable, Sendable, Equatable {
        /// Own network namespace with loopback only; `socket()` only for `AF_UNIX`.
        case none
        /// Host network, TCP connect restricted to `tcpConnectPorts` by Landlock.
        case loopback
        /// Host network, TCP connect restricted to `tcpConnectPorts` by Landlock.
        case outbound
        /// Like `none` (own namespace, `AF_UNIX` only, no TCP connect at all, `connect` refused),
        /// with the daemon's egress broker as fd 5: it connects declared destinations for the plugin.
        case brokered

        /// The plugin has a network namespace of its own (loopback only).
        public var ownNamespace: Bool { self == .none || self == .brokered }
    }

    /// The seccomp filter, as syscall names already resolved from the profile's groups.
    public struct SeccompPolicy: Codable, Sendable, Hashable {
        /// Syscalls that run without the daemon seeing them (SCMP_ACT_ALLOW).
        public var allow: [String]
        /// Syscalls sent to the daemon, allowed and counted (SCMP_ACT_NOTIFY, then CONTINUE).
        public var watch: [String]
        /// Syscalls that kill the whole plugin: notified, reported and answered with SIGKILL by the
        /// watcher (the syscall never runs); SCMP_ACT_KILL_PROCESS when `useNotify` is false.
        public var kill: [String]
        /// Syscalls answered with a fixed errno without running, e.g. `clone3` -> ENOSYS (38).
        public var errno: [String: Int32]
        /// Everything else: sent to the daemon, denied with EPERM and reported as a breach.
        /// With `useNotify == false` (no watcher) it is SCMP_ACT_ERRNO(EPERM) and logged by the kernel.
        public var useNotify: Bool
        public init(allow: [String], watch: [String], kill: [String], errno: [String: Int32], useNotify: Bool = true) {
            self.allow = allow
            self.watch = watch
            self.kill = kill
            self.errno = errno
            self.useNotify = useNotify
        }
    }

    /// The minimal root the plugin sees after `pivot_root`.
    public struct FilesystemView: Codable, Sendable, Equatable {
        /// The plugin's own folder, bound read-only.
        public var pluginDirectory: String
        /// Runtime paths bound read-only (files or folders): `/usr`, `/lib`, `/etc/ld.so.cache`, ...
        /// Symlinks such as `/bin -> usr/bin` are recreated as symlinks.
        public var runtimePaths: [String]
        /// Declared `read_paths`, bound read-only.
        public var readPaths: [String]
        /// Declared `write_paths`, bound read-write.
        public var writePaths: [String]
        /// Programs the plugin may `execve` (its executable, its interpreter chain, the dynamic loader);
        /// enforced by Landlock's execute right.
        public var executables: [String]
        /// Size of the private tmpfs `/tmp` in bytes (0 = no /tmp).
        public var tmpBytes: UInt64
        public init(pluginDirectory: String, runtimePaths: [String], readPaths: [String], writePaths: [String],
                    executables: [String], tmpBytes: UInt64 = 16 << 20) {
            self.pluginDirectory = pluginDirectory
            self.runtimePaths = runtimePaths
            self.readPaths = readPaths
            self.writePaths = writePaths
            self.executables = executables
            self.tmpBytes = tmpBytes
        }
    }
}
