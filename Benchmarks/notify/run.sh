#!/usr/bin/env bash
# make bench-notify: 1,000 incidents, each paging 3 people, through a real SMTP server and a real
# webhook receiver, all delivered (issue 18). A release vigild with its state in a scratch folder
# under /var/tmp and the shipped configuration (Config/vigil.yaml, paths made absolute) changed
# only where the benchmark needs it:
#   - the roster: on call for a new P1 incident (full mobilisation) are alice (incident commander
#     and operations engineer), bob (technical lead) and dave (communications lead) — three
#     people, three pages; alice and bob are reached by email, dave by webhook;
#   - alerting: every alert its own incident (group_by ['...']), severity P1;
#   - the plugins folder holds only sdk, email and webhook; the email notifier in transport smtp,
#     security none, network brokered with egress to the local SMTP port (and the policy grant
#     bounded to it), the webhook notifier pointed at the local receiver (egress declared).
# The receivers (Benchmarks/notify/smtp_sink.py: aiosmtpd; webhook_sink.py: a threaded HTTP/1.1
# server) record when each message was accepted (SMTP: at the end of DATA, as it answers 250) and
# its incident and notification ids. Benchmarks/notify/bench.py posts a preflight alert whose pages
# must arrive first, then the 1,000 alerts (POST /api/v2/alerts, batches of 100), waits for every
# page, and joins the records with vigild's database: latency = accepted − incident.createdAt,
# pages/s = distinct pages / (last accept − first incident stored). An incident asks for its
# incident channel ("chat") only when a notifier delivers it; none does here (if one did, those
# messages would be counted apart, not as pages). Then BENCH_NOTIFY_SAMPLES (100) incidents one at
# a time, each after the previous one's pages arrived: the latency set beside Alertmanager's p99,
# which bench-http measured one alert at a time (printed, not in the JSON line; 0 skips it).
# Also printed: CPU seconds of vigild, each notifier plugin and each receiver over the 1,000.
# It cannot hang: every wait has a deadline, the driver runs under `timeout`, and every process
# started here is stopped on exit. A failure prints what failed and vigild's last log lines and
# exits non-zero. BENCH_NOTIFY_KEEP=1 keeps the scratch folder (logs, database, receiver records);
# BENCH_NOTIFY_INCIDENTS (1000), BENCH_NOTIFY_TIMEOUT (300 s for every page to arrive) and
# BENCH_NOTIFY_{VIGIL,SMTP,WEBHOOK}_PORT (19194, 19125, 19199) change the run. SMTP is plain text
# on loopback (security none): no TLS handshake is measured (the notifier keeps its sessions).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"
[ "$(id -u)" -eq 0 ] || { echo "bench-notify needs root (vigild's plugins run under vigil-sandbox)"; exit 1; }
py=/usr/bin/python3
"$py" -c 'import aiosmtpd' 2>/dev/null || { echo "bench-notify: python3-aiosmtpd is missing for $py (make deps)"; exit 1; }
INCIDENTS="${BENCH_NOTIFY_INCIDENTS:-1000}"
VIGIL_PORT="${BENCH_NOTIFY_VIGIL_PORT:-19194}"
SMTP_PORT="${BENCH_NOTIFY_SMTP_PORT:-19125}"
WEBHOOK_PORT="${BENCH_NOTIFY_WEBHOOK_PORT:-19199}"
DELIVERY_TIMEOUT="${BENCH_NOTIFY_TIMEOUT:-300}"
SAMPLES="${BENCH_NOTIFY_SAMPLES:-100}"

for port in "$VIGIL_PORT" "$SMTP_PORT" "$WEBHOOK_PORT"; do
    if ss -Hltn "sport = :$port" | grep -q .; then echo "bench-notify: port $port is already in use (BENCH_NOTIFY_*_PORT)"; exit 1; fi
done

swift build -c release --product vigild >/dev/null
swift build -c release --product vigil-sandbox >/dev/null
bin="$(swift build -c release --show-bin-path)"

