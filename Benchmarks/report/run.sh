#!/usr/bin/env bash
# make bench-report: `vigil report` over 1,000 incidents, timed as a user runs it — the CLI
# process from start to exit, asking a release vigild over its control socket. The daemon is the
# scratch one of Benchmarks/lib/scratch-vigild.sh (the shipped configuration, every alert its own
# incident). Benchmarks/report/bench.py fills it through the real path (Benchmarks/console/bench.py's
# fill and respond: 1,000 alerts through POST /api/v2/alerts, every P1 and 200 others acknowledged,
# 300 walked through the lifecycle and resolved, pages drained), closes 30 as false positives,
# then runs each report command 1 warm-up + RUNS times: `report metrics` by severity, type,
# component, rule and plugin, with --json and --csv, and `report response`. It checks the JSON's
# MTTA and MTTR per severity against its own computation from the store's timeline (read only),
# prints a table (command, p50, max seconds) and ends with the JSON line
# {"benchmark":"report","incidents":1000,"seconds":S} — S the slowest run of any command.
# It cannot hang: every wait has a deadline and every process started here is stopped on exit.
# BENCH_REPORT_KEEP=1 keeps the scratch folder; BENCH_REPORT_INCIDENTS (1000), BENCH_REPORT_RUNS
# (10) change the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
INCIDENTS="${BENCH_REPORT_INCIDENTS:-1000}"
RUNS="${BENCH_REPORT_RUNS:-10}"

. Benchmarks/lib/scratch-vigild.sh
trap 'scratch_vigild_cleanup "${BENCH_REPORT_KEEP:-}"' EXIT
scratch_vigild_start bench-report 0

echo "bench-report: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg); $INCIDENTS incidents," \
    "vigild release on http://$address"
set +e
timeout -k 10 2400 /usr/bin/python3 Benchmarks/report/bench.py --url "http://$address" --db "$work/state/vigil.db" \
    --vigil "$bin/vigil" --state-dir "$work/state" \
    --sender-token-file "$work/sender.token" --responder-token-file "$work/responder.token" --vigild-pid "$vigild_pid" \
    --incidents "$INCIDENTS" --runs "$RUNS" --json-out "$work/result.json"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
    [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && echo "bench-report: the driver did not finish within 2400 s (killed)"
    echo "bench-report: FAILED (driver exit $rc). vigild's last log lines:"
    grep -v -e 'incident opened' "$work/vigild.log" | tail -n 20
    exit 1
fi
scratch_vigild_stop
cat "$work/result.json"
