#!/usr/bin/env bash
# make bench-console: every page of the web console (issue 19) with 10,000 incidents in the
# database, timed from request to whole response. A release vigild with its state in a scratch
# folder under /var/tmp, on the shipped configuration (Config/vigil.yaml, paths made absolute)
# changed only where the benchmark needs it (Benchmarks/lib/scratch-vigild.sh).
# Benchmarks/console/bench.py fills it through the real path — 10,000 distinct alerts posted to
# POST /api/v2/alerts in batches of 100 with a sender token, each opening an incident that pages
# its people — then, with a responder token through the incident API, acknowledges the P1s and a
# few hundred others, walks 300 incidents of every severity through the lifecycle and resolves
# them (50 with a public status update) and adds silences, waiting before and after until no page
# is pending (so the notifier's backlog does not run beside what is measured). Then
# it signs in to the console and requests each page 1 + 20 times on a kept-alive connection
# (the incident list first page, page 150, all states, a text filter, a severity filter,
# resolved; the list's row fragment; an incident's page and its timeline fragment; on call;
# plugins and one plugin; bus; host agents and their rows fragment; silences; metrics; the public status page and its Atom feed).
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
py=/usr/bin/python3
INCIDENTS="${BENCH_CONSOLE_INCIDENTS:-10000}"
RUNS="${BENCH_CONSOLE_RUNS:-20}"
PORT="${BENCH_CONSOLE_PORT:-0}"
PAGE_BUDGET=60
FILL_TIMEOUT=600
DRAIN_TIMEOUT=600

. Benchmarks/lib/scratch-vigild.sh
trap 'scratch_vigild_cleanup "${BENCH_CONSOLE_KEEP:-}"' EXIT
scratch_vigild_start bench-console "$PORT"

echo "bench-console: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg); $INCIDENTS incidents," \
    "vigild release on http://$address"
# The driver's own deadlines (filling, draining the pages twice, a budget per page for 20 pages)
# plus the responses and a margin: past this it is stuck.
limit=$(( FILL_TIMEOUT + 600 + 2 * DRAIN_TIMEOUT + 20 * (PAGE_BUDGET + 60) + 120 ))
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
scratch_vigild_stop
[ -n "${BENCH_CONSOLE_KEEP:-}" ] && echo "bench-console: scratch folder kept: $work"
cat "$work/result.json"
trap - EXIT
[ -n "${BENCH_CONSOLE_KEEP:-}" ] || rm -rf "$work"
