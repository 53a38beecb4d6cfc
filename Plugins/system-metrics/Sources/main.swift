// system-metrics: Vigil's bundled host detector.
//
// Every `interval` it reports, from /proc and statvfs:
//   cpu_usage       %  busy share of all CPUs since the previous sample (/proc/stat)
//   memory_usage    %  (MemTotal - MemAvailable) / MemTotal (/proc/meminfo)
//   disk_space      %  available space of each configured path's filesystem (statvfs), label `path`
//   network_latency ms TCP connect round trip to each configured target, label `target`
// The seed rules read these as written: `cpu_usage > 90% for 5 minutes`,
// `memory_usage > 95% for 3 minutes`, `disk_space < 10% available`,
// `network_latency > 5000ms consistently`.
#if canImport(Glibc)
import Glibc
#endif
import VigilPluginKit

@main
struct SystemMetrics {
    static func main() async {
        await VigilPlugin.detector(name: "system-metrics", version: "1.0") { vigil in
            let settings = Settings(vigil.config)
            var cpu = CPUSampler()
            _ = cpu.sample()
            while !vigil.isShuttingDown {
                await vigil.sleep(for: settings.interval)
                if vigil.isShuttingDown { break }
                if let busy = cpu.sample() { vigil.metric("cpu_usage", busy, unit: "%") }
                if let used = Memory.usedPercent() { vigil.metric("memory_usage", used, unit: "%") }
                for path in settings.disks {
                    if let free = Disk.availablePercent(path) {
                        vigil.metric("disk_space", free, unit: "%", labels: ["path": path])
                    }
                }
                for target in settings.targets {
                    let latency = Latency.probe(target, timeoutMilliseconds: settings.probeTimeoutMilliseconds)
                    vigil.metric("network_latency", latency.milliseconds, unit: "ms", labels: ["target": target.label])
                    if latency.outcome != "connected", latency.outcome != "refused" {
                        vigil.log("warning", "latency probe of \(target.label): \(latency.outcome)")
                    }
                }
                vigil.flush()
            }
        }
    }
}

/// The plugin's `config:` from plugin.yaml.
struct Settings {
    var interval: Duration = .seconds(10)
    var disks: [String] = ["/usr"]
    var targets: [Target] = []
    var probeTimeoutMilliseconds = 10_000

    init(_ config: JSONValue) {
        if let s = config["interval_seconds"]?.doubleValue, s >= 0.05 { interval = .milliseconds(Int64(s * 1000)) }
        if let d = config["disks"]?.arrayValue { disks = d.compactMap(\.stringValue) }
        if let t = config["latency_targets"]?.arrayValue { targets = t.compactMap(\.stringValue).compactMap(Target.init) }
        if let ms = config["probe_timeout_ms"]?.doubleValue, ms >= 1 { probeTimeoutMilliseconds = Int(ms) }
    }
}

/// `host:port`, where host is an IPv4 address or `gateway` (the default route's gateway).
struct Target {
    var label: String
    var host: String
    var port: UInt16

    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        label = text
        host = String(text[..<colon])
        self.port = port
    }
}

/// Busy share of all CPUs between two reads of /proc/stat's first line.
struct CPUSampler {
    var previous: (busy: UInt64, total: UInt64)?

    mutating func sample() -> Double? {
        guard let line = ProcFile.read("/proc/stat")?.split(separator: "\n").first else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard fields.count >= 5 else { return nil }
        let idle = fields[3] + fields[4]  // idle + iowait
        let total = fields.prefix(8).reduce(0, +)
        let now = (busy: total - idle, total: total)
        defer { previous = now }
        guard let before = previous, now.total > before.total else { return nil }
        return Double(now.busy - before.busy) / Double(now.total - before.total) * 100
    }
}

enum Memory {
    static func usedPercent() -> Double? {
        guard let text = ProcFile.read("/proc/meminfo") else { return nil }
        var values: [Substring: Double] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count >= 2, let v = Double(parts[1]) { values[parts[0]] = v }
        }
        guard let total = values["MemTotal:"], let available = values["MemAvailable:"], total > 0 else { return nil }
        return (total - available) / total * 100
    }
}

enum Disk {
    static func availablePercent(_ path: String) -> Double? {
        var s = statvfs()
        guard statvfs(path, &s) == 0, s.f_blocks > 0 else { return nil }
        return Double(s.f_bavail) / Double(s.f_blocks) * 100
    }
}

enum Latency {
    /// Time to a TCP connect's answer: an accepted or a refused connection both measure the round
    /// trip; no answer within the timeout reports the timeout itself (so a dead network reads as
    /// very high latency, which is what `network_latency > 5000ms consistently` is for).
    static func probe(_ target: Target, timeoutMilliseconds: Int) -> (milliseconds: Double, outcome: String) {
        guard let address = resolve(target.host) else { return (Double(timeoutMilliseconds), "unresolved") }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return (Double(timeoutMilliseconds), "no-socket") }
        defer { close(fd) }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = target.port.bigEndian
        sin.sin_addr = address
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        let rc = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var outcome = "connected"
        if rc != 0 {
            guard errno == EINPROGRESS else { return (Double(timeoutMilliseconds), "error-\(errno)") }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&p, 1, Int32(timeoutMilliseconds)) == 1 else { return (Double(timeoutMilliseconds), "timeout") }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error == ECONNREFUSED { outcome = "refused" } else if error != 0 { return (Double(timeoutMilliseconds), "error-\(error)") }
        }
        var end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &end)
        let ms = Double(end.tv_sec - start.tv_sec) * 1000 + Double(end.tv_nsec - start.tv_nsec) / 1_000_000
        return (ms, outcome)
    }

    static func resolve(_ host: String) -> in_addr? {
        var text = host
        if host == "gateway" {
            guard let gw = defaultGateway() else { return nil }
            text = gw
        }
        var address = in_addr()
        return inet_pton(AF_INET, text, &address) == 1 ? address : nil
    }

    /// The default route's gateway from /proc/net/route (little-endian hex).
    static func defaultGateway() -> String? {
        guard let text = ProcFile.read("/proc/net/route") else { return nil }
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count > 2, f[1] == "00000000", let raw = UInt32(f[2], radix: 16), raw != 0 else { continue }
            return "\(raw & 0xff).\(raw >> 8 & 0xff).\(raw >> 16 & 0xff).\(raw >> 24 & 0xff)"
        }
        return nil
    }
}

enum ProcFile {
    /// Inside vigil-sandbox `/proc` shows only the plugin's own pids (`subset=pid`): the host-wide
    /// counters are bound read-only at /run/host/proc, and the network tables are per process.
    static func read(_ path: String) -> String? {
        var fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0, path.hasPrefix("/proc/net/") { fd = open("/proc/self/net/" + path.dropFirst(10), O_RDONLY | O_CLOEXEC) }
        if fd < 0, path.hasPrefix("/proc/") { fd = open("/run/host/proc/" + path.dropFirst(6), O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = Glibc.read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
