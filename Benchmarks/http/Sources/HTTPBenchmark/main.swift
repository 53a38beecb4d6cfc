import Foundation
import NIOCore
import NIOPosix

// vigil-bench-http --target NAME=HOST:PORT ... --sink-port P [--seconds S] [--delivery-alerts M]
//                  [--latency-samples L] [--connections C] [--batch B] [--preflight-timeout S]
//                  [--delivery-timeout S] [--latency-timeout S] [--delivery-only NAME=HOST:PORT ...]
// For each target in turn: preflight (one alert must reach the webhook sink: the notifier is up),
// ingest (batches of B alerts over C keep-alive connections for S seconds, counting alerts answered
// 200), delivery (M distinct alerts, each its own group, posted as fast as accepted; rate = alerts
// seen at the webhook sink / time from the first post to the last arrival), latency (one alert at
// a time, post → webhook arrival). A `--delivery-only` target gets the delivery phase alone (an
// Alertmanager with its default 30 s group_wait, for reference: a preflight or latency sample
// would wait for it each time). Prints `key value` lines as it goes.
//
// It never hangs: every request has a deadline, a phase that does not complete (alerts that never
// reach the sink, a sample lost) is an error, and each phase runs under a watchdog that ends the
// process (exit 3) if the phase outlives its budget anyway. Any failure exits non-zero with a line
// naming the target and the phase on stderr.

struct Options {
    var targets: [(name: String, host: String, port: Int)] = []
    var deliveryOnly: [(name: String, host: String, port: Int)] = []
    var sinkPort = 9099
    var seconds = 10.0
    var deliveryAlerts = 3000
    var latencySamples = 200
    var connections = 4
    var batch = 100
    var ingestPool = 20_000
    var preflightTimeout = 60.0
    var deliveryTimeout = 120.0
    var latencyTimeout = 120.0
    /// How long one latency sample may take to reach the sink before the phase fails.
    var sampleTimeout = 10.0

    init(_ args: [String]) throws {
        var i = 0
        func value() throws -> String {
            i += 1
            guard i < args.count else { throw BenchError("\(args[i - 1]) needs a value") }
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--target", "--delivery-only":
                let flag = args[i]
                let v = try value()
                let parts = v.split(separator: "=", maxSplits: 1)
                let hp = parts.last?.split(separator: ":") ?? []
                guard parts.count == 2, hp.count == 2, let port = Int(hp[1]) else { throw BenchError("\(flag) NAME=HOST:PORT, found \(v)") }
                if flag == "--target" {
                    targets.append((String(parts[0]), String(hp[0]), port))
                } else {
                    deliveryOnly.append((String(parts[0]), String(hp[0]), port))
                }
            case "--sink-port": sinkPort = Int(try value()) ?? sinkPort
            case "--seconds": seconds = Double(try value()) ?? seconds
            case "--delivery-alerts": deliveryAlerts = Int(try value()) ?? deliveryAlerts
            case "--latency-samples": latencySamples = Int(try value()) ?? latencySamples
            case "--connections": connections = Int(try value()) ?? connections
            case "--batch": batch = Int(try value()) ?? batch
            case "--ingest-pool": ingestPool = Int(try value()) ?? ingestPool
            case "--preflight-timeout": preflightTimeout = Double(try value()) ?? preflightTimeout
            case "--delivery-timeout": deliveryTimeout = Double(try value()) ?? deliveryTimeout
            case "--latency-timeout": latencyTimeout = Double(try value()) ?? latencyTimeout
            default: throw BenchError("unknown argument \(args[i])")
            }
            i += 1
        }
        guard !targets.isEmpty else { throw BenchError("give at least one --target NAME=HOST:PORT") }
    }
}

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

let farFuture: String = {
    let f = ISO8601DateFormatter()
    return f.string(from: Date().addingTimeInterval(3 * 3600))
}()

func alertJSON(_ labels: [(String, String)]) -> String {
    let l = labels.map { "\"\($0.0)\":\"\($0.1)\"" }.joined(separator: ",")
    return "{\"labels\":{\(l)},\"annotations\":{\"summary\":\"vigil-bench-http\"},\"endsAt\":\"\(farFuture)\"}"
}

func buffer(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }

/// Alert ids across targets never repeat (the sink tells them apart by id).
final class IDs: @unchecked Sendable {
    private var next = 1
    func take(_ n: Int) -> Range<Int> {
        defer { next += n }
        return next..<(next + n)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: Int] = [:]
    func add(_ key: String, _ n: Int) {
        lock.lock(); values[key, default: 0] += n; lock.unlock()
    }
    func get(_ key: String) -> Int {
        lock.lock(); defer { lock.unlock() }
        return values[key, default: 0]
    }
}

