#!/usr/bin/python3
"""bench-report's driver (run by run.sh, which starts vigild and makes the tokens).

Fills the daemon with Benchmarks/console/bench.py's fill and respond (the real alert intake and
incident API), closes some incidents as false positives, then times each `vigil report` command
as a process (start to exit) and checks the JSON figures against its own computation from the
store's timeline. Prints a table and, last, the JSON line. Exits 1 when a command fails or a
figure differs.
"""
import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "console"))
import bench as console  # noqa: E402  (fill, respond, drain, API, Client, Database)


def log(message):
    print("bench-report: " + message, file=sys.stderr, flush=True)


def fail(message):
    log("FAILED: " + message)
    sys.exit(1)


def nearest_rank(values, p):
    s = sorted(values)
    k = max(1, -(-len(s) * p // 100))
    return s[k - 1]


def independent(db_path):
    """MTTA and MTTR per severity from the timeline: the first `acknowledged` and `resolved`
    lines of each incident, minus its detection time; nearest-rank percentiles."""
    db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=30)
    rows = db.execute("""
        SELECT i.severityCode, i.detectedAt,
               (SELECT MIN(t.time) FROM timeline t WHERE t.incidentID = i.id AND t.kind = 'acknowledged'),
               (SELECT MIN(t.time) FROM timeline t WHERE t.incidentID = i.id AND t.kind = 'resolved')
        FROM incident i""").fetchall()
    db.close()
    out = {}
    for severity, detected, acked, resolved in rows:
        e = out.setdefault(severity, {"count": 0, "acknowledge": [], "resolve": []})
        e["count"] += 1
        if acked is not None:
            e["acknowledge"].append((acked - detected) / 1e9)
        if resolved is not None:
            e["resolve"].append((resolved - detected) / 1e9)
    return out


def compare(report, expected):
    problems = []
    for group in report["groups"]:
        e = expected.get(group["key"], {"count": 0, "acknowledge": [], "resolve": []})
        if group["count"] != e["count"]:
            problems.append("%s: %d incidents, the store has %d" % (group["key"], group["count"], e["count"]))
        for phase in ("acknowledge", "resolve"):
            got, values = group[phase], e[phase]
            if got["count"] != len(values):
                problems.append("%s %s: count %d, expected %d" % (group["key"], phase, got["count"], len(values)))
                continue
            if not values:
                continue
            want = {"mean": sum(values) / len(values), "p50": nearest_rank(values, 50), "p90": nearest_rank(values, 90),
                    "p99": nearest_rank(values, 99), "max": max(values)}
            for k, v in want.items():
                if abs(got[k] - v) > 0.0011:
                    problems.append("%s %s %s: %.3f, expected %.3f" % (group["key"], phase, k, got[k], v))
    return problems


def timed(cmd, runs):
    times, out = [], b""
    for n in range(runs + 1):
        started = time.monotonic()
        r = subprocess.run(cmd, capture_output=True, timeout=60)
        took = time.monotonic() - started
        if r.returncode != 0:
            fail("%s exited %d: %s" % (" ".join(cmd[3:]), r.returncode, r.stderr.decode("utf-8", "replace")[:300]))
        if n > 0:
            times.append(took)
        out = r.stdout
    return times, out


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--url", required=True)
    a.add_argument("--db", required=True)
    a.add_argument("--vigil", required=True)
    a.add_argument("--state-dir", required=True)
    a.add_argument("--sender-token-file", required=True)
    a.add_argument("--responder-token-file", required=True)
    a.add_argument("--vigild-pid", type=int)
    a.add_argument("--incidents", type=int, default=1000)
    a.add_argument("--runs", type=int, default=10)
    a.add_argument("--dismissed", type=int, default=30)
    a.add_argument("--json-out")
    o = a.parse_args()
    # What console.fill/respond/drain read from their options.
    o.resolved, o.acked, o.public_updates, o.silences, o.alert_hours = 300, 200, 20, 0, 6
    o.fill_timeout = o.drain_timeout = 600
    if o.vigild_pid:
        console.WATCHED.append(o.vigild_pid)
    target = urllib.parse.urlsplit(o.url)
    tokens = [open(p).read().strip() for p in (o.sender_token_file, o.responder_token_file)]
    sender = console.API(console.Client(target.hostname, target.port, 60), tokens[0])
    responder = console.API(console.Client(target.hostname, target.port, 60), tokens[1])
    db = console.Database(o.db)

    console.fill(o, sender, responder, db)
    console.drain(o, db)
    resolved = {r[0] for r in console.respond(o, responder, db)}
    dismissed = 0
    for ident, _, state in db.incidents():
        if dismissed >= o.dismissed:
            break
        if ident in resolved or state in ("resolved", "post-mortem", "closed"):
            continue
        responder.call("POST", "/api/v1/incidents/%s/dismiss" % ident, {"reason": "bench-report: staging traffic"})
        dismissed += 1
    console.drain(o, db)
    log("%d closed as false positives; load average %s" % (dismissed, " ".join(open("/proc/loadavg").read().split()[:3])))

    base = [o.vigil, "--state-dir", o.state_dir, "report"]
    commands = [["metrics"]] + [["metrics", "--by", by] for by in ("type", "component", "rule", "plugin")] + [
        ["metrics", "--json"], ["metrics", "--csv"], ["metrics", "--since", "7 days"], ["response"], ["response", "--json"]]
    results = []
    for args in commands:
        times, out = timed(base + args, o.runs)
        results.append((" ".join(args), times))
        if args == ["metrics", "--json"]:
            report = json.loads(out)
    if report["total"]["count"] != o.incidents:
        fail("the report counts %d incidents, not %d" % (report["total"]["count"], o.incidents))
    if report["false_positives"] != dismissed:
        fail("the report counts %d false positives, not %d" % (report["false_positives"], dismissed))
    # The CLI prints snake_case keys.
    problems = compare(report, independent(o.db))
    if problems:
        fail("the report's figures differ from the timeline's:\n  " + "\n  ".join(problems[:20]))
    acked = sum(g["acknowledge"]["count"] for g in report["groups"])
    done = sum(g["resolve"]["count"] for g in report["groups"])
    log("figures checked against the timeline: %d acknowledged, %d resolved, over %d severities" % (acked, done, len(report["groups"])))

    width = max(len(c) for c, _ in results) + 2
    print(f"{'vigil report …':<{width}}{'runs':>6}{'p50 s':>10}{'max s':>10}")
    for command, times in results:
        print(f"{command:<{width}}{len(times):>6}{nearest_rank(times, 50):>10.3f}{max(times):>10.3f}")
    slowest = max(max(t) for _, t in results)
    line = json.dumps({"benchmark": "report", "incidents": o.incidents, "seconds": round(slowest, 3)}, separators=(",", ":"))
    if o.json_out:
        with open(o.json_out, "w") as f:
            f.write(line + "\n")
    else:
        print(line)


if __name__ == "__main__":
    main()
