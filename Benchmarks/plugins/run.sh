#!/usr/bin/env bash
# make bench-plugins: release build, then in one run
#   - spawn-to-hello latency (p50/p99) of one small program under vigil-sandbox (its zygote, as
#     vigild runs it, and one-shot), bwrap --unshare-all, firejail --seccomp --net=none and bare
#     posix_spawn, round-robin so that load on the machine falls on all alike;
#   - events/s from one Swift detector (VigilPluginKit) over its socket into the EventBus, and the
#     same detector read by a Python host using only its standard json module;
#   - breach-to-incident latency: syscall attempted (held by the breach watcher) -> incident row
#     committed, for 40 plugins breaching at once under a real vigild (Benchmarks/plugins/breach.py);
# ending with one JSON line {"benchmark":"plugins",...}.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" -eq 0 ] || { echo "bench-plugins needs root (the sandbox gives each plugin its own uid)"; exit 1; }
swift build -c release --product vigil-sandbox >/dev/null
swift build -c release --product vigil-bench-plugins >/dev/null
swift build -c release --product vigil-bench-flood >/dev/null
bin="$(swift build -c release --show-bin-path)"
work=/run/vigil-bench-plugins   # firejail refuses programs under /tmp
rm -rf "$work"; mkdir -p "$work/specs" "$work/hello" "$work/flood/bin"; chmod 0700 "$work/specs"; chmod 0755 "$work" "$work/hello" "$work/flood"
cc -O2 -o "$work/hello/hello" Benchmarks/plugins/hello.c
cp "$bin/vigil-bench-flood" "$work/flood/bin/flood"
cat > "$work/flood/plugin.yaml" <<YAML
name: flood
kind: detector
emits: [bench_metric, bench_done]
exec: bin/flood
protocol: 1
sandbox: { limits: { memory: 1 GiB, processes: 16, open_files: 64 } }
YAML
COUNT="${PLUGIN_BENCH_EVENTS:-2000000}"
echo "spawn latency: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg); events: $COUNT from one detector"
out="$("$bin/vigil-bench-plugins" spawn --program "$work/hello/hello" --launcher "$bin/vigil-sandbox" \
        --profiles Sandbox --specs "$work/specs" --iterations "${PLUGIN_BENCH_SPAWNS:-100}")"
out="$out
$("$bin/vigil-bench-plugins" events --plugin "$work/flood" --launcher "$bin/vigil-sandbox" --profiles Sandbox \
        --specs "$work/specs" --count "$COUNT")"
out="$out
$(python3 Benchmarks/plugins/python_host.py "$bin/vigil-bench-flood" "$COUNT")"
swift build -c release --product vigild >/dev/null
swift build -c release --product vigil >/dev/null
out="$out
$(python3 Benchmarks/plugins/breach.py "$bin")"
rm -rf "$work"
python3 - "$out" <<'PY'
import json, sys
r = {}
for line in sys.argv[1].strip().splitlines():
    k, v = line.split()
    r[k] = float(v)
print(f"{'launcher':<14}{'p50 ms':>10}{'p99 ms':>10}")
labels = {"vigil": "vigil-sandbox", "vigil_oneshot": "  one-shot"}
for name in ["vigil", "vigil_oneshot", "bwrap", "firejail", "posix_spawn"]:
    if f"spawn_{name}_p50_ms" in r:
        print(f"{labels.get(name, name):<14}{r[f'spawn_{name}_p50_ms']:>10.2f}{r[f'spawn_{name}_p99_ms']:>10.2f}")
if "spawn_bwrap_p50_ms" in r:
    print(f"vigil-sandbox p50 / bwrap p50: {r['spawn_vigil_p50_ms'] / r['spawn_bwrap_p50_ms']:.2f}x")
print(f"events/s, one Swift detector into the bus: {int(r['events_per_s']):,} "
      f"({int(r['events_received']):,} of {int(r['events_sent']):,} received, {int(r['events_shed'])} shed)")
print(f"events/s, same detector, Python json host:  {int(r['python_events_per_s']):,} "
      f"(vigild / python {r['events_per_s'] / r['python_events_per_s']:.2f}x)")
if "breach_to_incident_p99_ms" in r:
    print(f"breach to incident stored ({int(r['breach_incidents'])} breaches at once): p50 {r['breach_to_incident_p50_ms']:.1f} ms, p99 {r['breach_to_incident_p99_ms']:.1f} ms")
keys = ["spawn_vigil_p50_ms", "spawn_vigil_p99_ms", "spawn_vigil_oneshot_p50_ms", "spawn_vigil_oneshot_p99_ms", "spawn_bwrap_p50_ms", "spawn_bwrap_p99_ms", "spawn_firejail_p50_ms",
        "spawn_firejail_p99_ms", "spawn_posix_spawn_p50_ms", "spawn_posix_spawn_p99_ms", "events_per_s",
        "python_events_per_s", "breach_to_incident_p50_ms", "breach_to_incident_p99_ms"]
print(json.dumps({"benchmark": "plugins", **{k: round(r[k], 3) for k in keys if k in r}}, separators=(",", ":")))
PY
