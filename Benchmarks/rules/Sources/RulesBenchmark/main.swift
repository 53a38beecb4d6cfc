// Feeds synthetic samples through 1,000 rules over 10,000 series, in batches of 1,024 as the bus
// consumer does, with the timer (`evaluate(now:)`) called every simulated second. Prints one
// `key value` line per figure for run.sh.
import Foundation
import VigilCore
import VigilRules

let names = 500
let hosts = 20
let seriesCount = names * hosts
let samples = Int(ProcessInfo.processInfo.environment["RULES_BENCH_SAMPLES"] ?? "") ?? 20_000_000
/// Simulated time between consecutive samples: every series gets one every 10 s.
let step: Int64 = 10_000_000_000 / Int64(seriesCount)

/// Two rules per metric name, cycling through every kind the language has.
func rules() throws -> RuleSet {
    var out: [Rule] = []
    for i in 0..<names {
        let m = "metric_\(i)"
        let texts: [String]
        switch i % 5 {
        case 0: texts = ["\(m) > 90% for 5 minutes", "\(m) > 91%"]
        case 1: texts = ["\(m) > 80% consistently", "\(m){host=~\"h1.*\"} > 91%"]
        case 2: texts = ["\(m) > 500 in 1 minute", "\(m){host=\"h7\"} > 91"]
        case 3: texts = ["\(m) > 10% in 5 minutes", "\(m) > 0.5 for 30 seconds keep_firing_for 1 minute"]
        default: texts = ["\(m){host!=\"h3\"} > 70 for 30 seconds keep_firing_for 1 minute", "\(m) >= 1000 in 2 minutes"]
        }
        for (j, t) in texts.enumerated() {
            out.append(Rule(id: "\(m).\(j)", expression: try RuleParser.parse(t)))
        }
    }
    return RuleSet(rules: out)
}

struct XorShift {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

func rssMB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = Double(line.split(separator: " ")[1]) else { return 0 }
    return kb / 1024
}

func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func run(samples: Int) throws -> (wall: Double, cpu: Double, signals: Int, rssHalf: Double, rssEnd: Double) {
    let symbols = SymbolTable()
    let start = Timestamp(nanoseconds: 1_790_000_000_000_000_000)
    let clock = ManualClock(start)
    let set = try rules()
    var engine = RuleEngine(rules: set, symbols: symbols, clock: clock)
    // RULES_BENCH_RECORD=1: also keep samples around incidents as the daemon does (`rules.recording`).
    // RULES_BENCH_RECORD=rings: only the rings (no incident episodes followed).
    let recordMode = ProcessInfo.processInfo.environment["RULES_BENCH_RECORD"] ?? ""
    var recorder = recordMode == "1" || recordMode == "rings" ? RuleSampleRecorder(rules: set, symbols: symbols) : nil
    let follows = recordMode == "1"
    var recorded = 0
    let nameSymbols = (0..<names).map { symbols.intern("metric_\($0)") }
    let labelSets = (0..<hosts).map { symbols.intern(labels: ["host": "h\($0)"]) }
    let percent = symbols.intern("%")
    var rng = XorShift(state: 0x9E37_79B9_7F4A_7C15)
    var batch = [Event](repeating: Event(kind: .metric, lane: .telemetry, name: .none, value: 0, time: start), count: 1024)
    var signals: [RuleSignal] = []
    signals.reserveCapacity(4096)
    var emitted = 0
    var t = start.nanoseconds
    var nextTick = t + 1_000_000_000
    var rssHalf = 0.0
    // Far-future clock: event times are never clamped, only the timer call moves time on.
    clock.set(Timestamp(nanoseconds: .max / 2))
    let wall0 = DispatchTime.now().uptimeNanoseconds
    let cpu0 = threadCPUSeconds()
    var done = 0
    var s = 0
    while done < samples {
        let n = min(batch.count, samples - done)
        for k in 0..<n {
            let name = s % names
            let host = (s / names) % hosts
            // A series runs hot (around 95) for one 10-minute stretch in ten, otherwise 0…85.
            let stretch = UInt64(t / 600_000_000_000)
            let hot = (UInt64(s) &* 0x9E37_79B9 &+ stretch &* 0x85EB_CA6B) % 10 == 0
            let r = rng.next()
            // Metrics under ratio rules carry outcomes: 1 for a failed attempt (2% normally, all when hot).
            let value = name % 5 == 3 ? (hot || r % 50 == 0 ? 1 : 0) : (hot ? 92 + Double(r % 8) : Double(r % 86))
            let unit = name % 5 < 2 ? percent : Symbol.none
            batch[k] = Event(kind: .metric, lane: .telemetry, name: nameSymbols[name], value: value, unit: unit,
                             labels: labelSets[host], time: Timestamp(nanoseconds: t))
            s = (s + 1) % seriesCount
            t += step
        }
        batch.withUnsafeBufferPointer {
            recorder?.record(UnsafeBufferPointer(rebasing: $0[0..<n]))
            engine.ingest(UnsafeBufferPointer(rebasing: $0[0..<n]), into: &signals)
        }
        if t >= nextTick {
            engine.evaluate(now: Timestamp(nanoseconds: t), into: &signals)
            nextTick = t + 1_000_000_000
        }
        if recorder != nil, follows {
            recorder!.observe(signals)
            recorded += recorder!.drain().reduce(0) { $0 + $1.events.count }
        }
        emitted += signals.count
        signals.removeAll(keepingCapacity: true)
        done += n
        if rssHalf == 0, done >= samples / 2 { rssHalf = rssMB() }
    }
    let wall = Double(DispatchTime.now().uptimeNanoseconds - wall0) / 1e9
    let cpu = threadCPUSeconds() - cpu0
    precondition(engine.statistics.samples == samples)
    if ProcessInfo.processInfo.environment["RULES_BENCH_DEBUG"] != nil {
        FileHandle.standardError.write(Data("\(engine.footprint) \(engine.statistics) recorded \(recorded) held \(recorder?.held ?? 0)\n".utf8))
    }
    return (wall, cpu, emitted, rssHalf, rssMB())
}

let r = try run(samples: samples)
print("samples \(samples)")
print("rules \(names * 2)")
print("series \(seriesCount)")
print("wall_seconds \(r.wall)")
print("cpu_seconds \(r.cpu)")
print("signals \(r.signals)")
print("rss_half_mb \(r.rssHalf)")
print("rss_mb \(r.rssEnd)")
