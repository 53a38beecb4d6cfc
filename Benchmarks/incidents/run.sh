#!/usr/bin/env bash
# make bench-incidents: builds in release and prints how long the incident service takes for a
# storm of 10,000 identical signals (one incident, one transaction), 10,000 signals over 100
# fingerprints, 1,000 concurrent single-signal ingests (group commit), and a clock tick over
# 1,000 open incidents; real SQLite (WAL, synchronous=FULL) in a temp folder. One JSON line at the end.
set -euo pipefail
cd "$(dirname "$0")"
swift build -c release --product IncidentBenchmark >/dev/null
out="$(.build/release/IncidentBenchmark)"
python3 - "$out" <<'PY'
import json, sys
r = {k: float(v) for k, v in (l.split() for l in sys.argv[1].strip().splitlines())}
print(f"storm of 10,000 identical signals   {r['storm_10000_ms']:8.1f} ms  "
      f"→ {int(r['storm_occurrences'])} occurrences in 1 incident, {int(r['storm_transactions'])} transaction(s)")
print(f"10,000 signals over 100 fingerprints {r['spread_10000_over_100_ms']:8.1f} ms")
print(f"1,000 concurrent single-signal calls {r['concurrent_1000_single_ms']:8.1f} ms  "
      f"→ {int(r['concurrent_transactions'])} transaction(s) (group commit)")
print(f"tick over 1,000 open incidents      {r['tick_1000_open_none_due_ms']:8.1f} ms")
print(json.dumps({"benchmark": "incidents", **r}, separators=(",", ":")))
PY
