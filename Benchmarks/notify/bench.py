#!/usr/bin/python3
"""bench-notify's driver (run by run.sh, which starts vigild and the two receivers).

1. Preflight: one alert (bench="preflight") must have its pages accepted by both receivers, so
   the notifiers are up and their connections open before anything is measured.
2. INCIDENTS distinct alerts (bench="notify"), each its own group and so its own incident, posted
   to POST /api/v2/alerts in batches of 100 as fast as vigild answers them.
3. Waits (with a deadline) until every page of those incidents has been accepted by a receiver,
   then reads vigild's database: each incident's createdAt (ns since the epoch, set in the
   transaction that stores the incident and queues its pages) and its notifications.
4. Checks every incident got exactly PAGES pages to PAGES distinct people, and joins each page
   (notification id) with the receivers' records: latency = accepted by the receiver − incident
   stored; pages/s = distinct pages delivered / (last accept − first incident stored).
5. Then SAMPLES incidents one at a time (the 1,000 still open), each posted once the previous
   one's pages were accepted: the latency comparable with Alertmanager's one-alert-at-a-time p99.
Prints a table and, last, the JSON line. Exits 1 when anything is missing or wrong.
"""
import argparse
import datetime
import http.client
import json
import os
import re
import sqlite3
import sys
import time

BATCH = 100
# Seconds the one-at-a-time phase may take in all (run.sh's `timeout` counts on it).
SAMPLES_BUDGET = 120
# The figures for Alertmanager on this machine (issue 18, from bench-http's runs).
AM_DELIVERED_PER_S = "114–188"
AM_P99_MS = "2.6–3.3"


def log(message):
    print("bench-notify: " + message, file=sys.stderr, flush=True)


def fail(message):
    log("FAILED: " + message)
    sys.exit(1)


class Records:
    """What the receivers accepted, read incrementally from their record files."""

    def __init__(self, paths):
        self.offsets = {p: 0 for p in paths}
        self.rows = []  # (ns, receiver, incident, notification, channel)
        self.malformed = 0

    def poll(self):
        for path, offset in self.offsets.items():
            try:
                with open(path, "rb") as f:
                    f.seek(offset)
                    data = f.read()
            except FileNotFoundError:
                continue
            end = data.rfind(b"\n") + 1  # a line being written is read next time
            self.offsets[path] = offset + end
            for line in data[:end].decode("utf-8", "replace").splitlines():
                parts = line.split("\t")
                if len(parts) < 5 or not parts[0].isdigit():
                    self.malformed += 1
                    continue
                self.rows.append((int(parts[0]), parts[1], parts[2], parts[3], parts[4]))
        return self.rows


