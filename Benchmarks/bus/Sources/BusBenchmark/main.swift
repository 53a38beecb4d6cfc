import CAllocationCounter
import Foundation

// `make bench-bus` (Benchmarks/bus/run.sh) runs this and moodycamel.cpp, then prints the table.
// Output: one "key value" line per figure. BUS_BENCH_ONLY=audit|vigil|mutex runs one part.

let only = ProcessInfo.processInfo.environment["BUS_BENCH_ONLY"]
var results: [String: Double] = [:]
if only == nil || only == "audit" {
    let retainsCounted = vigil_install_retain_counter() != 0
    let probe = countersWork()
    results["hotpath_allocations_counted"] = probe.allocations ? 1 : 0
    results["hotpath_retains_counted"] = retainsCounted && probe.retains ? 1 : 0
    for path in hotPathAudit(eventsPerPath: 1_000_000) {
        results["hotpath_\(path.name)_events"] = Double(path.events)
        results["hotpath_\(path.name)_allocations"] = Double(path.allocations)
        results["hotpath_\(path.name)_retains"] = Double(path.retains)
    }
}
if only == nil || only == "vigil" {
    results["vigil_batch_1p1c"] = vigilProducers(producers: 1)
    results["vigil_batch_4p1c"] = vigilProducers(producers: 4)
    results["vigil_shared_batch_1p1c"] = vigilShared(producers: 1)
    results["vigil_shared_batch_4p1c"] = vigilShared(producers: 4)
    results["vigil_single_1p1c"] = vigilSingle(producers: 1)
    results["vigil_single_4p1c"] = vigilSingle(producers: 4)
    results["bare_ring_single_1p1c"] = bareRing()
}
if only == nil || only == "mutex" {
    for yields in [true, false] {
        mutexYieldsWhenFull = yields
        results["mutex_batch_1p1c"] = max(results["mutex_batch_1p1c"] ?? 0, mutexDeque(producers: 1))
        results["mutex_batch_4p1c"] = max(results["mutex_batch_4p1c"] ?? 0, mutexDeque(producers: 4))
        results["mutex_single_1p1c"] = max(results["mutex_single_1p1c"] ?? 0, mutexSingle(producers: 1))
        results["mutex_single_4p1c"] = max(results["mutex_single_4p1c"] ?? 0, mutexSingle(producers: 4))
    }
}
for key in results.keys.sorted() { print("\(key) \(Int(results[key] ?? 0))") }
