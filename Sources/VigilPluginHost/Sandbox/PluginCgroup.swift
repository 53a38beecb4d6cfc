import Foundation

/// The kernel's limits on one plugin run as a whole: a cgroup under a `vigil` parent with a memory
/// limit (kernel memory included), a process limit and a CPU share and quota.
///
/// `RLIMIT_AS` and `RLIMIT_NPROC` count per process or per uid and were seen beaten (2,560 MB held
/// through children under a 512 MiB `RLIMIT_AS`); the cgroup counts everything the run's processes
/// and the kernel on their behalf hold. cgroup v2 where `/sys/fs/cgroup` has the controllers,
/// otherwise the v1 `memory`, `pids` and `cpu` hierarchies. The daemon creates it before the spawn,
/// moves the plugin into it before the ack (so before `execve`, and before any child: children
/// inherit it), reads why the run ended from its counters, and removes it after the exit.
/// Every call blocks on small sysfs writes: call from a thread that may block.
public struct PluginCgroup: Sendable {
    public enum Version: Sendable, Equatable { case v1, v2 }

    /// What a run may use.
    public struct Limits: Sendable, Equatable {
        /// Memory of all the run's processes plus the kernel's on their behalf (slab, sockets), bytes.
        public var memoryBytes: UInt64
        /// Processes and threads of the run together.
        public var processes: UInt64
        /// CPU time per 100 ms period, in µs (100_000 = one core).
        public var cpuQuotaMicroseconds: UInt64
        public init(memoryBytes: UInt64, processes: UInt64, cpuQuotaMicroseconds: UInt64 = PluginCgroup.defaultCPUQuota) {
            self.memoryBytes = memoryBytes
            self.processes = processes
            self.cpuQuotaMicroseconds = cpuQuotaMicroseconds
        }
    }

    /// At most one core of the machine, whatever the plugin does (both cores were taken for a minute).
    public static let defaultCPUQuota: UInt64 = 100_000
    /// v1 `cpu.shares` (the default is 1024): under contention the daemon gets four times a plugin's.
    static let cpuShares = 256
    /// v2 `cpu.weight` (default 100), the same proportion.
    static let cpuWeight = 25
    /// The `vigil` folder above every run: all plugins together weigh an eighth of a default
    /// group such as the daemon's (v1 `cpu.shares` 128, v2 `cpu.weight` 12), however many start or
    /// spin at once — measured: forty plugins starting together at the default weight held the
    /// daemon's incident writer off the CPU for up to 48 ms at a time.
    static let allPluginsCPUShares = 128
    static let allPluginsCPUWeight = 12

    public let version: Version
    /// The run's folders, one per hierarchy (one for v2).
    public let paths: [String]
    let root: String

    /// The cgroup layout of this host, or nil when it has neither v2 controllers nor v1 memory+pids.
    public static func detect(root: String = "/sys/fs/cgroup") -> Version? {
        let fm = FileManager.default
        if let controllers = try? String(contentsOfFile: root + "/cgroup.controllers", encoding: .utf8) {
            let names = Set(controllers.split(whereSeparator: \.isWhitespace))
            if names.contains("memory"), names.contains("pids") { return .v2 }
        }
        if fm.fileExists(atPath: root + "/memory/memory.limit_in_bytes") || fm.fileExists(atPath: root + "/memory/cgroup.procs"),
           fm.fileExists(atPath: root + "/pids/cgroup.procs") {
            return .v1
        }
        return nil
    }

    /// Creates `vigil/<name>` with `limits`. `name` must be one path component.
    public static func create(name: String, limits: Limits, version: Version, root: String = "/sys/fs/cgroup") throws(SandboxLaunchError) -> PluginCgroup {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else { throw .system("cgroup name \(name)", EINVAL) }
        let cgroup: PluginCgroup
        switch version {
        case .v2:
            let parent = root + "/vigil"
            try makeDirectory(parent)
            // Controllers must be enabled at every level above the run's folder.
            for folder in [root, parent] {
                for controller in ["+memory", "+pids", "+cpu"] {
                    // cpu may be missing or taken by a realtime task; memory and pids are required.
                    do { try write(controller, to: folder + "/cgroup.subtree_control") } catch {
                        if controller != "+cpu" { throw error }
                    }
                }
            }
            try? write("\(allPluginsCPUWeight)", to: parent + "/cpu.weight")
            cgroup = PluginCgroup(version: .v2, paths: [parent + "/" + name], root: root)
            try makeDirectory(cgroup.paths[0])
        case .v1:
            var paths: [String] = []
            for controller in ["memory", "pids", "cpu"] where controller != "cpu" || FileManager.default.fileExists(atPath: root + "/cpu/cgroup.procs") {
                try makeDirectory(root + "/" + controller + "/vigil")
                if controller == "cpu" { try? write("\(allPluginsCPUShares)", to: root + "/cpu/vigil/cpu.shares") }
                paths.append(root + "/" + controller + "/vigil/" + name)
            }
            cgroup = PluginCgroup(version: .v1, paths: paths, root: root)
            for path in paths { try makeDirectory(path) }
        }
        do {
            try cgroup.apply(limits)
        } catch {
            cgroup.remove()
            throw error
        }
        return cgroup
    }

