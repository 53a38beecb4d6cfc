// The detector of the events/s benchmark: sends `count` (config) metric samples as fast as the
// daemon takes them, in batches of 1000, through VigilPluginKit, then idles until shutdown.
import VigilPluginKit

@main
struct FloodDetector {
    static func main() async {
        await VigilPlugin.detector(name: "flood", version: "1") { vigil in
            let count = Int(vigil.config["count"]?.doubleValue ?? 1_000_000)
            let labels = ["series": "bench", "host": "local"]
            for i in 0..<count { vigil.metric("bench_metric", Double(i & 1023), unit: "ms", labels: labels) }
            vigil.signal("bench_done")
            vigil.flush()
            while !vigil.isShuttingDown { await vigil.sleep(for: .seconds(1)) }
        }
    }
}
