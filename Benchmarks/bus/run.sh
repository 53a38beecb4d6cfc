#!/usr/bin/env bash
# make bench-bus: builds in release and prints events/s for the Vigil EventBus, a Mutex-guarded
# Deque and moodycamel::ConcurrentQueue (1 producer → 1 consumer and 4 → 1), the ratios, the
# allocations and retains counted on the hot path, and one JSON line at the end.
#
# Every queue moves the same 40-byte item and every consumer takes up to 1024 at a time. Each
# queue is driven two ways: one item per call (Vigil: BusProducer.offer(event); moodycamel:
# enqueue(token, item); Mutex<Deque>: one append per lock), and batches of 64 per call (see
# Sources/BusBenchmark/Harness.swift and moodycamel.cpp). The headline ratios are the issue's:
# the Vigil bus as the daemon drives it (a registered producer publishing each socket frame's
# events as one batch) against the peers one item per call, as the issue's orientation figures
# were measured; the like-for-like ratios of both ways are printed with them. The machine's load
# is printed before and after: on a shared 2-core machine, figures taken while something else
# runs are depressed. BUS_BENCH_EVENTS (default 20000000), BUS_BENCH_RUNS (rounds, default 5) and
# BUS_BENCH_PRODUCER_CAPACITY (default 8192) tune a run.
set -euo pipefail
cd "$(dirname "$0")"
EVENTS="${BUS_BENCH_EVENTS:-20000000}"
RUNS="${BUS_BENCH_RUNS:-5}"
CAPACITY="${BUS_BENCH_PRODUCER_CAPACITY:-8192}"
if [ ! -f /usr/include/concurrentqueue/concurrentqueue.h ]; then
  apt-get install -y -q libconcurrentqueue-dev >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q libconcurrentqueue-dev >/dev/null; }
fi
swift build -c release --product BusBenchmark >/dev/null
mkdir -p .build
g++ -O2 -std=c++17 -pthread -DPRODUCER_CAPACITY="$CAPACITY" -o .build/moodycamel-bench moodycamel.cpp 2>/dev/null
# How busy the machine is without us: CPU use over the 2 s before the measurements start.
cpu_busy() {
  read -r _ a1 b1 c1 d1 e1 f1 g1 h1 _ < /proc/stat; sleep 2; read -r _ a2 b2 c2 d2 e2 f2 g2 h2 _ < /proc/stat
  local busy=$(( (a2+b2+c2+f2+g2+h2) - (a1+b1+c1+f1+g1+h1) )) idle=$(( (d2+e2) - (d1+e1) ))
  echo "$(( 100 * busy / (busy + idle) ))%"
}
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
busy="$(cpu_busy)"
echo "moving $EVENTS events of 40 bytes, best of $RUNS interleaved rounds, on $(nproc) cores; load average before: $load_before, CPU in use by others: $busy"
# Rounds interleave the queues, each in a fresh process: on a virtual machine whose two vCPUs the
# host places differently from one minute to the next, transfer speed between them varies up to
# threefold, and every queue must get the same chances at a good moment. Each figure is the best of
# its rounds.
bench() { BUS_BENCH_EVENTS=$EVENTS BUS_BENCH_RUNS=1 BUS_BENCH_PRODUCER_CAPACITY=$CAPACITY BUS_BENCH_ONLY=$1 .build/release/BusBenchmark; }
out="$(bench audit
       for _ in $(seq "$RUNS"); do bench vigil; bench mutex; .build/moodycamel-bench "$EVENTS" 1; done)"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$out" "$load_before" "$load_after" "$CAPACITY" "$busy" <<'PY'
import json, sys
busy_before = sys.argv[5]
r = {}
for k, v in (l.split() for l in sys.argv[1].strip().splitlines()):
    r[k] = max(r.get(k, 0), int(v))
load_before, load_after, capacity = sys.argv[2], sys.argv[3], sys.argv[4]
def m(x): return f"{x / 1e6:8.2f} M/s"
def table(title, rows):
    print(f"{title:<44}{'1p→1c':>14}{'4p→1c':>14}")
    for name, a, b in rows:
        print(f"  {name:<42}{m(r[a]):>14}{(m(r[b]) if b else ''):>14}")