    func apply(_ limits: Limits) throws(SandboxLaunchError) {
        switch version {
        case .v2:
            let path = paths[0]
            try Self.write("\(limits.memoryBytes)", to: path + "/memory.max")
            try? Self.write("0", to: path + "/memory.swap.max")
            try Self.write("\(limits.processes)", to: path + "/pids.max")
            try? Self.write("\(limits.cpuQuotaMicroseconds) 100000", to: path + "/cpu.max")
            try? Self.write("\(Self.cpuWeight)", to: path + "/cpu.weight")
        case .v1:
            for path in paths {
                if path.hasPrefix(root + "/memory/") {
                    try Self.write("\(limits.memoryBytes)", to: path + "/memory.limit_in_bytes")
                    // memsw (memory + swap) no higher than memory: no escape into swap. Kernel
                    // memory is charged to memory.usage as well; kmem.limit only where still writable.
                    if FileManager.default.fileExists(atPath: path + "/memory.memsw.limit_in_bytes") {
                        try Self.write("\(limits.memoryBytes)", to: path + "/memory.memsw.limit_in_bytes")
                    }
                    try? Self.write("\(limits.memoryBytes)", to: path + "/memory.kmem.limit_in_bytes")
                } else if path.hasPrefix(root + "/pids/") {
                    try Self.write("\(limits.processes)", to: path + "/pids.max")
                } else {
                    try Self.write("100000", to: path + "/cpu.cfs_period_us")
                    try Self.write("\(limits.cpuQuotaMicroseconds)", to: path + "/cpu.cfs_quota_us")
                    try Self.write("\(Self.cpuShares)", to: path + "/cpu.shares")
                }
            }
        }
    }

    /// Moves `pid` (and so every child it makes later) into the run's cgroup.
    public func add(pid: Int32) throws(SandboxLaunchError) {
        for path in paths { try Self.write("\(pid)", to: path + "/cgroup.procs") }
    }

    /// Which limit the run hit, if one did: the memory cgroup's OOM kills, then the pids limit
    /// (a fork refused). Read once a second while the run lives, and when it ends.
    public func limitHit() -> String? {
        if let memory = paths.first(where: { version == .v2 || $0.hasPrefix(root + "/memory/") }) {
            let file = version == .v2 ? "/memory.events" : "/memory.oom_control"
            if Self.counter("oom_kill", in: memory + file) > 0 { return "memory limit (the cgroup's OOM killer)" }
        }
        if let pids = paths.first(where: { version == .v2 || $0.hasPrefix(root + "/pids/") }),
           Self.counter("max", in: pids + "/pids.events") > 0 {
            return "process limit (pids.max reached)"
        }
        return nil
    }

    /// The CPU controller's period counters (`nr_periods`, `nr_throttled` of `cpu.stat`): how
    /// many 100 ms periods the run had runnable work in, and in how many it hit its quota.
    public func cpuPeriods() -> (periods: UInt64, throttled: UInt64)? {
        guard let cpu = paths.first(where: { version == .v2 || $0.hasPrefix(root + "/cpu/") }) else { return nil }
        let file = cpu + "/cpu.stat"
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        return (Self.counter("nr_periods", in: file), Self.counter("nr_throttled", in: file))
    }

    /// Kills what is left in the cgroup and removes its folders (bounded: about a second).
    /// Removes the run folders a daemon that is gone left behind (`vigil/PLUGIN.PID.N` whose
    /// daemon PID no longer exists; a daemon killed with SIGKILL never removed them): only empty
    /// ones — a folder that still holds a process is left to the kernel and the operator.
    /// Folders of live daemons are never touched. Returns how many were removed. Blocking
    /// filesystem calls: run it on a thread of its own.
    @discardableResult
    public static func removeStale(root: String = "/sys/fs/cgroup") -> Int {
        var removed = 0
        let parents = [root + "/vigil"] + ["memory", "pids", "cpu"].map { root + "/" + $0 + "/vigil" }
        for parent in parents {
            guard let children = try? FileManager.default.contentsOfDirectory(atPath: parent) else { continue }
            for child in children {
                let parts = child.split(separator: ".")
                guard parts.count >= 3, let pid = Int32(parts[parts.count - 2]), pid > 0,
                      kill(pid, 0) != 0, errno == ESRCH else { continue }
                if rmdir(parent + "/" + child) == 0 { removed += 1 }
            }
        }
        return removed
    }

    public func remove() {
        for path in paths.reversed() {
            for attempt in 0..<100 {
                if rmdir(path) == 0 || errno == ENOENT { break }
                guard errno == EBUSY, attempt < 99 else { break }
                // Processes of the run still being torn down (pid 1's exit kills its namespace).
                let procs = (try? String(contentsOfFile: path + "/cgroup.procs", encoding: .utf8)) ?? ""
                for line in procs.split(separator: "\n") { if let pid = Int32(line), pid > 1 { kill(pid, SIGKILL) } }
                var pause = timespec(tv_sec: 0, tv_nsec: 10_000_000)
                nanosleep(&pause, nil)
            }
        }
    }

    /// `name N` from a flat-keyed cgroup file, 0 when absent.
    static func counter(_ name: String, in file: String) -> UInt64 {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.count == 2, words[0] == name, let value = UInt64(words[1]) { return value }
        }
        return 0
    }

    static func makeDirectory(_ path: String) throws(SandboxLaunchError) {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw .system("mkdir \(path)", errno) }
    }

    static func write(_ text: String, to path: String) throws(SandboxLaunchError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system("open \(path)", errno) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else { throw .system("write \(text) to \(path)", errno) }
    }
}