def post_alerts(port, alerts):
    """Posts `alerts` in batches on one keep-alive connection; returns (seconds, statuses)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.monotonic()
    for i in range(0, len(alerts), BATCH):
        body = json.dumps(alerts[i:i + BATCH]).encode()
        try:
            connection.request("POST", "/api/v2/alerts", body=body, headers={"Content-Type": "application/json"})
            answer = connection.getresponse()
            text = answer.read(4096).decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as error:
            fail("POST /api/v2/alerts (alerts %d-%d): %s" % (i, i + BATCH - 1, error))
        if answer.status != 200:
            fail("POST /api/v2/alerts (alerts %d-%d) answered %d: %s" % (i, i + BATCH - 1, answer.status, text[:300]))
    connection.close()
    return time.monotonic() - started


def alert(bench, n):
    return {"labels": {"alertname": "NotifyBench", "bench": bench, "instance": "host-%04d" % n, "severity": "critical"},
            "annotations": {"summary": "bench-notify alert %d on host-%04d" % (n, n)},
            "startsAt": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "generatorURL": "http://bench-notify.localhost/graph"}


class Database:
    def __init__(self, path):
        self.path = path
        self.db = None

    def query(self, sql, args=()):
        if self.db is None:
            if not os.path.exists(self.path):
                return []
            self.db = sqlite3.connect("file:%s?mode=ro" % self.path, uri=True, timeout=10)
        return self.db.execute(sql, args).fetchall()

    def incidents(self, bench):
        return self.query("SELECT id, createdAt FROM incident WHERE json_extract(labels, '$.bench') = ?", (bench,))

    def incident(self, bench, instance):
        return self.query("SELECT id, createdAt FROM incident WHERE json_extract(labels, '$.bench') = ? "
                          "AND json_extract(labels, '$.instance') = ?", (bench, instance))

    def notifications(self, ids):
        rows = []
        ids = list(ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            rows += self.query("SELECT id, incidentID, channel, state, attempts, people, recipients FROM notification "
                               "WHERE incidentID IN (%s)" % ",".join("?" * len(chunk)), chunk)
        return rows


WATCHED = []  # pids that must stay alive while the driver waits (vigild)


def wait_until(deadline, what, check, every=0.05, progress=None):
    """Calls check() until it returns a true value or the deadline passes (then fails); fails at
    once when a watched process (vigild) is gone."""
    last_report = time.monotonic()
    while True:
        for pid in WATCHED:
            if not os.path.exists("/proc/%d" % pid):
                fail("%s: process %d (vigild) exited" % (what, pid))
        value = check()
        if value:
            return value
        now = time.monotonic()
        if now >= deadline:
            fail("%s: not within the deadline" % what)
        if progress and now - last_report >= 10:
            last_report = now
            log(progress())
        time.sleep(every)


class CPUTime:
    """CPU seconds (user + system) used by named processes and their descendants, from /proc:
    vigild, the receivers, and the notifier plugins (their pids from vigild's log)."""

    def __init__(self, named, vigild_log):
        self.named = dict(named)
        self.vigild_log = vigild_log
        self.tick = os.sysconf("SC_CLK_TCK")

    def _plugins(self):
        found = {}
        try:
            text = open(self.vigild_log, encoding="utf-8", errors="replace").read()
        except OSError:
            return found
        for pid, name in re.findall(r"pid=(\d+) plugin=([\w.-]+) \[VigilPluginHost\] plugin started", text):
            found["%s plugin" % name] = int(pid)  # the last generation
        return found

    @staticmethod
    def _stat(pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return int(fields[1]), int(fields[11]) + int(fields[12])  # ppid, utime + stime

    def snapshot(self):
        """{name: CPU seconds so far} for each named process with its descendants."""
        stats = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                st = self._stat(int(entry))
                if st:
                    stats[int(entry)] = st
        children = {}
        for pid, (ppid, _) in stats.items():
            children.setdefault(ppid, []).append(pid)
        result = {}
        for name, root in list(self.named.items()) + list(self._plugins().items()):
            total, todo = 0, [root]
            while todo:
                pid = todo.pop()
                if pid in stats:
                    total += stats[pid][1]
                    todo += children.get(pid, [])
            result[name] = total / self.tick
        return result


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--vigil-port", type=int, required=True)
    a.add_argument("--db", required=True)
    a.add_argument("--records", nargs="+", required=True)
    a.add_argument("--incidents", type=int, default=1000)
    a.add_argument("--pages", type=int, default=3, help="pages each incident must send")
    a.add_argument("--timeout", type=float, default=300, help="seconds for every page to arrive")
    a.add_argument("--samples", type=int, default=100,
                   help="incidents then opened one at a time, each after the previous one's pages arrived (0: none)")
    a.add_argument("--settle", type=float, default=3, help="seconds to wait for duplicates after the last page")
    a.add_argument("--proc", action="append", default=[], metavar="NAME=PID", help="a process whose CPU time to report")
    a.add_argument("--vigild-log", help="vigild's log, for its plugins' pids")
    a.add_argument("--json-out", help="write the JSON line here instead of printing it (printed last by run.sh)")
    o = a.parse_args()
    cpu = CPUTime(((n, int(p)) for n, p in (x.split("=", 1) for x in o.proc)), o.vigild_log)
    WATCHED.extend(pid for name, pid in cpu.named.items() if name == "vigild")
    records = Records(o.records)
    db = Database(o.db)
    expected = o.incidents * o.pages

    def pages_of(rows, wanted):
        """Distinct page notification ids accepted for incidents in `wanted`."""
        return {(r[2], r[3]) for r in rows if r[4] != "chat" and r[2] in wanted}

    # 1. Preflight.
    post_alerts(o.vigil_port, [alert("preflight", 0)])
    pre = wait_until(time.monotonic() + 60, "the preflight incident", lambda: db.incidents("preflight"))
    pre_ids = {pre[0][0]}
    wait_until(time.monotonic() + 90, "the preflight incident's %d pages at the receivers" % o.pages,
               lambda: len(pages_of(records.poll(), pre_ids)) >= o.pages,
               progress=lambda: "preflight: %d of %d pages so far" % (len(pages_of(records.rows, pre_ids)), o.pages))
    log("preflight %s: %d pages accepted; posting %d alerts" % (pre[0][0], o.pages, o.incidents))

    # 2. The incidents.
    alerts = [alert("notify", n) for n in range(1, o.incidents + 1)]
    cpu_before = cpu.snapshot()
    posted_ns = time.time_ns()
    post_seconds = post_alerts(o.vigil_port, alerts)

    # 3. Every page accepted, or the deadline.
    deadline = time.monotonic() + o.timeout
    bench = {}

    def incidents_known():
        if len(bench) < o.incidents:
            bench.update(dict(db.incidents("notify")))
        return bench

    def all_delivered():
        incidents_known()
        return len(bench) >= o.incidents and len(pages_of(records.poll(), bench)) >= expected

    def progress():
        return "%d of %d incidents stored, %d of %d pages accepted" % (
            len(bench), o.incidents, len(pages_of(records.rows, bench)), expected)

    finished = True
    try:
        wait_until(deadline, "every page", all_delivered, every=0.1, progress=progress)
    except SystemExit:
        finished = False
    cpu_after = cpu.snapshot()
    time.sleep(o.settle)  # a page delivered twice arrives after the first
    records.poll()
    incidents_known()

    # 3b. One incident at a time (like bench-http's latency phase, which Alertmanager's p99 is
    # from), with the 1,000 incidents still open: each alert posted once the previous one's pages
    # were all accepted. Not in the JSON line.
    single = []
    sampled = set()
    if finished and o.samples > 0:
        log("%d incidents one at a time" % o.samples)
        phase_end = time.monotonic() + SAMPLES_BUDGET
        for n in range(1, o.samples + 1):
            post_alerts(o.vigil_port, [alert("latency", n)])
            limit = min(time.monotonic() + 30, phase_end)
            row = wait_until(limit, "incident %d of the one-at-a-time phase" % n,
                             lambda: db.incident("latency", "host-%04d" % n))
            ident, created = row[0]
            sampled.add(ident)
            got = wait_until(limit, "the pages of %s (one at a time)" % ident,
                             lambda: (lambda p: p if len(p) >= o.pages else None)(
                                 {r[3]: r[0] for r in records.poll() if r[2] == ident and r[4] != "chat"}))
            single += [(ns - created) / 1e6 for ns in got.values()]
        single.sort()

    # 4. The daemon's side: incidents and their notifications.
    notes = db.notifications(bench)
    records.poll()  # after the states: a page stored as sent was accepted before (the receivers record first)
    by_incident = {i: [] for i in bench}
    note_by_id = {}
    for nid, incident, channel, state, attempts, people, recipients in notes:
        by_incident[incident].append((nid, channel, state, attempts, json.loads(people or "[]")))
        note_by_id[str(nid)] = (incident, channel, state, attempts)
    page_ids = {str(n[0]) for ns in by_incident.values() for n in ns if n[1] != "chat"}
    wrong = []
    for incident, ns in sorted(by_incident.items()):
        pages = [n for n in ns if n[1] != "chat"]
        people = {p for n in pages for p in n[4]}
        if len(pages) != o.pages or len(people) != o.pages:
            wrong.append("%s: %d pages to %s" % (incident, len(pages), ", ".join(sorted(people)) or "nobody"))
    states = {}
    for n in notes:
        if n[2] != "chat":
            states[n[3]] = states.get(n[3], 0) + 1
    retried = sum(1 for n in notes if n[2] != "chat" and n[4] > 1)

    # Join what the receivers accepted with the daemon's pages.
    first = {}
    duplicates, strays, mismatched, chat = 0, 0, 0, 0
    for ns, receiver, incident, nid, channel in sorted(records.rows):
        if incident in pre_ids or incident in sampled:
            continue
        if channel == "chat":
            chat += incident in bench
            continue
        if nid not in page_ids:
            strays += 1  # not a page of a benchmark incident (or no X-Vigil-Notification)
            continue
        if note_by_id[nid][0] != incident:
            mismatched += 1
            continue
        if nid in first:
            duplicates += 1
        else:
            first[nid] = (ns, receiver)
    delivered = len(first)
    latencies = sorted((ns - bench[note_by_id[nid][0]]) / 1e6 for nid, (ns, _) in first.items())
    by_receiver = {}
    for nid, (ns, receiver) in first.items():
        by_receiver.setdefault(receiver, []).append((ns - bench[note_by_id[nid][0]]) / 1e6)
    created = sorted(bench.values())
    last_accept = max((ns for ns, _ in first.values()), default=0)
    span = (last_accept - created[0]) / 1e9 if created and last_accept else float("nan")
    pages_per_s = delivered / span if span and span > 0 else 0.0
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)

    # The table.
    w = 48
    print(f"{'':<{w}}{'Vigil':>14}   Alertmanager (the issue's figures, this machine)")
    print(f"{'pages delivered (distinct, of expected)':<{w}}{delivered:>9}/{expected:<4}")
    print(f"{'pages/s (first incident stored → last accept)':<{w}}{pages_per_s:>14,.1f}   {AM_DELIVERED_PER_S} distinct alerts/s delivered")
    print(f"{'incident stored → accepted, p50 ms':<{w}}{p50:>14,.1f}")
    print(f"{'incident stored → accepted, p99 ms':<{w}}{p99:>14,.1f}")
    if single:
        print(f"{'one incident at a time (%d), p50 ms' % o.samples:<{w}}{percentile(single, 50):>14,.1f}")
        print(f"{'one incident at a time (%d), p99 ms' % o.samples:<{w}}{percentile(single, 99):>14,.1f}   {AM_P99_MS} (one alert at a time → webhook)")
    for receiver, name in (("smtp", "  by SMTP (email notifier), p50 ms"), ("webhook", "  by webhook (webhook notifier), p50 ms")):
        values = sorted(by_receiver.get(receiver, []))
        if values:
            print(f"{name:<{w}}{percentile(values, 50):>14,.1f}   (p99 {percentile(values, 99):,.1f} ms, {len(values)} pages)")
    if created:
        opened = (created[-1] - posted_ns) / 1e9
        print(f"{'alerts posted (batches of %d), s' % BATCH:<{w}}{post_seconds:>14.2f}")
        print(f"{'first post → last incident stored, s':<{w}}{opened:>14.2f}   ({len(created) / opened if opened > 0 else 0:,.0f} incidents/s)")
        print(f"{'first incident stored → last page accepted, s':<{w}}{span:>14.2f}")
    used = {k: cpu_after[k] - cpu_before.get(k, 0.0) for k in cpu_after}
    if used and delivered:
        total = sum(used.values())
        print(f"{'CPU ms per page delivered (all processes below)':<{w}}{1000 * total / delivered:>14,.2f}")
        print("  CPU seconds from the first post to the last page: " + ", ".join("%s %.2f" % kv for kv in used.items())
              + " (total %.2f, on %d cores; load average %s)" % (total, os.cpu_count(), " ".join(open("/proc/loadavg").read().split()[:3])))
    print(f"  incidents stored: {len(bench)} of {o.incidents}; pages stored by vigild: {len(page_ids)} "
          f"({', '.join('%s %d' % kv for kv in sorted(states.items())) or 'none'}); retried (attempts > 1): {retried}")
    print(f"  duplicates: {duplicates}; incident-channel messages also delivered (webhook, not pages): {chat}; "
          f"unknown: {strays}; incident mismatch: {mismatched}; malformed records: {records.malformed}")
    print("  Alertmanager's figures (bench-http) are one webhook notification per alert: its p99 is one alert at a time, "
          "set beside Vigil's one-incident-at-a-time p99; here each incident sends 3 pages, 2 of them by SMTP.")
    line = json.dumps({"benchmark": "notify", "incidents": o.incidents, "expected": expected, "delivered": delivered,
                       "pages_per_s": round(pages_per_s, 1), "p99_ms": round(p99, 1) if latencies else None},
                      separators=(",", ":"))

    problems = []
    if len(bench) != o.incidents:
        problems.append("%d of %d incidents stored" % (len(bench), o.incidents))
    if wrong:
        problems.append("%d incident(s) without exactly %d pages to %d people, e.g. %s" % (
            len(wrong), o.pages, o.pages, "; ".join(wrong[:3])))
    if not finished or delivered != expected:
        missing = sorted(page_ids - set(first), key=int)
        detail = []
        for nid in missing[:5]:
            incident, channel, state, attempts = note_by_id[nid]
            detail.append("%s (%s, %s, %s, %d attempt(s))" % (nid, incident, channel, state, attempts))
        problems.append("%d of %d pages delivered; not delivered: %s" % (delivered, expected, "; ".join(detail) or "-"))
    if mismatched or records.malformed:
        problems.append("%d record(s) with the wrong incident, %d malformed" % (mismatched, records.malformed))
    if problems:
        fail("; ".join(problems))
    if o.json_out:
        with open(o.json_out, "w") as out:
            out.write(line + "\n")
    else:
        print(line)


if __name__ == "__main__":
    main()