func ingest(_ conns: [HTTPConnection], _ o: Options, name: String) async throws -> Double {
    let bodies: [ByteBuffer] = stride(from: 0, to: o.ingestPool, by: o.batch).map { start in
        buffer("[" + (start..<min(start + o.batch, o.ingestPool)).map {
            alertJSON([("alertname", "BenchIngest"), ("bench", "ingest"), ("instance", "i\($0)")])
        }.joined(separator: ",") + "]")
    }
    func run(seconds: Double, counter: Counter) async throws {
        let deadline = now() + UInt64(seconds * 1e9)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (c, conn) in conns.enumerated() {
                group.addTask {
                    var k = c
                    while now() < deadline {
                        let body = bodies[k % bodies.count]
                        let status = try await conn.request(.POST, "/api/v2/alerts", json: body)
                        if status == 200 { counter.add("ok", o.batch) } else { counter.add("status\(status)", 1) }
                        k += conns.count
                    }
                }
            }
            try await group.waitForAll()
        }
    }
    try await run(seconds: 1, counter: Counter())  // warm-up: first sight of every alert, connections
    let counter = Counter()
    let start = now()
    try await run(seconds: o.seconds, counter: counter)
    let elapsed = Double(now() - start) / 1e9
    for s in [400, 413, 415, 500, 503] where counter.get("status\(s)") > 0 {
        print("\(name)_ingest_status_\(s) \(counter.get("status\(s)"))")
    }
    return Double(counter.get("ok")) / elapsed
}

func deliver(_ conns: [HTTPConnection], _ o: Options, ids: Range<Int>, receipts: Receipts, name: String) async throws -> Double {
    let list = Array(ids)
    let batches = stride(from: 0, to: list.count, by: o.batch).map { Array(list[$0..<min($0 + o.batch, list.count)]) }
    let start = now()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for (c, conn) in conns.enumerated() {
            group.addTask {
                for b in stride(from: c, to: batches.count, by: conns.count) {
                    let body = buffer("[" + batches[b].map {
                        alertJSON([("alertname", "BenchDelivery"), ("bench", "delivery"), ("id", "bid\($0)x")])
                    }.joined(separator: ",") + "]")
                    let status = try await conn.request(.POST, "/api/v2/alerts", json: body)
                    guard status == 200 else { throw BenchError("\(name): delivery post answered \(status)") }
                }
            }
        }
        try await group.waitForAll()
    }
    let posted = Double(now() - start) / 1e9
    let timeout = now() + UInt64(o.deliveryTimeout * 1e9)
    var (count, last) = receipts.count(in: ids)
    while count < ids.count, now() < timeout {
        try await Task.sleep(for: .milliseconds(20))
        (count, last) = receipts.count(in: ids)
    }
    guard count == ids.count else {
        throw BenchError("\(name): only \(count) of \(ids.count) alerts reached the webhook sink within "
            + "\(Int(o.deliveryTimeout)) s of the last post (--delivery-timeout)")
    }
    let elapsed = Double(last > start ? last - start : 1) / 1e9
    print("\(name)_delivery_posted_s \(String(format: "%.3f", posted))")
    print("\(name)_delivered \(count)")
    print("\(name)_delivery_s \(String(format: "%.3f", elapsed))")
    return Double(count) / elapsed
}

func latency(_ conn: HTTPConnection, _ o: Options, ids: Range<Int>, receipts: Receipts, name: String) async throws -> (Double, Double) {
    var samples: [Double] = []
    for id in ids {
        let body = buffer("[" + alertJSON([("alertname", "BenchLatency"), ("bench", "latency"), ("id", "bid\(id)x")]) + "]")
        let start = now()
        let status = try await conn.request(.POST, "/api/v2/alerts", json: body)
        guard status == 200 else { throw BenchError("\(name): latency post answered \(status)") }
        guard let arrived = await receipts.wait(for: id, timeout: .seconds(o.sampleTimeout)), arrived > 0 else {
            throw BenchError("\(name): latency sample \(samples.count + 1) (alert bid\(id)x) did not reach the webhook "
                + "sink within \(Int(o.sampleTimeout)) s")
        }
        samples.append(Double(arrived - start) / 1e6)
    }
    samples.sort()
    func pct(_ p: Double) -> Double {
        guard !samples.isEmpty else { return .nan }
        return samples[min(samples.count - 1, Int((p * Double(samples.count)).rounded(.up)) - 1)]
    }
    return (pct(0.5), pct(0.99))
}

