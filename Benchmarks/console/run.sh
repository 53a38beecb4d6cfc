#!/usr/bin/env bash
# make bench-console: every page of the web console (issue 19) with 10,000 incidents in the
# database, timed from request to whole response. A release vigild with its state in a scratch
# folder under /var/tmp, on the shipped configuration (Config/vigil.yaml, paths made absolute)
# changed only where the benchmark needs it:
#   - alerting: every alert its own incident (group_by ['...']); severity from the alert's
#     `severity` label, component from its `component` label, as shipped;
#   - the plugins folder holds sdk, email (its local spool, as shipped: every page is delivered)
#     and webhook;
#   - HTTP on a free loopback port (--http-listen 127.0.0.1:0; the bound address from
#     STATE/http.address).
# Benchmarks/console/bench.py fills it through the real path — 10,000 distinct alerts posted to
# POST /api/v2/alerts in batches of 100 with a sender token, each opening an incident that pages
# its people — then, with a responder token through the incident API, acknowledges the P1s and a
# few hundred others, walks 300 incidents of every severity through the lifecycle and resolves
# them (50 with a public status update) and adds silences, waiting before and after until no page
# is pending (so the notifier's backlog does not run beside what is measured). Then
# it signs in to the console and requests each page 1 + 20 times on a kept-alive connection
# (the incident list first page, page 150, all states, a text filter, a severity filter,
# resolved; the list's row fragment; an incident's page and its timeline fragment; on call;
# plugins and one plugin; bus; silences; metrics; the public status page and its Atom feed).
# Prints a table (page, status, p50, p95, max ms, bytes, and the warm-up's ms: the status page and
# its feed are rendered at most every 5 seconds, so only the warm-up shows their render), checks
# that the list pages (page 1: at most 50 `data-incident-id` rows and a rel="next" link) and ends
# with the JSON line
# {"benchmark":"console","incidents":N,"slowest_page":"…","slowest_ms":N} (slowest by max).
# Every page must answer 200 and the list must page, or the run fails (the table still prints).
# It cannot hang: every wait has a deadline, the driver runs under `timeout`, and every process
# started here is stopped on exit. BENCH_CONSOLE_KEEP=1 keeps the scratch folder (log,
# database); BENCH_CONSOLE_INCIDENTS (10000), BENCH_CONSOLE_RUNS (20), BENCH_CONSOLE_PORT (0: any
# free one) change the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"
[ "$(id -u)" -eq 0 ] || { echo "bench-console needs root (vigild's plugins run under vigil-sandbox)"; exit 1; }
py=/usr/bin/python3
INCIDENTS="${BENCH_CONSOLE_INCIDENTS:-10000}"
RUNS="${BENCH_CONSOLE_RUNS:-20}"
PORT="${BENCH_CONSOLE_PORT:-0}"
PAGE_BUDGET=60
FILL_TIMEOUT=600
DRAIN_TIMEOUT=600

if [ "$PORT" != "0" ] && ss -Hltn "sport = :$PORT" | grep -q .; then
    echo "bench-console: port $PORT is already in use (BENCH_CONSOLE_PORT)"; exit 1
fi

swift build -c release --product vigild >/dev/null
swift build -c release --product vigil-sandbox >/dev/null
swift build -c release --product vigil >/dev/null
bin="$(swift build -c release --show-bin-path)"

