// config-watch: an example detector in Swift (Docs/plugin-authoring.md walks through it).
//
// It watches the files listed in its config and raises the seed's security signal
// `configuration_tampering_detected` (label `path`) when one's content changes, and reports
// `watched_files` (how many it could read) every interval.
#if canImport(Glibc)
import Glibc
#endif
import VigilPluginKit

@main
struct ConfigWatch {
    static func main() async {
        await VigilPlugin.detector(name: "config-watch", version: "1.0") { vigil in
            let files = vigil.config["files"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let every = vigil.config["interval_seconds"]?.doubleValue ?? 5
            var known: [String: UInt64] = [:]
            for path in files { known[path] = fingerprint(path) }
            vigil.log("info", "watching \(files.count) file(s)")
            while !vigil.isShuttingDown {
                await vigil.sleep(for: .milliseconds(Int64(every * 1000)))
                var readable = 0
                for path in files {
                    let now = fingerprint(path)
                    if now != nil { readable += 1 }
                    if now != known[path] {
                        vigil.signal("configuration_tampering_detected", labels: ["path": path])
                        known[path] = now
                    }
                }
                vigil.metric("watched_files", Double(readable))
                vigil.flush()
            }
        }
    }

    /// FNV-1a of the file's bytes; nil when it cannot be read.
    static func fingerprint(_ path: String) -> UInt64? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 { return nil }
            if n == 0 { return hash }
            for byte in buffer[0..<n] { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
    }
}
