#!/usr/bin/env bash
# make bench-http: the real Alertmanager (Debian's prometheus-alertmanager) and a release vigild,
# side by side in one run, measured by one compiled load generator (Benchmarks/http, swift-nio):
#   - ingest: batches of 100 alerts over 4 keep-alive connections for BENCH_HTTP_SECONDS, alerts/s
#     answered 200 (a pool of 20,000 alerts re-sent in turn, as Prometheus re-sends what fires;
#     both route them to one group, so this measures the front door, not paging);
#   - delivery: BENCH_HTTP_ALERTS distinct alerts, each its own group (group_by ['...']; for Vigil
#     its own incident), posted as fast as accepted; distinct alerts seen at the load generator's
#     webhook sink per second, from the first post to the last arrival. Alertmanager: group_wait 0,
#     a webhook receiver. Vigil: the bundled webhook notifier plugin (Plugins/webhook).
#   - latency: one alert at a time, POST sent → webhook received, p50/p99.
# For reference, the delivery phase alone also runs against a second Alertmanager with its default
# group_wait (30 s), each alert still its own group: what an Alertmanager left at its defaults
# delivers (printed, not in the JSON line; BENCH_HTTP_AM_DEFAULT=0 skips it, about 35 s).
# Both keep state on the same disk; Vigil's is durable (SQLite WAL, synchronous=FULL) before each 200.
# Ends with one JSON line {"benchmark":"http",...}.
# It cannot hang: the load generator gives every request and phase a deadline (a preflight alert
# must reach the sink first; a phase whose alerts do not all arrive fails) and runs under
# `timeout` as a last resort; any failure prints what failed and the daemons' last log lines and
# exits non-zero. BENCH_HTTP_KEEP=1 keeps the scratch folder (logs, vigild's database).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"
[ "$(id -u)" -eq 0 ] || { echo "bench-http needs root (vigild's plugins run under vigil-sandbox)"; exit 1; }
command -v prometheus-alertmanager >/dev/null || { echo "prometheus-alertmanager is missing (make deps)"; exit 1; }
SECONDS_PER_RUN="${BENCH_HTTP_SECONDS:-10}"
ALERTS="${BENCH_HTTP_ALERTS:-3000}"
SAMPLES="${BENCH_HTTP_SAMPLES:-200}"
AM_PORT="${BENCH_HTTP_AM_PORT:-19093}"
AM_DEFAULT_PORT="${BENCH_HTTP_AM_DEFAULT_PORT:-19095}"
AM_DEFAULT="${BENCH_HTTP_AM_DEFAULT:-1}"
VIGIL_PORT="${BENCH_HTTP_VIGIL_PORT:-19094}"
SINK_PORT="${BENCH_HTTP_SINK_PORT:-19099}"
DELIVERY_TIMEOUT="${BENCH_HTTP_DELIVERY_TIMEOUT:-240}"

swift build -c release --product vigild >/dev/null
swift build -c release --product vigil-sandbox >/dev/null
bin="$(swift build -c release --show-bin-path)"
(cd Benchmarks/http && swift build -c release --product vigil-bench-http >/dev/null)
gen="Benchmarks/http/.build/release/vigil-bench-http"

