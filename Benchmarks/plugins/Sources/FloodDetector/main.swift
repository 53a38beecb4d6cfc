// The detector of the events/s benchmark: sends `count` (config) metric samples as fast as the
// daemon takes them, in batches of 1000 (or its second argument), through VigilPluginKit, then idles until shutdown.
import VigilPluginKit

@main
struct FloodDetector {
    static func main() async {
        // Its name is its first argument (several floods can run side by side), "flood" by default.
        let name = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "flood"
        // Events per frame: its second argument, 1000 by default.
        let batch = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 1000 : 1000
        await VigilPlugin.detector(name: name, version: "1", batchSize: batch) { vigil in
            let count = Int(vigil.config["count"]?.doubleValue ?? 1_000_000)
            let labels = ["series": "bench", "host": "local"]
            for i in 0..<count { vigil.metric("bench_metric", Double(i & 1023), unit: "ms", labels: labels) }
            vigil.signal("bench_done")
            vigil.flush()
            while !vigil.isShuttingDown { await vigil.sleep(for: .seconds(1)) }
        }
    }
}
