#!/usr/bin/python3
"""bench-console's driver (run by run.sh, which starts vigild and makes the tokens).

1. Fill: INCIDENTS distinct alerts (bench="console"), each its own group and so its own incident,
   posted to POST /api/v2/alerts in batches of 100 with a sender token; severities critical 5 %,
   error 15 %, warning 40 %, info 40 % (P1–P4 on the shipped ladder), a `component` label on a
   third of them, five services in the titles. endsAt is hours ahead, so no alert's lease runs
   out (and clears its incident) while the pages are measured. Waits, polling GET /api/v1/status,
   until the daemon holds INCIDENTS incidents.
2. Respond, through the incident API with a responder token: acknowledge every P1 (no 15-minute
   SLA breach and escalation storm lands in the measurement) and ACKED others; walk RESOLVED
   incidents of every severity through the lifecycle to validating (a transition a step) and
   resolve them, a public status update on the first of them; add a few silences. So the list
   has every state, the status page and its feed have updates, the silences page has rows.
   Before and after this step it waits until no notification is pending (vigild's database,
   read only), so the notifier's backlog runs neither beside the responses nor the measurement.
3. Signs in (POST /console/sign-in, a responder token) and requests every page with the session
   cookie on one kept-alive connection: one warm-up, then RUNS timed requests (send → whole
   body read), at most PAGE_BUDGET seconds of them a page. Every page must answer 200.
4. Checks that the incident list pages: page 1 has at most 50 rows and a rel="next" link.
Prints a table (page, status, p50, p95, max ms, bytes) and, last, the JSON line. Exits 1 when a
page does not answer 200, the list does not page, or anything else fails.
"""
import argparse
import datetime
import http.client
import json
import os
import sqlite3
import sys
import time
import re
import urllib.parse

BATCH = 100
SERVICES = ["checkout", "payments", "search", "login", "inventory"]
SYMPTOMS = ["latency above SLO", "error rate above 5%", "saturation", "dropped requests", "queue backlog"]
COMPONENTS = ["api", "websocket", "storage", "application", "host"]
# The lifecycle people walk an incident along (LifecycleFlow): each state's one step forward.
FORWARD = ["detected", "classified", "mobilised", "containing", "contained", "investigating", "remediating",
           "recovering", "validating"]
PAGE_SIZE = 50


def log(message):
    print("bench-console: " + message, file=sys.stderr, flush=True)


def fail(message):
    log("FAILED: " + message)
    sys.exit(1)


WATCHED = []  # pids that must stay alive while the driver waits (vigild)


def wait_until(deadline, what, check, every=0.5, progress=None):
    """Calls check() until it returns a true value or the deadline passes (then fails); fails at
    once when vigild is gone."""
    last_report = time.monotonic()
    while True:
        for pid in WATCHED:
            if not os.path.exists("/proc/%d" % pid):
                fail("%s: vigild (pid %d) exited" % (what, pid))
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


class Client:
    """One kept-alive HTTP/1.1 connection; reconnects when the server closed it."""

    def __init__(self, host, port, timeout):
        self.host, self.port, self.timeout = host, port, timeout
        self.connection = None

    def request(self, method, path, body=None, headers=None):
        """(status, headers, body bytes, seconds from sending to the whole body read)."""
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                started = time.perf_counter()
                self.connection.request(method, path, body=body, headers=headers or {})
                answer = self.connection.getresponse()
                data = answer.read()
                elapsed = time.perf_counter() - started
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected, http.client.CannotSendRequest):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
                continue
            if answer.getheader("Connection", "").lower() == "close":
                self.connection.close()
                self.connection = None
            return answer.status, answer.headers, data, elapsed
        raise AssertionError("unreachable")