work="$(mktemp -d /var/tmp/vigil-bench-http.XXXXXX)"
chmod 0755 "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    [ -n "${BENCH_HTTP_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# start_alertmanager NAME PORT: an Alertmanager in $work/NAME whose route is the lines on stdin
# (indented under `route:`), its one receiver the load generator's webhook sink.
start_alertmanager() {
    mkdir -p "$work/$1"
    { echo "route:"; echo "  receiver: sink"; cat; cat <<YAML
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:$SINK_PORT/alertmanager
        send_resolved: false
YAML
    } > "$work/$1/alertmanager.yml"
    prometheus-alertmanager --config.file="$work/$1/alertmanager.yml" --storage.path="$work/$1/data" \
        --web.listen-address="127.0.0.1:$2" --cluster.listen-address= --log.level=warn >"$work/$1/log" 2>&1 &
    pids+=($!)
}

# Alertmanager: every alert its own group, sent at once; the ingest pool in one group.
start_alertmanager am "$AM_PORT" <<'YAML'
  group_by: ['...']
  group_wait: 0s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: ['bench="ingest"']
      group_by: [alertname]
      receiver: sink
YAML
reference=()
if [ "$AM_DEFAULT" != "0" ]; then
    # The reference: every alert its own group, Alertmanager's timing defaults (group_wait 30s).
    start_alertmanager am-default "$AM_DEFAULT_PORT" <<'YAML'
  group_by: ['...']
YAML
    reference=(--delivery-only "amdefault=127.0.0.1:$AM_DEFAULT_PORT")
fi

# Vigil: the shipped configuration with its paths made absolute, the webhook notifier pointed at
# the sink, and a route making every alert its own incident (the ingest pool: one incident).
mkdir -p "$work/vigil/plugins" "$work/vigil/state"
cp -r Plugins/sdk "$work/vigil/plugins/sdk"
cp -r Plugins/webhook "$work/vigil/plugins/webhook"
sed -i -e "s|url: http://127.0.0.1:9099/vigil|url: http://127.0.0.1:$SINK_PORT/vigil|" -e "s|egress: \[\"127.0.0.1:9099\"\]|egress: [\"127.0.0.1:$SINK_PORT\"]|" \
    -e "s|channels: \[\"webhook\"\]|channels: [\"*\"]|" \
    "$work/vigil/plugins/webhook/plugin.yaml"
python3 - "$repo" "$work/vigil" <<'PY'
import sys
repo, out = sys.argv[1], sys.argv[2]
cfg = repo + "/Config"
text = open(cfg + "/vigil.yaml").read()
for old, new in [("files: [detection-rules.yaml, operator-rules.yaml]", "files: [%s/detection-rules.yaml, %s/operator-rules.yaml]" % (cfg, cfg)),
                 ("file: containment-rules.yaml", "file: %s/containment-rules.yaml" % cfg),
                 ("directory: templates", "directory: %s/templates" % cfg), ("directory: runbooks", "directory: %s/runbooks" % cfg),
                 ("directories: [../Plugins]", "directories: [%s/plugins]" % out),
                 ("read_paths: [../Plugins/sdk]", "read_paths: [%s/plugins/sdk]" % out), ("sandbox_profiles: ../Sandbox", "sandbox_profiles: %s/Sandbox" % repo)]:
    if old not in text:
        sys.exit("Config/vigil.yaml no longer has %r" % old)
    text = text.replace(old, new)
text += """
alerting:
  group_by: ['...']
  routes:
    - name: ingest
      matchers: ['bench="ingest"']
      group_by: [alertname]
"""
open(out + "/vigil.yaml", "w").write(text)
PY
"$bin/vigild" --config "$work/vigil/vigil.yaml" --state-dir "$work/vigil/state" --http-listen "127.0.0.1:$VIGIL_PORT" \
    >"$work/vigil/log" 2>&1 &
pids+=($!)

ready() { curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/-/ready" | grep -q 200; }
for _ in $(seq 1 100); do ready "$AM_PORT" && ready "$VIGIL_PORT" && { [ "$AM_DEFAULT" = "0" ] || ready "$AM_DEFAULT_PORT"; } && break; sleep 0.2; done
ready "$AM_PORT" || { echo "alertmanager did not start:"; cat "$work/am/log"; exit 1; }
[ "$AM_DEFAULT" = "0" ] || ready "$AM_DEFAULT_PORT" || { echo "the reference alertmanager did not start:"; cat "$work/am-default/log"; exit 1; }
ready "$VIGIL_PORT" || { echo "vigild did not start:"; tail -20 "$work/vigil/log"; exit 1; }
# (Whether the webhook notifier is up is the generator's preflight: one alert must reach the sink.)

echo "bench-http: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg); alertmanager $(prometheus-alertmanager --version 2>&1 | head -1 | awk '{print $3}')"
# The generator's own phase budgets, summed for both targets, plus a margin: past this it is stuck.
limit=$(( 2 * (60 + 40 + SECONDS_PER_RUN + 1 + DELIVERY_TIMEOUT + 70 + 120) + DELIVERY_TIMEOUT + 70 + 30 ))
set +e
timeout -k 10 "$limit" "$gen" --target "am=127.0.0.1:$AM_PORT" --target "vigil=127.0.0.1:$VIGIL_PORT" --sink-port "$SINK_PORT" \
    --seconds "$SECONDS_PER_RUN" --delivery-alerts "$ALERTS" --latency-samples "$SAMPLES" \
    --delivery-timeout "$DELIVERY_TIMEOUT" "${reference[@]}" | tee "$work/results"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo "bench-http: the load generator did not finish within $limit s (killed)"; fi
    echo "bench-http: FAILED (load generator exit $rc). vigild's last log lines:"
    grep -v 'incident opened' "$work/vigil/log" | tail -n 15
    echo "alertmanager's last log lines:"
    tail -n 5 "$work/am/log"
    if [ -n "${BENCH_HTTP_KEEP:-}" ]; then echo "scratch folder kept: $work"; else echo "(BENCH_HTTP_KEEP=1 keeps the scratch folder)"; fi
    exit 1
fi
out="$(cat "$work/results")"
python3 - "$out" <<'PY'
import json, sys
r = {}
for line in sys.argv[1].strip().splitlines():
    k, v = line.split()
    r[k] = float(v)
def ratio(a, b): return a / b if b else float("inf")
print(f"{'':<34}{'Alertmanager':>14}{'Vigil':>14}{'Vigil/AM':>10}")
print(f"{'ingest, alerts/s (100/batch, 4 conns)':<34}{r['am_ingest_per_s']:>14,.0f}{r['vigil_ingest_per_s']:>14,.0f}{ratio(r['vigil_ingest_per_s'], r['am_ingest_per_s']):>9.1f}x")
print(f"{'distinct alerts delivered/s':<34}{r['am_delivered_per_s']:>14,.1f}{r['vigil_delivered_per_s']:>14,.1f}{ratio(r['vigil_delivered_per_s'], r['am_delivered_per_s']):>9.1f}x")
print(f"{'one alert → webhook, p50 ms':<34}{r['am_p50_ms']:>14.2f}{r['vigil_p50_ms']:>14.2f}{ratio(r['vigil_p50_ms'], r['am_p50_ms']):>9.2f}x")
print(f"{'one alert → webhook, p99 ms':<34}{r['am_p99_ms']:>14.2f}{r['vigil_p99_ms']:>14.2f}{ratio(r['vigil_p99_ms'], r['am_p99_ms']):>9.2f}x")
if "amdefault_delivered_per_s" in r:
    d = r["amdefault_delivered_per_s"]
    print(f"{'  reference: Alertmanager with its default group_wait (30 s)':<62}")
    print(f"{'distinct alerts delivered/s':<34}{d:>14,.1f}{r['vigil_delivered_per_s']:>14,.1f}{ratio(r['vigil_delivered_per_s'], d):>9.1f}x")
for k in sorted(r):
    if k.endswith(("_lost", "_status_400", "_status_500", "_status_503", "_delivered")) or "_ingest_status_" in k:
        print(f"  {k}: {r[k]:.0f}")
print(json.dumps({"benchmark": "http", "vigil_ingest_per_s": round(r["vigil_ingest_per_s"], 1), "am_ingest_per_s": round(r["am_ingest_per_s"], 1),
                  "vigil_delivered_per_s": round(r["vigil_delivered_per_s"], 1), "am_delivered_per_s": round(r["am_delivered_per_s"], 1),
                  "vigil_p99_ms": round(r["vigil_p99_ms"], 3), "am_p99_ms": round(r["am_p99_ms"], 3)}, separators=(",", ":")))
PY