/// One alert must reach the sink: the target's notifier is up and delivering (Vigil starts its
/// webhook plugin after the HTTP server answers /-/ready).
func preflight(_ conn: HTTPConnection, _ o: Options, id: Int, receipts: Receipts, name: String) async throws {
    let body = buffer("[" + alertJSON([("alertname", "BenchPreflight"), ("bench", "preflight"), ("id", "bid\(id)x")]) + "]")
    let status = try await conn.request(.POST, "/api/v2/alerts", json: body)
    guard status == 200 else { throw BenchError("\(name): preflight post answered \(status)") }
    guard await receipts.wait(for: id, timeout: .seconds(o.preflightTimeout)) ?? 0 > 0 else {
        throw BenchError("\(name): the preflight alert did not reach the webhook sink within \(Int(o.preflightTimeout)) s "
            + "(is the notifier running?)")
    }
}

/// Runs one phase under a watchdog: if it outlives `budget` seconds (something awaited that
/// nothing will ever complete), the process says so and exits 3 rather than hang.
func phase<T>(_ target: String, _ name: String, budget: Double, _ body: () async throws -> T) async throws -> T {
    let timer = DispatchSource.makeTimerSource(queue: .global())
    timer.schedule(deadline: .now() + budget)
    timer.setEventHandler {
        FileHandle.standardError.write(Data("vigil-bench-http: \(target) \(name) did not finish within \(Int(budget)) s; giving up\n".utf8))
        exit(3)
    }
    timer.resume()
    defer { timer.cancel() }
    do { return try await body() } catch { throw BenchError("\(target) \(name) failed: \(error)") }
}

func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data("vigil-bench-http: \(message)\n".utf8))
    exit(code)
}

let options: Options
do { options = try Options(Array(CommandLine.arguments.dropFirst())) } catch { fail("\(error)", code: 64) }
setvbuf(stdout, nil, _IOLBF, 0)  // each result line as it is measured (run.sh shows progress)
do {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let receipts = Receipts()
    let sink = try await Sink.start(port: options.sinkPort, receipts: receipts, group: group)
    let ids = IDs()
    let request = 30.0  // a request's own deadline (HTTPConnection.request)
    for target in options.targets {
        let n = target.name
        var conns: [HTTPConnection] = []
        for _ in 0..<options.connections {
            conns.append(try await HTTPConnection.connect(host: target.host, port: target.port, group: group))
        }
        try await phase(n, "preflight", budget: options.preflightTimeout + request + 10) {
            try await preflight(conns[0], options, id: ids.take(1).lowerBound, receipts: receipts, name: n)
        }
        let ingestRate = try await phase(n, "ingest", budget: 1 + options.seconds + request + 10) {
            try await ingest(conns, options, name: n)
        }
        print("\(n)_ingest_per_s \(String(format: "%.1f", ingestRate))")
        // Posting takes seconds; the arrivals then have --delivery-timeout.
        let delivered = try await phase(n, "delivery", budget: options.deliveryTimeout + 2 * request + 10) {
            try await deliver(conns, options, ids: ids.take(options.deliveryAlerts), receipts: receipts, name: n)
        }
        print("\(n)_delivered_per_s \(String(format: "%.1f", delivered))")
        let (p50, p99) = try await phase(n, "latency", budget: options.latencyTimeout) {
            try await latency(conns[0], options, ids: ids.take(options.latencySamples), receipts: receipts, name: n)
        }
        print("\(n)_p50_ms \(String(format: "%.3f", p50))")
        print("\(n)_p99_ms \(String(format: "%.3f", p99))")
        for c in conns { await c.close() }
    }
    for target in options.deliveryOnly {
        let n = target.name
        var conns: [HTTPConnection] = []
        for _ in 0..<options.connections {
            conns.append(try await HTTPConnection.connect(host: target.host, port: target.port, group: group))
        }
        let delivered = try await phase(n, "delivery", budget: options.deliveryTimeout + 2 * request + 10) {
            try await deliver(conns, options, ids: ids.take(options.deliveryAlerts), receipts: receipts, name: n)
        }
        print("\(n)_delivered_per_s \(String(format: "%.1f", delivered))")
        for c in conns { await c.close() }
    }
    try? await sink.close().get()
    try await group.shutdownGracefully()
} catch {
    fail("\(error)", code: 1)
}