table("one item per call", [
    ("Vigil, producer ring", "vigil_single_1p1c", "vigil_single_4p1c"),
    ("Mutex<Deque>, one append per lock", "mutex_single_1p1c", "mutex_single_4p1c"),
    ("moodycamel, producer token, unbounded", "moodycamel_single_1p1c", "moodycamel_single_4p1c"),
    ("moodycamel, producer token, bounded", "moodycamel_bounded_single_1p1c", "moodycamel_bounded_single_4p1c"),
    ("(reference) bare Swift SPSC ring", "bare_ring_single_1p1c", None),
])
table("batches of 64 per call", [
    ("Vigil, producer rings", "vigil_batch_1p1c", "vigil_batch_4p1c"),
    ("Vigil, shared lane ring", "vigil_shared_batch_1p1c", "vigil_shared_batch_4p1c"),
    ("Mutex<Deque>", "mutex_batch_1p1c", "mutex_batch_4p1c"),
    ("moodycamel, unbounded", "moodycamel_batch_1p1c", "moodycamel_batch_4p1c"),
    ("moodycamel, bounded", "moodycamel_bounded_batch_1p1c", "moodycamel_bounded_batch_4p1c"),
])
def ratios(label, v, mutex, mc):
    print(f"{label}: vigil/mutex {r[v+'_1p1c'] / r[mutex+'_1p1c']:.2f}x (1p1c), {r[v+'_4p1c'] / r[mutex+'_4p1c']:.2f}x (4p1c); "
          f"vigil/moodycamel {r[v+'_1p1c'] / r[mc+'_1p1c']:.2f}x (1p1c), {r[v+'_4p1c'] / r[mc+'_4p1c']:.2f}x (4p1c)")
ratios("headline (Vigil batches as the daemon publishes, peers one item per call)", "vigil_batch", "mutex_single", "moodycamel_single")
ratios("like for like, one item per call (moodycamel unbounded)", "vigil_single", "mutex_single", "moodycamel_single")
ratios("like for like, one item per call (moodycamel bounded)", "vigil_single", "mutex_single", "moodycamel_bounded_single")
ratios("like for like, batches of 64 (moodycamel unbounded)", "vigil_batch", "mutex_batch", "moodycamel_batch")
ratios("like for like, batches of 64 (moodycamel bounded)", "vigil_batch", "mutex_batch", "moodycamel_bounded_batch")
print(f"queue sizes: Vigil producer rings and bounded moodycamel sub-queues {capacity} events per producer; "
      f"Vigil shared ring and Mutex<Deque> 65536 events; one-item-per-call runs move a quarter as many events")
paths = ["producer_batch", "producer_single", "shared_batch", "shared_single", "telemetry_shedding"]
events = sum(r[f"hotpath_{p}_events"] for p in paths)
allocs = sum(r[f"hotpath_{p}_allocations"] for p in paths)
retains = sum(r[f"hotpath_{p}_retains"] for p in paths)
counted = r["hotpath_allocations_counted"] == 1 and r["hotpath_retains_counted"] == 1
print(f"hot path: {allocs} heap allocations and {retains} retains while publishing and draining {events} events "
      f"({allocs / events:.6f} and {retains / events:.6f} per event) over {', '.join(paths)}"
      + ("" if counted else "  [WARNING: the counters did not see a known allocation/retain: figure not proven]"))
print(f"load average after: {load_after} (the benchmark's own threads count in it)")
headline = {"vigil_1p1c": r["vigil_batch_1p1c"], "vigil_4p1c": r["vigil_batch_4p1c"],
            "mutex_1p1c": r["mutex_single_1p1c"], "moodycamel_1p1c": r["moodycamel_single_1p1c"],
            "moodycamel_4p1c": r["moodycamel_single_4p1c"]}
figures = {k: v for k, v in sorted(r.items()) if not k.startswith("hotpath_")}
print(json.dumps({"benchmark": "bus", **headline, **figures,
                  "allocations_per_event": allocs / events, "retains_per_event": retains / events,
                  "load_before": load_before, "cpu_busy_before": busy_before, "load_after": load_after},
                 separators=(",", ":")))
PY
