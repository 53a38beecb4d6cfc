#!/usr/bin/env bash
# make bench-bus: builds in release and prints events/s for the Vigil EventBus, a Mutex-guarded
# Deque and moodycamel::ConcurrentQueue (1 producer → 1 consumer and 4 → 1), the ratios, and
# one JSON line at the end.
set -euo pipefail
cd "$(dirname "$0")"
EVENTS="${BUS_BENCH_EVENTS:-20000000}"
if [ ! -f /usr/include/concurrentqueue/concurrentqueue.h ]; then
  apt-get install -y -q libconcurrentqueue-dev >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q libconcurrentqueue-dev >/dev/null; }
fi
swift build -c release --product BusBenchmark >/dev/null
mkdir -p .build
g++ -O2 -std=c++17 -pthread -o .build/moodycamel-bench moodycamel.cpp
echo "moving $EVENTS events of 40 bytes, best of 3 runs, on $(nproc) cores"
out="$(BUS_BENCH_EVENTS=$EVENTS .build/release/BusBenchmark; .build/moodycamel-bench "$EVENTS")"
python3 - "$out" <<'PY'
import json, sys
r = {k: int(v) for k, v in (l.split() for l in sys.argv[1].strip().splitlines())}
def m(x): return f"{x / 1e6:8.2f} M/s"
print(f"{'queue':<26}{'1p→1c':>14}{'4p→1c':>14}")
print(f"{'Vigil EventBus (batched)':<26}{m(r['vigil_1p1c']):>14}{m(r['vigil_4p1c']):>14}")
print(f"{'Vigil EventBus (single)':<26}{m(r['vigil_single_1p1c']):>14}{'':>14}")
print(f"{'Mutex<Deque> (batched)':<26}{m(r['mutex_1p1c']):>14}{m(r['mutex_4p1c']):>14}")
print(f"{'moodycamel (bulk, tokens)':<26}{m(r['moodycamel_1p1c']):>14}{m(r['moodycamel_4p1c']):>14}")
print(f"{'Mutex<Deque> (single)':<26}{m(r['mutex_single_1p1c']):>14}{'':>14}")
print(f"{'moodycamel (single, token)':<26}{m(r['moodycamel_single_1p1c']):>14}{'':>14}")
print(f"ratios: vigil/mutex 1p1c {r['vigil_1p1c']/r['mutex_1p1c']:.2f}x, 4p1c {r['vigil_4p1c']/r['mutex_4p1c']:.2f}x; "
      f"vigil/moodycamel 1p1c {r['vigil_1p1c']/r['moodycamel_1p1c']:.2f}x, 4p1c {r['vigil_4p1c']/r['moodycamel_4p1c']:.2f}x; "
      f"single-item vigil/mutex {r['vigil_single_1p1c']/r['mutex_single_1p1c']:.2f}x, vigil/moodycamel {r['vigil_single_1p1c']/r['moodycamel_single_1p1c']:.2f}x")
keys = ["vigil_1p1c", "vigil_4p1c", "mutex_1p1c", "moodycamel_1p1c", "moodycamel_4p1c", "mutex_4p1c",
        "vigil_single_1p1c", "mutex_single_1p1c", "moodycamel_single_1p1c"]
print(json.dumps({"benchmark": "bus", **{k: r[k] for k in keys}}, separators=(",", ":")))
PY