work="$(mktemp -d /var/tmp/vigil-bench-console.XXXXXX)"
chmod 0755 "$work"
vigild_pid=""
# Stops vigild (SIGTERM: it stops its plugins; SIGKILL after 15 s).
stop_vigild() {
    [ -n "$vigild_pid" ] || return 0
    kill -TERM "$vigild_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$vigild_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$vigild_pid" 2>/dev/null || true
    wait "$vigild_pid" 2>/dev/null || true
    vigild_pid=""
}
cleanup() {
    stop_vigild
    if [ -n "${BENCH_CONSOLE_KEEP:-}" ]; then echo "bench-console: scratch folder kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

mkdir -p "$work/plugins" "$work/state"
cp -r Plugins/sdk Plugins/email Plugins/webhook "$work/plugins/"
"$py" - "$repo" "$work" <<'PY'
import sys
repo, out = sys.argv[1], sys.argv[2]
cfg = repo + "/Config"
text = open(cfg + "/vigil.yaml").read()
for old, new in [("files: [detection-rules.yaml, operator-rules.yaml]", "files: [%s/detection-rules.yaml, %s/operator-rules.yaml]" % (cfg, cfg)),
                 ("file: containment-rules.yaml", "file: %s/containment-rules.yaml" % cfg),
                 ("directory: templates", "directory: %s/templates" % cfg), ("directory: runbooks", "directory: %s/runbooks" % cfg),
                 ("directories: [../Plugins]", "directories: [%s/plugins]" % out),
                 ("read_paths: [../Plugins/sdk]", "read_paths: [%s/plugins/sdk]" % out), ("sandbox_profiles: ../Sandbox", "sandbox_profiles: %s/Sandbox" % repo)]:
    if text.count(old) != 1:
        sys.exit("bench-console: Config/vigil.yaml no longer has exactly one %r" % old)
    text = text.replace(old, new)
text += """
alerting:
  group_by: ['...']
"""
open(out + "/vigil.yaml", "w").write(text)
PY

"$bin/vigild" --config "$work/vigil.yaml" --state-dir "$work/state" --http-listen "127.0.0.1:$PORT" >"$work/vigild.log" 2>&1 &
vigild_pid=$!

address=""
ready() { [ -n "$address" ] && curl -s -m 2 -o /dev/null -w '%{http_code}' "http://$address/-/ready" | grep -q 200; }
for _ in $(seq 1 150); do
    [ -z "$address" ] && [ -s "$work/state/http.address" ] && address="$(head -1 "$work/state/http.address")"
    ready && break
    kill -0 "$vigild_pid" 2>/dev/null || break
    sleep 0.2
done
ready || { echo "bench-console: vigild did not start:"; tail -20 "$work/vigild.log"; exit 1; }

vigil() { timeout -k 5 30 "$bin/vigil" --state-dir "$work/state" "$@"; }
vigil tokens create --role sender --person bench-sender >"$work/sender.token" 2>>"$work/vigil-cli.log"
vigil tokens create --role responder --person bench-responder >"$work/responder.token" 2>>"$work/vigil-cli.log"

echo "bench-console: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg); $INCIDENTS incidents," \
    "vigild release on http://$address"
# The driver's own deadlines (filling, draining the pages twice, a budget per page for 18 pages)
# plus the responses and a margin: past this it is stuck.
limit=$(( FILL_TIMEOUT + 600 + 2 * DRAIN_TIMEOUT + 18 * (PAGE_BUDGET + 60) + 120 ))
set +e
timeout -k 10 "$limit" "$py" Benchmarks/console/bench.py --url "http://$address" --db "$work/state/vigil.db" \
    --sender-token-file "$work/sender.token" --responder-token-file "$work/responder.token" --vigild-pid "$vigild_pid" \
    --incidents "$INCIDENTS" --runs "$RUNS" --page-budget "$PAGE_BUDGET" --fill-timeout "$FILL_TIMEOUT" \
    --drain-timeout "$DRAIN_TIMEOUT" --json-out "$work/result.json"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo "bench-console: the driver did not finish within $limit s (killed)"; fi
    echo "bench-console: FAILED (driver exit $rc). vigild's last log lines:"
    grep -v -e 'incident opened' -e 'console sign-in' "$work/vigild.log" | tail -n 20
    [ -n "${BENCH_CONSOLE_KEEP:-}" ] || echo "(BENCH_CONSOLE_KEEP=1 keeps the scratch folder)"
    exit 1
fi
stop_vigild
[ -n "${BENCH_CONSOLE_KEEP:-}" ] && echo "bench-console: scratch folder kept: $work"
cat "$work/result.json"
trap - EXIT
[ -n "${BENCH_CONSOLE_KEEP:-}" ] || rm -rf "$work"