work="$(mktemp -d /var/tmp/vigil-bench-notify.XXXXXX)"
chmod 0755 "$work"
pids=()
# Stops what this script started: SIGTERM (vigild stops its plugins), SIGKILL after 15 s.
stop_all() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    pids=()
}
cleanup() {
    stop_all
    if [ -n "${BENCH_NOTIFY_KEEP:-}" ]; then echo "bench-notify: scratch folder kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

mkdir -p "$work/plugins" "$work/state"
cp -r Plugins/sdk Plugins/email Plugins/webhook "$work/plugins/"
"$py" - "$repo" "$work" "$SMTP_PORT" "$WEBHOOK_PORT" <<'PY'
import re, sys
repo, out, smtp, hook = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def edit(path, replacements):
    text = open(path).read()
    for old, new in replacements:
        if text.count(old) != 1:
            sys.exit("bench-notify: %s no longer has exactly one %r" % (path, old))
        text = text.replace(old, new)
    open(path, "w").write(text)

edit(out + "/plugins/email/plugin.yaml", [
    ("\n  network: none\n", '\n  network: brokered\n  egress: ["127.0.0.1:%d"]\n' % smtp),
    ("\n  transport: spool\n", "\n  transport: smtp\n  host: 127.0.0.1\n  port: %d\n  security: none\n" % smtp)])
hook_yaml = out + "/plugins/webhook/plugin.yaml"
text = open(hook_yaml).read()
if not re.search(r'(?m)^  network: brokered$', text):
    sys.exit("bench-notify: %s is no longer network: brokered" % hook_yaml)
text, urls = re.subn(r'(?m)^  url: http://127\.0\.0\.1:\d+/\S*$', "  url: http://127.0.0.1:%d/vigil" % hook, text)
text, egress = re.subn(r'(?m)^  egress: \[.*\]$', '  egress: ["127.0.0.1:%d"]' % hook, text)
if urls != 1 or egress != 1:
    sys.exit("bench-notify: %s: expected one `url: http://127.0.0.1:…` and one `egress: […]` line" % hook_yaml)
open(hook_yaml, "w").write(text)

cfg = repo + "/Config"
text = open(cfg + "/vigil.yaml").read()
for old, new in [("files: [detection-rules.yaml, operator-rules.yaml]", "files: [%s/detection-rules.yaml, %s/operator-rules.yaml]" % (cfg, cfg)),
                 ("file: containment-rules.yaml", "file: %s/containment-rules.yaml" % cfg),
                 ("directory: templates", "directory: %s/templates" % cfg), ("directory: runbooks", "directory: %s/runbooks" % cfg),
                 ("directories: [../Plugins]", "directories: [%s/plugins]" % out),
                 ("read_paths: [../Plugins/sdk]", "read_paths: [%s/plugins/sdk]" % out), ("sandbox_profiles: ../Sandbox", "sandbox_profiles: %s/Sandbox" % repo),
                 ('email: { networks: [none, brokered], egress: ["*:25", "*:465", "*:587"] }',
                  'email: { networks: [none, brokered], egress: ["127.0.0.1:%d"] }' % smtp)]:
    if text.count(old) != 1:
        sys.exit("bench-notify: Config/vigil.yaml no longer has exactly one %r" % old)
    text = text.replace(old, new)
# The roster: three distinct people on call for a new incident, two by email, one by webhook;
# the escalation roles (team lead, manager, CTO) as shipped, by email (escalation starts only after
# the 15-minute response SLA, well after the benchmark).
# The section ends at the next line that is not indented (the next section or its comment).
found = re.search(r"\nroster:\n(?:[ \t].*\n|\n)*", text)
if not found:
    sys.exit("bench-notify: Config/vigil.yaml no longer has a roster: section")
start, end = found.start(), found.end() - 1
roster = """
roster:
  people:
    - { id: alice, name: Alice Martin, contacts: { email: alice@example.org } }
    - { id: bob, name: Bob Chen, contacts: { email: bob@example.org } }
    - { id: dave, name: Dave Okafor, contacts: { webhook: dave-pager } }
    - { id: erin, name: Erin Walsh, contacts: { email: erin@example.org } }
    - { id: frank, name: Frank Moreau, contacts: { email: frank@example.org } }
  rotations:
    - { id: primary, role: on_call_engineer, members: [alice], start: 2026-01-05T09:00:00Z, period: 1 week }
    - { id: technical, role: technical_lead, members: [bob], start: 2026-01-05T09:00:00Z, period: 1 week }
    - { id: communications, role: communications_lead, members: [dave], start: 2026-01-05T09:00:00Z, period: 1 week }
    - { id: leads, role: team_lead, members: [alice], start: 2026-01-05T09:00:00Z, period: 2 weeks }
    - { id: management, role: engineering_manager, members: [erin], start: 2026-01-05T09:00:00Z, period: 4 weeks }
    - { id: executive, role: cto, members: [frank], start: 2026-01-05T09:00:00Z, period: 4 weeks }
  overrides: []
"""
text = text[:start] + roster + text[end:]
text += """
alerting:
  group_by: ['...']
  severity: P1
"""
open(out + "/vigil.yaml", "w").write(text)
PY

"$py" Benchmarks/notify/smtp_sink.py "$SMTP_PORT" "$work/smtp.records" "$work/smtp.ready" >"$work/smtp.log" 2>&1 &
smtp_pid=$!
pids+=("$smtp_pid")
"$py" Benchmarks/notify/webhook_sink.py "$WEBHOOK_PORT" "$work/webhook.records" "$work/webhook.ready" >"$work/webhook.log" 2>&1 &
webhook_pid=$!
pids+=("$webhook_pid")
"$bin/vigild" --config "$work/vigil.yaml" --state-dir "$work/state" --http-listen "127.0.0.1:$VIGIL_PORT" >"$work/vigild.log" 2>&1 &
vigild_pid=$!
pids=("$vigild_pid" "${pids[@]}")

ready() { curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/-/ready" | grep -q 200; }
for _ in $(seq 1 150); do
    [ -s "$work/smtp.ready" ] && [ -s "$work/webhook.ready" ] && ready "$VIGIL_PORT" && break
    kill -0 "$vigild_pid" 2>/dev/null || break
    sleep 0.2
done
[ -s "$work/smtp.ready" ] || { echo "bench-notify: the SMTP server did not start:"; cat "$work/smtp.log"; exit 1; }
[ -s "$work/webhook.ready" ] || { echo "bench-notify: the webhook receiver did not start:"; cat "$work/webhook.log"; exit 1; }
ready "$VIGIL_PORT" || { echo "bench-notify: vigild did not start:"; tail -20 "$work/vigild.log"; exit 1; }
# (Whether both notifiers are up is the driver's preflight: one incident's pages must arrive.)

echo "bench-notify: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg); $INCIDENTS incidents × 3 pages" \
    "(2 by SMTP to aiosmtpd $("$py" -c 'import aiosmtpd; print(aiosmtpd.__version__)'), 1 by webhook), vigild release"
# The driver's own deadlines (preflight 150 s, delivery, settling, one at a time 120 s) plus a
# margin: past this it is stuck.
limit=$(( 150 + DELIVERY_TIMEOUT + 120 + 60 ))
set +e
timeout -k 10 "$limit" "$py" Benchmarks/notify/bench.py --vigil-port "$VIGIL_PORT" --db "$work/state/vigil.db" \
    --records "$work/smtp.records" "$work/webhook.records" --incidents "$INCIDENTS" --timeout "$DELIVERY_TIMEOUT" --samples "$SAMPLES" \
    --proc "vigild=$vigild_pid" --proc "SMTP server=$smtp_pid" --proc "webhook receiver=$webhook_pid" --vigild-log "$work/vigild.log" \
    --json-out "$work/result.json"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo "bench-notify: the driver did not finish within $limit s (killed)"; fi
    echo "bench-notify: FAILED (driver exit $rc). vigild's last log lines:"
    grep -v 'incident opened' "$work/vigild.log" | tail -n 20
    for r in smtp webhook; do [ -s "$work/$r.log" ] && { echo "$r receiver's log:"; tail -n 5 "$work/$r.log"; }; done
    [ -n "${BENCH_NOTIFY_KEEP:-}" ] || echo "(BENCH_NOTIFY_KEEP=1 keeps the scratch folder)"
    exit 1
fi
# The receivers say how many connections the notifiers opened (kept sessions: far fewer than
# messages) when they stop; the JSON line comes last.
stop_all
grep -h -e '^smtp sink:' -e '^webhook sink:' "$work/smtp.log" "$work/webhook.log" | sed 's/^/  /'
[ -n "${BENCH_NOTIFY_KEEP:-}" ] && echo "bench-notify: scratch folder kept: $work"
cat "$work/result.json"
trap - EXIT
[ -n "${BENCH_NOTIFY_KEEP:-}" ] || rm -rf "$work"
