#!/usr/bin/env bash
# make bench-rules: builds in release and feeds samples through 1,000 rules over 10,000 series on
# one core (best of 3 runs, each in a fresh process so RSS is that run's own), prints the figures
# and ends with one JSON line.
set -euo pipefail
cd "$(dirname "$0")"
SAMPLES="${RULES_BENCH_SAMPLES:-20000000}"
swift build -c release --product RulesBenchmark >/dev/null
echo "feeding $SAMPLES samples through 1,000 rules over 10,000 series, best of 3 runs, pinned to one core;"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
runs=""
for i in 1 2 3; do
  runs+="$(RULES_BENCH_SAMPLES=$SAMPLES taskset -c 0 .build/release/RulesBenchmark)"$'\n'"---"$'\n'
done
python3 - "$runs" <<'PY'
import json, sys
runs = []
for block in sys.argv[1].split("---"):
    lines = [l.split() for l in block.strip().splitlines()]
    if lines:
        runs.append({k: float(v) for k, v in lines})
best = min(runs, key=lambda r: r["wall_seconds"])
wall = best["samples"] / best["wall_seconds"]
cpu = best["samples"] / best["cpu_seconds"]
print(f"throughput:   {wall / 1e6:6.2f} M samples/s wall clock ({cpu / 1e6:.2f} M/s per CPU-second of the thread)")
print(f"per run (M/s): " + ", ".join(f"{r['samples'] / r['wall_seconds'] / 1e6:.2f}" for r in runs))
print(f"signals:      {int(best['signals'])} firing/resolved signals emitted")
print(f"memory:       {best['rss_half_mb']:.1f} MB RSS half-way, {best['rss_mb']:.1f} MB at the end "
      f"(after {int(best['samples'] / 2)} and {int(best['samples'])} samples)")
print(json.dumps({"benchmark": "rules", "samples_per_s": int(wall), "rules": int(best["rules"]),
                  "series": int(best["series"]), "rss_mb": round(best["rss_mb"], 1)}, separators=(",", ":")))
PY
