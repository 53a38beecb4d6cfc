#!/usr/bin/env bash
# make bench-logs: the log-patterns detector's follow+match path — the plugin's own Detector,
# FileFollower and bundled patterns (Plugins/log-patterns), in Debian's /usr/bin/python3 that the
# plugin runs on — over a generated log of LOGS_BENCH_LINES (1,000,000) mixed lines: sshd/PAM/sudo
# as Debian bookworm writes them, cron, kernel, systemd, application INFO/ERROR lines and
# tracebacks (Benchmarks/logs/gen.py). Beside it, `grep -cP` with the bundled authentication
# patterns on the same file, in the page cache for both. Each runs 3 times; the medians are
# reported. Both must count the authentication failures the generator wrote. Last line JSON.
set -euo pipefail
cd "$(dirname "$0")/../.."
LINES="${LOGS_BENCH_LINES:-1000000}"
work="$(mktemp -d /var/tmp/vigil-bench-logs.XXXXXX)"
trap 'rm -rf "$work"' EXIT
log="$work/mixed.log"
expected="$(/usr/bin/python3 Benchmarks/logs/gen.py "$log" "$LINES")"
lines="$(wc -l < "$log")"
echo "log: $lines lines, $(du -m "$log" | cut -f1) MiB; $(nproc) cores, $(/usr/bin/python3 --version), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "generated: $expected"
# The bundled authentication patterns (patterns.json) as one PCRE for grep: sshd's failed attempts
# and pam_unix failures of every service but sshd.
auth='sshd(?:-session)?\[\d+\]: (?:message repeated \d+ times: \[ ?)?Failed (?:password|keyboard-interactive/pam) for |: pam_unix\((?!sshd:)[^:()\s]{1,64}:auth\): authentication failure;'
/usr/bin/python3 - "$log" "$lines" "$auth" "$expected" <<'PY'
import json, statistics, subprocess, sys, time
log, lines, auth, expected = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
want = dict(kv.split("=") for kv in expected.split())
want_auth = int(want["sshd_failed_password"]) + int(want["pam_auth_failure"])
vigil, grep = [], []
for _ in range(3):
    out = subprocess.run([sys.executable, "Benchmarks/logs/bench.py", log, str(lines)], check=True,
                         capture_output=True, text=True).stdout
    r = dict(line.rsplit(" ", 1) for line in out.strip().splitlines())
    assert int(r["lines_read"]) == lines, out
    assert int(r["counted authentication_failures"]) == want_auth, (out, want_auth)
    assert int(r["counted log_error_lines"]) == int(want["application_error"]), out
    vigil.append(float(r["seconds"]))
    start = time.perf_counter()
    g = subprocess.run(["grep", "-cP", auth, log], capture_output=True, text=True)
    grep.append(time.perf_counter() - start)
    assert int(g.stdout) == want_auth, (g.stdout, want_auth)
v, g = statistics.median(vigil), statistics.median(grep)
print("authentication failures counted: vigil %d, grep -c %d (generated %d)" % (want_auth, want_auth, want_auth))
print("%-34s %12s %14s" % ("", "seconds", "lines/s"))
print("%-34s %12.3f %14d" % ("vigil log-patterns (follow+match)", v, lines / v))
print("%-34s %12.3f %14d" % ("grep -cP (auth patterns only)", g, lines / g))
print("ratio vigil/grep: %.2f (grep is %.1fx faster; it matches one pattern, vigil three, with labels)" % (g / v, v / g))
print(json.dumps({"benchmark": "logs", "vigil_lines_per_s": int(lines / v), "grep_lines_per_s": int(lines / g)},
                 separators=(",", ":")))
PY