class API:
    """The JSON API with a bearer token; any status but 2xx fails the run."""

    def __init__(self, client, token):
        self.client = client
        self.headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

    def call(self, method, path, payload=None, allow=()):
        body = None if payload is None else json.dumps(payload).encode()
        try:
            status, _, data, _ = self.client.request(method, path, body=body, headers=self.headers)
        except (OSError, http.client.HTTPException) as error:
            fail("%s %s: %s" % (method, path, error))
        if status in allow:
            return status, None
        if not 200 <= status < 300:
            fail("%s %s answered %d: %s" % (method, path, status, data[:300].decode("utf-8", "replace")))
        return status, (json.loads(data) if data else None)


def severity_label(n):
    slot = n % 20
    return "critical" if slot == 0 else "error" if slot <= 3 else "warning" if slot <= 11 else "info"


def alert(n, now, ends):
    service = SERVICES[n % len(SERVICES)]
    symptom = SYMPTOMS[(n // len(SERVICES)) % len(SYMPTOMS)]
    labels = {"alertname": "%s_%s" % (service.capitalize(), symptom.split()[0].capitalize()), "bench": "console",
              "instance": "host-%05d" % n, "job": service, "severity": severity_label(n)}
    if n % 3 == 0:
        labels["component"] = COMPONENTS[(n // 3) % len(COMPONENTS)]
    return {"labels": labels,
            "annotations": {"summary": "%s %s on host-%05d" % (service.capitalize(), symptom, n),
                            "description": "bench-console alert %d: %s of the %s service on host-%05d" % (n, symptom, service, n)},
            "startsAt": now, "endsAt": ends, "generatorURL": "http://bench-console.localhost/graph?n=%d" % n}


def rfc3339(t):
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Database:
    """vigild's database, read only: which incidents exist, and whether pages are still pending."""

    def __init__(self, path):
        self.path = path
        self.db = None

    def query(self, sql, args=()):
        if self.db is None:
            self.db = sqlite3.connect("file:%s?mode=ro" % self.path, uri=True, timeout=10)
        return self.db.execute(sql, args).fetchall()

    def incidents(self):
        return self.query("SELECT id, severityCode, state FROM incident WHERE json_extract(labels, '$.bench') = 'console' "
                          "ORDER BY createdAt, id")

    def pending_notifications(self):
        return self.query("SELECT count(*) FROM notification WHERE state = 'pending'")[0][0]

    def notification_states(self):
        return dict(self.query("SELECT state, count(*) FROM notification GROUP BY state"))

    def timeline_entries(self):
        return self.query("SELECT count(*) FROM timeline")[0][0]


def stored_incidents(api):
    _, status = api.call("GET", "/api/v1/status")
    return sum(status.get("incidentsByState", {}).values()), status


def fill(o, sender, responder, db):
    now = datetime.datetime.now(datetime.timezone.utc)
    starts, ends = rfc3339(now), rfc3339(now + datetime.timedelta(hours=o.alert_hours))
    before, _ = stored_incidents(responder)
    if before:
        fail("the daemon already holds %d incidents" % before)
    alerts = [alert(n, starts, ends) for n in range(1, o.incidents + 1)]
    started = time.monotonic()
    for i in range(0, len(alerts), BATCH):
        sender.call("POST", "/api/v2/alerts", alerts[i:i + BATCH])
    posted = time.monotonic() - started
    state = {}

    def enough():
        state["total"], _ = stored_incidents(responder)
        return state["total"] >= o.incidents

    wait_until(started + o.fill_timeout, "%d incidents stored" % o.incidents, enough, every=1,
               progress=lambda: "%d of %d incidents stored" % (state.get("total", 0), o.incidents))
    took = time.monotonic() - started
    log("%d alerts posted in %.1f s; %d incidents stored %.1f s after the first post (%.0f incidents/s)"
        % (o.incidents, posted, state["total"], took, state["total"] / took))
    if took > 180:
        log("NOTE: filling through alerts took %.0f s, over 3 minutes" % took)
    return took


def respond(o, responder, db):
    """Acknowledges, walks and resolves incidents through the incident API; adds silences."""
    started = time.monotonic()
    rows = db.incidents()
    if len(rows) < o.incidents:
        fail("the database lists %d bench incidents, expected %d" % (len(rows), o.incidents))
    calls = 0
    step = max(1, len(rows) // max(1, o.resolved))
    chosen = rows[::step][:o.resolved]
    resolved_ids = {r[0] for r in chosen}
    acked = set()

    def ack(ident):
        nonlocal calls
        if ident in acked:
            return
        status, _ = responder.call("POST", "/api/v1/incidents/%s/ack" % ident, {"note": "bench-console: looking"}, allow=(409,))
        calls += 1
        acked.add(ident)

    for ident, severity, _ in rows:
        if severity == "P1" and ident not in resolved_ids:
            ack(ident)
    others = [r[0] for r in rows if r[1] != "P1" and r[0] not in resolved_ids]
    for ident in others[::max(1, len(others) // max(1, o.acked))][:o.acked]:
        ack(ident)
    for n, (ident, severity, state) in enumerate(chosen):
        ack(ident)
        if n < o.public_updates:
            responder.call("POST", "/api/v1/incidents/%s/comments" % ident,
                           {"text": "We are investigating slow responses; a fix is being deployed.", "status_update": True})
            calls += 1
        _, view = responder.call("GET", "/api/v1/incidents/%s" % ident)
        calls += 1
        current = view["state"]
        if current not in FORWARD:
            fail("%s is %s, not a state on the way to validating" % (ident, current))
        for target in FORWARD[FORWARD.index(current) + 1:]:
            responder.call("POST", "/api/v1/incidents/%s/transition" % ident, {"state": target, "reason": "bench-console: %s" % target})
            calls += 1
        responder.call("POST", "/api/v1/incidents/%s/resolve" % ident,
                       {"verification": "error rate back under 0.1% for 15 minutes", "summary": "rolled back the release",
                        "root_cause": "a configuration change"})
        calls += 1
    now = datetime.datetime.now(datetime.timezone.utc)
    for n in range(o.silences):
        responder.call("POST", "/api/v2/silences", {
            "matchers": [{"name": "alertname", "value": "Maintenance_%d" % n, "isRegex": False, "isEqual": True},
                         {"name": "job", "value": "batch-.*", "isRegex": True, "isEqual": True}],
            "startsAt": rfc3339(now), "endsAt": rfc3339(now + datetime.timedelta(hours=2 + n)),
            "createdBy": "bench", "comment": "bench-console maintenance window %d" % n})
        calls += 1
    took = time.monotonic() - started
    log("%d acknowledged, %d walked to resolved (%d with a public update), %d silences: %d API calls in %.1f s"
        % (len(acked), len(chosen), min(o.public_updates, len(chosen)), o.silences, calls, took))
    return chosen


def drain(o, db):
    started = time.monotonic()
    state = {}

    def quiet():
        state["pending"] = db.pending_notifications()
        return state["pending"] == 0

    wait_until(started + o.drain_timeout, "every notification sent", quiet, every=1,
               progress=lambda: "%d notifications still pending" % state.get("pending", -1))
    log("notifications: %s (drained in %.1f s); timeline entries: %d"
        % (", ".join("%s %d" % kv for kv in sorted(db.notification_states().items())), time.monotonic() - started,
           db.timeline_entries()))


def sign_in(client, token):
    # The sign-in form's own secret: a cookie and the same value in a hidden field.
    status, headers, data, _ = client.request("GET", "/console/sign-in")
    if status != 200:
        fail("GET /console/sign-in answered %d" % status)
    form_cookie = ""
    for value in headers.get_all("Set-Cookie") or []:
        if value.startswith("vigil_signin="):
            form_cookie = value.split(";", 1)[0]
    secret = re.search(rb'name="_csrf" value="([^"]*)"', data)
    if not form_cookie or not secret:
        fail("GET /console/sign-in gave no form secret")
    body = urllib.parse.urlencode({"_csrf": secret.group(1).decode(), "token": token}).encode()
    status, headers, data, _ = client.request("POST", "/console/sign-in", body=body,
                                              headers={"Content-Type": "application/x-www-form-urlencoded",
                                                       "Cookie": form_cookie})
    if status != 303:
        fail("POST /console/sign-in answered %d, not 303: %s" % (status, data[:300].decode("utf-8", "replace")))
    for value in headers.get_all("Set-Cookie") or []:
        name, _, rest = value.partition("=")
        if name.strip() == "vigil_session":
            return "vigil_session=" + rest.split(";", 1)[0]
    fail("POST /console/sign-in set no vigil_session cookie")


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def measure(client, cookie, path, runs, budget):
    """One warm-up, then up to `runs` timed requests within `budget` seconds:
    (statuses seen, milliseconds, the warm-up's milliseconds, bytes of the last body, the last body).
    The warm-up is the first render of a page the daemon keeps for a while (/status, its feed)."""
    headers = {"Cookie": cookie, "Accept": "text/html"}
    statuses, times = set(), []
    status, _, data, first = client.request("GET", path, headers=headers)
    statuses.add(status)
    end = time.monotonic() + budget
    for _ in range(runs):
        if time.monotonic() >= end:
            break
        status, _, data, elapsed = client.request("GET", path, headers=headers)
        statuses.add(status)
        times.append(elapsed * 1000)
    return statuses, sorted(times), first * 1000, len(data), data


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--url", required=True, help="http://HOST:PORT of vigild")
    a.add_argument("--db", required=True)
    a.add_argument("--sender-token-file", required=True)
    a.add_argument("--responder-token-file", required=True)
    a.add_argument("--vigild-pid", type=int)
    a.add_argument("--incidents", type=int, default=10000)
    a.add_argument("--resolved", type=int, default=300)
    a.add_argument("--acked", type=int, default=200, help="acknowledged besides every P1 and the resolved")
    a.add_argument("--public-updates", type=int, default=50)
    a.add_argument("--silences", type=int, default=5)
    a.add_argument("--alert-hours", type=float, default=6)
    a.add_argument("--runs", type=int, default=20)
    a.add_argument("--page-budget", type=float, default=60, help="seconds of timed requests a page at most")
    a.add_argument("--fill-timeout", type=float, default=600)
    a.add_argument("--drain-timeout", type=float, default=600)
    a.add_argument("--limit-ms", type=float, default=200)
    a.add_argument("--json-out", help="write the JSON line here (run.sh prints it last)")
    o = a.parse_args()
    if o.vigild_pid:
        WATCHED.append(o.vigild_pid)
    target = urllib.parse.urlsplit(o.url)
    client = Client(target.hostname, target.port, timeout=60)
    tokens = [open(p).read().strip() for p in (o.sender_token_file, o.responder_token_file)]
    sender, responder = API(Client(target.hostname, target.port, 60), tokens[0]), API(client, tokens[1])
    db = Database(o.db)

    began = time.monotonic()
    fill_seconds = fill(o, sender, responder, db)
    # The pages of the new incidents first: answering beside a notifier's backlog of thousands
    # made the responses crawl, and then those of the responses.
    drain(o, db)
    resolved = respond(o, responder, db)
    drain(o, db)
    total, status = stored_incidents(responder)
    by_state = ", ".join("%s %d" % kv for kv in sorted(status["incidentsByState"].items()))
    log("%d incidents (%s); load average %s" % (total, by_state, " ".join(open("/proc/loadavg").read().split()[:3])))

    # The incident page: a resolved P1 if there is one (the longest timeline: every step, the
    # resolution, the post-mortem, the restoration pages), else the first resolved.
    pick = next((r for r in resolved if r[1] == "P1"), resolved[0] if resolved else None)
    if pick is None:
        fail("no incident was resolved; nothing to show on an incident page")
    ident = pick[0]
    pages = [
        "/console/incidents",
        "/console/incidents?state=all&page=150",
        "/console/incidents?state=all",
        "/console/incidents?state=all&q=payments",
        "/console/incidents?state=open&severity=P1",
        "/console/incidents?state=resolved",
        "/console/incidents/rows?state=open",
        "/console/incidents/rows?state=all&severity=P3&page=40",
        "/console/incidents/%s" % ident,
        "/console/incidents/%s/timeline" % ident,
        "/console/oncall",
        "/console/plugins",
        "/console/plugins/email",
        "/console/bus",
        "/console/agents",
        "/console/agents/rows",
        "/console/silences",
        "/console/metrics",
        "/status",
        "/status/feed.atom",
    ]
    cookie = sign_in(client, tokens[1])
    log("signed in; %d pages × (1 warm-up + %d), at most %.0f s each" % (len(pages), o.runs, o.page_budget))
    results, bodies = [], {}
    for path in pages:
        try:
            statuses, times, first, size, body = measure(client, cookie, path, o.runs, o.page_budget)
        except (OSError, http.client.HTTPException) as error:
            fail("GET %s: %s" % (path, error))
        bodies[path] = body
        results.append((path, statuses, times, first, size))

    width = max(len(p) for p in pages) + 2
    print(f"{'page':<{width}}{'status':>7}{'runs':>6}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'bytes':>10}{'warm-up ms':>12}")
    for path, statuses, times, first, size in results:
        code = "/".join(str(s) for s in sorted(statuses))
        print(f"{path:<{width}}{code:>7}{len(times):>6}{percentile(times, 50):>10.1f}{percentile(times, 95):>10.1f}"
              f"{max(times) if times else float('nan'):>10.1f}{size:>10,}{first:>12.1f}")

    problems = []
    for path, statuses, times, _, _ in results:
        if statuses != {200}:
            problems.append("GET %s answered %s, not 200 (%s)" % (path, "/".join(str(s) for s in sorted(statuses)),
                            bodies[path][:160].decode("utf-8", "replace").replace("\n", " ")))
        if len(times) < o.runs:
            problems.append("GET %s: only %d of %d timed runs fitted in %.0f s" % (path, len(times), o.runs, o.page_budget))

    # The list pages: at most one page of rows and a link to the next.
    first = bodies["/console/incidents"].decode("utf-8", "replace")
    rows = first.count("data-incident-id=")
    has_next = 'rel="next"' in first
    deep = bodies["/console/incidents?state=all&page=150"].decode("utf-8", "replace").count("data-incident-id=")
    print(f"paging: /console/incidents has {rows} rows (at most {PAGE_SIZE}) and {'a' if has_next else 'no'} rel=\"next\" link; "
          f"page 150 of state=all has {deep} rows")
    if rows > PAGE_SIZE:
        problems.append("/console/incidents shows %d rows on its first page, more than %d: it does not page" % (rows, PAGE_SIZE))
    if not has_next:
        problems.append("/console/incidents has no rel=\"next\" link with %d incidents" % total)

    measured = [(max(t), p) for p, _, t, _, _ in results if t]
    slowest_ms, slowest = max(measured)
    over = [(m, p) for m, p in measured if m > o.limit_ms]
    print(f"slowest: {slowest} {slowest_ms:.1f} ms (max of {o.runs}); over {o.limit_ms:.0f} ms: "
          + (", ".join("%s %.0f ms" % (p, m) for m, p in sorted(over, reverse=True)) or "none"))
    cold = [(f, p) for p, _, _, f, _ in results if f > o.limit_ms]
    if cold:
        print("warm-ups over %.0f ms (not in the max; a first render): " % o.limit_ms
              + ", ".join("%s %.0f ms" % (p, f) for f, p in sorted(cold, reverse=True)))
    print(f"filled in {fill_seconds:.0f} s; incidents: {total} ({by_state}); driver ran {time.monotonic() - began:.0f} s")
    line = json.dumps({"benchmark": "console", "incidents": total, "slowest_page": slowest, "slowest_ms": round(slowest_ms, 1)},
                      separators=(",", ":"))
    if problems:
        for p in problems:
            log("problem: " + p)
        log("the JSON line had there been no problem: " + line)
        fail("%d problem(s) above" % len(problems))
    if o.json_out:
        with open(o.json_out, "w") as out:
            out.write(line + "\n")
    else:
        print(line)


if __name__ == "__main__":
    main()
