"""The webhook notifier (Plugins/webhook) run as a real process by the harness (a stand-in for
vigild, brokering its connections), posting to a local HTTP receiver: Vigil's payload, and
Alertmanager's webhook payload (version 4) checked field by field and, when Alertmanager is
installed (Debian's prometheus-alertmanager), byte for byte against what it sends itself.
Run: cd Tests/Notifiers && python3 -m unittest test_webhook -v
"""
import collections
import copy
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

from harness import ROOT, PluginProcess

sys.path.insert(0, os.path.join(ROOT, "Plugins", "webhook"))
import alertmanager_payload as am  # noqa: E402

PROGRAM = "Plugins/webhook/webhook.py"
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

# Real pages, captured from .build/debug/vigild with a recording notifier: INC-2026-0001 was
# opened by an alert posted to /api/v2/alerts (its fingerprint holds the alert group's key), paged
# and later resolved; INC-2026-0002 was declared by hand.
REAL_VIEWS = [json.loads(line) for line in r"""
{"incident":{"ack_links":[{"expires_at":"2026-12-08T01:28:14.000Z","person":"alice","url":"https://vigil.example.com/ack/v1.SU5DLTIwMjYtMDAwMQ.YWxpY2U.1796693294.i0C5TTY_yZtj8c9gF46rjA.qEo2DEI3Sp-_NJXjYh965MZ1XIg8_ZwSUTFgJExxB2k"}],"backlog":false,"channel":"email","classification":{"affectedComponents":[],"dataIntegrity":false,"initialTeam":["incident_commander: dave","technical_lead: dave","communications_lead: alice","operations_engineer: dave"],"mobilisation":"Full incident response team","rationale":["Severity P1 (Critical) fixed by rule alertmanager/DiskFull: Severe incident requiring immediate attention.","Response SLA 15 minutes (p1-p4 ladder): acknowledge within 15 minutes of opening.","Team mobilisation: Full incident response team.","Escalation path (On-call Engineer × P1): Team Lead -> Engineering Manager -> CTO, one level every 15 minutes once the response SLA is breached."],"security":false,"userImpacting":true},"createdAt":"2026-12-07T01:28:14.913Z","detectedAt":"2026-12-07T01:28:14.898Z","escalation":{"level":0,"path":"no escalation path","responder":"On-call Engineer","upcoming":[]},"escalationLevel":0,"fingerprint":"alertmanager:{}:{alertname=\"DiskFull\"}","flapCount":0,"id":"INC-2026-0001","labels":{"alertname":"DiskFull","instance":"db-1:9100","mountpoint":"/var","severity":"critical","team":"db"},"lastSeenAt":"2026-12-07T01:28:14.913Z","notification_id":2,"occurrences":1,"recipients":["alice@example.org"],"roleDetails":[{"person":"alice","role":"communications_lead","roleName":"Communications Lead"},{"person":"dave","role":"incident_commander","roleName":"Incident Commander"},{"person":"dave","role":"operations_engineer","roleName":"Operations Engineer"},{"person":"dave","role":"technical_lead","roleName":"Technical Lead"}],"roles":{"communications_lead":"alice","incident_commander":"dave","operations_engineer":"dave","technical_lead":"dave"},"severity":"P1","severityName":"Critical","sla":{"deadline":"2026-12-07T01:43:14.913Z","remainingSeconds":899,"responseTime":"15 minutes","state":"running"},"source":"rule:alertmanager/DiskFull","state":"mobilised","statusUpdates":{"cadence":"30 minutes","nextDue":"2026-12-07T01:58:14.913Z"},"summary":"Rule alertmanager/DiskFull fired: alert {alertname=\"DiskFull\", instance=\"db-1:9100\", mountpoint=\"/var\", severity=\"critical\", team=\"db\"}; value 1.","title":"Disk /var on db-1 is 97% full","updatedAt":"2026-12-07T01:28:14.913Z"},"title":"[P1 Critical] INC-2026-0001: Disk /var on db-1 is 97% full — you are Communications Lead"}
{"incident":{"acknowledgedAt":"2026-12-07T01:28:20.479Z","backlog":false,"channel":"email","classification":{"affectedComponents":[],"dataIntegrity":false,"initialTeam":["incident_commander: dave","technical_lead: dave","communications_lead: alice","operations_engineer: dave"],"mobilisation":"Full incident response team","rationale":["Severity P1 (Critical) fixed by rule alertmanager/DiskFull: Severe incident requiring immediate attention.","Response SLA 15 minutes (p1-p4 ladder): acknowledge within 15 minutes of opening.","Team mobilisation: Full incident response team.","Escalation path (On-call Engineer × P1): Team Lead -> Engineering Manager -> CTO, one level every 15 minutes once the response SLA is breached."],"security":false,"userImpacting":true},"createdAt":"2026-12-07T01:28:14.913Z","detectedAt":"2026-12-07T01:28:14.898Z","escalation":{"level":0,"path":"no escalation path","responder":"On-call Engineer","upcoming":[]},"escalationLevel":0,"fingerprint":"alertmanager:{}:{alertname=\"DiskFull\"}","flapCount":0,"id":"INC-2026-0001","labels":{"alertname":"DiskFull","instance":"db-1:9100","mountpoint":"/var","severity":"critical","team":"db"},"lastSeenAt":"2026-12-07T01:28:14.913Z","notification_id":4,"occurrences":1,"postMortemDueAt":"2026-12-09T01:28:33.556Z","recipients":["alice@example.org"],"resolution":{"actions":[],"resolvedBy":"dave via root","summary":"Rotated and compressed old WAL segments on db-1","verification":"free space back above 40% for 10 minutes"},"resolvedAt":"2026-12-07T01:28:33.556Z","roleDetails":[{"person":"alice","role":"communications_lead","roleName":"Communications Lead"},{"person":"dave","role":"incident_commander","roleName":"Incident Commander"},{"person":"dave","role":"operations_engineer","roleName":"Operations Engineer"},{"person":"dave","role":"technical_lead","roleName":"Technical Lead"}],"roles":{"communications_lead":"alice","incident_commander":"dave","operations_engineer":"dave","technical_lead":"dave"},"severity":"P1","severityName":"Critical","sla":{"deadline":"2026-12-07T01:43:14.913Z","responseTime":"15 minutes","state":"met"},"source":"rule:alertmanager/DiskFull","state":"resolved","statusUpdates":{"cadence":"30 minutes"},"summary":"Rule alertmanager/DiskFull fired: alert {alertname=\"DiskFull\", instance=\"db-1:9100\", mountpoint=\"/var\", severity=\"critical\", team=\"db\"}; value 1.","title":"Disk /var on db-1 is 97% full","updatedAt":"2026-12-07T01:28:33.556Z"},"title":"[P1 Critical] INC-2026-0001: Disk /var on db-1 is 97% full — resolved"}
{"incident":{"ack_links":[{"expires_at":"2026-12-08T01:28:41.000Z","person":"dave","url":"https://vigil.example.com/ack/v1.SU5DLTIwMjYtMDAwMg.ZGF2ZQ.1796693321.p3rnS8p6YyI5FuAaiitCig.yAzUdYZw_RLZTbNnfvgjIZRwqJlT1RSvaEsmYmjbcKg"}],"backlog":false,"channel":"email","classification":{"affectedComponents":["checkout-api","application"],"dataIntegrity":false,"impact":"major","initialTeam":["incident_commander: dave","technical_lead: dave","communications_lead: alice","specialist:application: bob"],"mobilisation":"Core response team + specialists","rationale":["Impact on users \"major\" → P2 (High).","User scope \"group\" → P2 (High).","Service impact \"partial outage\" → P2 (High).","Incident type \"Elevated error rates\" is P2 (High) in the incident-type table.","Severity P2 (High): the most severe factor decides; Significant incident impacting core functionality.","Response SLA 1 hour (p1-p4 ladder): acknowledge within 1 hour of opening.","Team mobilisation: Core response team + specialists.","Escalation path (On-call Engineer × P2): Team Lead -> Engineering Manager, one level every 1 hour once the response SLA is breached."],"security":false,"serviceImpact":"partial outage","userImpacting":true,"userScope":"group"},"createdAt":"2026-12-07T01:28:41.333Z","detectedAt":"2026-12-07T01:28:41.333Z","escalation":{"level":0,"path":"no escalation path","responder":"On-call Engineer","upcoming":[]},"escalationLevel":0,"flapCount":0,"id":"INC-2026-0002","labels":{"declared_by":"alice via root"},"lastSeenAt":"2026-12-07T01:28:41.333Z","notification_id":6,"occurrences":1,"recipients":["dave@example.org"],"roleDetails":[{"person":"alice","role":"communications_lead","roleName":"Communications Lead"},{"person":"dave","role":"incident_commander","roleName":"Incident Commander"},{"person":"bob","role":"specialist:application","roleName":"Specialist (application)"},{"person":"dave","role":"technical_lead","roleName":"Technical Lead"}],"roles":{"communications_lead":"alice","incident_commander":"dave","specialist:application":"bob","technical_lead":"dave"},"severity":"P2","severityName":"High","sla":{"deadline":"2026-12-07T02:28:41.333Z","remainingSeconds":3599,"responseTime":"1 hour","state":"running"},"source":"user-report","state":"mobilised","statusUpdates":{"cadence":"1 hour","nextDue":"2026-12-07T02:28:41.333Z"},"summary":"Load balancer health checks failing on 3 of 5 checkout pods","title":"Checkout API returning 502 for 30% of requests","type":"Elevated error rates","updatedAt":"2026-12-07T01:28:41.333Z"},"title":"[P2 High] INC-2026-0002: Checkout API returning 502 for 30% of requests — you are Incident Commander and Technical Lead"}
""".strip().splitlines()]
ALERT_OPENED, ALERT_RESOLVED, DECLARED = REAL_VIEWS


class Receiver:
    """A webhook receiver on loopback: records each request (raw body, headers), answers 200,
    or `fail_next(status, k)` for the next k requests."""

    def __init__(self):
        self.cond = threading.Condition()
        self.received = []
        self.failures = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.cond:
                    status = receiver.failures.pop(0) if receiver.failures else 200
                    receiver.received.append({"status": status, "body": body, "headers": dict(self.headers.items()),
                                              "path": self.path})
                    receiver.cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/hook" % self.port
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def fail_next(self, status, k):
        with self.cond:
            self.failures.extend([status] * k)

    def wait_for(self, count, timeout=10):
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.received) >= count, timeout):
                raise TimeoutError("%d request(s) received, expected %d" % (len(self.received), count))
            return list(self.received)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def page(view, purpose="page", **changes):
    incident = copy.deepcopy(view["incident"])
    incident.update(channel="webhook", purpose=purpose)
    incident.update(changes)
    return incident


def ordered(body):
    return json.loads(body.decode("utf-8"), object_pairs_hook=collections.OrderedDict)


TOP_KEYS = ["receiver", "status", "alerts", "notification_reason", "groupLabels", "commonLabels",
            "commonAnnotations", "routeLabels", "externalURL", "version", "groupKey", "truncatedAlerts"]
ALERT_KEYS = ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"]


class WebhookNotifierTests(unittest.TestCase):
    def setUp(self):
        self.receiver = Receiver()
        self.addCleanup(self.receiver.stop)

    def plugin(self, egress=None, **config):
        settings = {"url": self.receiver.url, "retries": 4, "backoff_seconds": 0.01, "timeout_seconds": 5, "channels": ["*"]}
        settings.update(config)
        return PluginProcess(PROGRAM, config=settings, egress=egress or [("127.0.0.1", self.receiver.port)])

    def test_vigil_payload_is_the_default(self):
        incident = page(DECLARED)
        with self.plugin(headers={"Authorization": "Bearer t0ken"}) as p:
            result = p.notify(incident, title=DECLARED["title"], body="the body")
        self.assertTrue(result["ok"], result["detail"])
        self.assertEqual(result["evidence"], {"status": 200, "attempts": 1, "format": "vigil"})
        got = self.receiver.wait_for(1)[0]
        body = json.loads(got["body"])
        self.assertEqual(sorted(body), ["body", "id", "incident", "sent_at", "title"])
        self.assertEqual((body["title"], body["body"], body["incident"]), (DECLARED["title"], "the body", incident))
        self.assertEqual(got["headers"]["Content-Type"], "application/json")
        self.assertEqual(got["headers"]["Authorization"], "Bearer t0ken")
        self.assertEqual(got["path"], "/hook")

    def test_alertmanager_payload_for_an_incident_opened_by_an_alert(self):
        with self.plugin(format="alertmanager", external_url="https://vigil.example.com") as p:
            result = p.notify(page(ALERT_OPENED), title=ALERT_OPENED["title"])
        self.assertTrue(result["ok"], result["detail"])
        self.assertEqual(result["evidence"]["format"], "alertmanager")
        raw = self.receiver.wait_for(1)[0]["body"]
        self.assertTrue(raw.endswith(b"}\n"), "json.Encoder ends its output with a newline")
        body = ordered(raw)
        self.assertEqual(list(body), TOP_KEYS)
        self.assertEqual(body["receiver"], "vigil")
        self.assertEqual(body["status"], "firing")
        self.assertEqual(body["notification_reason"], "first notification")
        labels = {"alertname": "DiskFull", "instance": "db-1:9100", "mountpoint": "/var", "severity": "critical", "team": "db"}
        self.assertEqual(body["groupLabels"], {"alertname": "DiskFull"})
        self.assertEqual(body["groupKey"], '{}:{alertname="DiskFull"}')
        self.assertEqual(body["commonLabels"], labels)
        self.assertEqual(body["routeLabels"], {})
        self.assertEqual(body["externalURL"], "https://vigil.example.com")
        self.assertEqual(body["version"], "4")
        self.assertEqual(body["truncatedAlerts"], 0)
        self.assertEqual(len(body["alerts"]), 1)
        alert = body["alerts"][0]
        self.assertEqual(list(alert), ALERT_KEYS)
        self.assertEqual(alert["status"], "firing")
        self.assertEqual(alert["labels"], labels, "the alert's own labels: its fingerprint is the alert's")
        self.assertEqual(list(alert["labels"]), sorted(labels), "Go writes map keys sorted")
        self.assertEqual(alert["annotations"], {
            "acknowledge": "Acknowledge as alice: " + ALERT_OPENED["incident"]["ack_links"][0]["url"],
            "description": ALERT_OPENED["incident"]["summary"],
            "incident_id": "INC-2026-0001",
            "incident_state": "mobilised",
            "notification": ALERT_OPENED["title"],
            "summary": "Disk /var on db-1 is 97% full"})
        self.assertEqual(body["commonAnnotations"], alert["annotations"])
        self.assertEqual(alert["startsAt"], "2026-12-07T01:28:14.898Z")
        self.assertEqual(alert["endsAt"], "0001-01-01T00:00:00Z")
        self.assertEqual(alert["generatorURL"], "https://vigil.example.com/api/v1/incidents/INC-2026-0001")
        self.assertEqual(alert["fingerprint"], am.fingerprint(labels))
        self.assertIn(b'\\"DiskFull\\"', raw)

    def test_alertmanager_payload_once_resolved(self):
        with self.plugin(format="alertmanager") as p:
            result = p.notify(page(ALERT_RESOLVED, purpose="resolution"), title=ALERT_RESOLVED["title"])
        self.assertTrue(result["ok"], result["detail"])
        body = ordered(self.receiver.wait_for(1)[0]["body"])
        self.assertEqual((body["status"], body["alerts"][0]["status"]), ("resolved", "resolved"))
        self.assertEqual(body["alerts"][0]["startsAt"], "2026-12-07T01:28:14.898Z")
        self.assertEqual(body["alerts"][0]["endsAt"], "2026-12-07T01:28:33.556Z")
        self.assertEqual(body["notification_reason"], "all alerts resolved")
        self.assertEqual((body["externalURL"], body["alerts"][0]["generatorURL"]), ("", ""))
        self.assertNotIn("acknowledge", body["alerts"][0]["annotations"], "no acknowledgement links once resolved")

    def test_alertmanager_payload_for_a_declared_incident(self):
        with self.plugin(format="alertmanager", receiver="team.db (primary)",
                         incident_url="https://vigil.example.com/incidents/{id}") as p:
            result = p.notify(page(DECLARED, purpose="escalation"), title=DECLARED["title"])
        self.assertTrue(result["ok"], result["detail"])
        body = ordered(self.receiver.wait_for(1)[0]["body"])
        alert = body["alerts"][0]
        self.assertEqual(alert["labels"], {"alertname": "Elevated error rates", "component": "checkout-api",
                                           "declared_by": "alice via root", "incident_id": "INC-2026-0002",
                                           "severity": "P2"})
        self.assertEqual(body["groupLabels"], {"incident_id": "INC-2026-0002"})
        self.assertEqual(body["groupKey"], '{}:{incident_id="INC-2026-0002"}')
        self.assertEqual(body["receiver"], r"team\.db \(primary\)", "Alertmanager writes regexp.QuoteMeta(receiver)")
        self.assertEqual(body["notification_reason"], "repeat interval elapsed")
        self.assertEqual(alert["generatorURL"], "https://vigil.example.com/incidents/INC-2026-0002")
        self.assertEqual(alert["startsAt"], "2026-12-07T01:28:41.333Z")

    def test_payload_pieces_match_alertmanagers_rules(self):
        # prometheus/common's fingerprint test vectors, checked against Alertmanager 0.25.
        self.assertEqual(am.fingerprint({"alertname": "Test", "instance": "host1"}), "779d94b5fcb93aa2")
        self.assertEqual(am.fingerprint({"alertname": "good"}), "fff7f30401697f7b")
        self.assertEqual(am.fingerprint({"alertname": "CPU", "instance": "h2"}), "951f740d5dd101c3")
        self.assertEqual(am.fingerprint({}), "cbf29ce484222325")
        self.assertEqual(am.go_json({"a": "<b> & \u2028 \x1b é"}), b'{"a":"\\u003cb\\u003e \\u0026 \\u2028 \\u001b \xc3\xa9"}\n')
        self.assertEqual(am.go_time("2026-12-05T13:50:00.790Z"), "2026-12-05T13:50:00.79Z")
        self.assertEqual(am.go_time("2026-12-05T13:50:00.000Z"), "2026-12-05T13:50:00Z")
        self.assertIsNone(am.go_time("yesterday"))
        labels = {"alertname": "DiskFull", "instance": "h1", "team": "db"}
        self.assertEqual(am.group_labels('{}/{team="db"}:{alertname="DiskFull", instance="h1"}', labels),
                         {"alertname": "DiskFull", "instance": "h1"})
        self.assertEqual(am.group_labels('{}/{team=~"a:{b"}:{alertname="DiskFull"}', labels), {"alertname": "DiskFull"})
        tricky = {"alertname": 'x", instance="y'}
        self.assertEqual(am.group_labels('{}:{alertname="x", instance="y"}', tricky), tricky)
        self.assertEqual(am.group_labels("{}:{}", labels), {})
        self.assertEqual(am.group_labels("not a key", labels), {})
        self.assertEqual(am.group_labels(":{" * 5000, labels), {})

    def test_hostile_incidents_still_make_valid_payloads(self):
        hostile = page(ALERT_OPENED, labels={"0bad": "x", "ok": 5, "good": "\udc80<script>", "empty": ""},
                       title=["no"], fingerprint="alertmanager:" + ":{" * 2000, detectedAt="noon",
                       ack_links="nope", state=None, resolvedAt="2026-12-07T01:28:33.556Z")
        with self.plugin(format="alertmanager") as p:
            result = p.notify(hostile)
        self.assertTrue(result["ok"], result["detail"])
        raw = self.receiver.wait_for(1)[0]["body"]
        body = ordered(raw)
        alert = body["alerts"][0]
        self.assertEqual(alert["labels"], {"alertname": "VigilIncident", "good": "\ufffd<script>"})
        self.assertEqual((alert["status"], alert["startsAt"], alert["endsAt"]),
                         ("resolved", "2026-12-07T01:28:14.913Z", "2026-12-07T01:28:33.556Z"))
        self.assertEqual(body["groupLabels"], {})
        self.assertNotIn(b"<script>", raw)
        with self.plugin(format="prometheus") as p:
            bad_format = p.notify(page(DECLARED))
        self.assertFalse(bad_format["ok"])
        self.assertEqual(bad_format["detail"], "permanent: config.format must be one of vigil, alertmanager, found 'prometheus'")
        self.assertTrue(bad_format["evidence"]["permanent"])
        self.assertEqual(len(self.receiver.received), 1)

    def test_failed_deliveries_are_retried_with_backoff(self):
        self.receiver.fail_next(500, 2)
        with self.plugin(format="alertmanager") as p:
            result = p.notify(page(ALERT_OPENED))
            self.receiver.fail_next(503, 100)
            exhausted = p.notify(page(ALERT_OPENED))
        self.assertTrue(result["ok"], result["detail"])
        self.assertEqual(result["evidence"]["attempts"], 3)
        self.assertFalse(exhausted["ok"])
        self.assertEqual(exhausted["evidence"], {"attempts": 5, "last_error": "HTTP 503", "permanent": False})
        statuses = [r["status"] for r in self.receiver.received]
        self.assertEqual(statuses, [500, 500, 200] + [503] * 5)
        self.assertEqual(len({r["body"] for r in self.receiver.received[:3]}), 1, "a retry sends the same bytes")

    def test_connections_from_the_broker_are_kept_alive(self):
        with self.plugin() as p:
            results = [p.notify(page(DECLARED)) for _ in range(20)]
            connected = list(p.connected)
        self.assertTrue(all(r["ok"] for r in results), results)
        self.assertEqual(len(self.receiver.wait_for(20)), 20)
        # Eight workers, each keeping its connection: never a connection per notification.
        self.assertLessEqual(len(connected), 8)
        self.assertEqual(set(connected), {("127.0.0.1", self.receiver.port)})

    def test_an_undeclared_destination_is_refused_by_the_broker(self):
        with self.plugin(egress=[("127.0.0.1", 9099)]) as p:
            result = p.notify(page(DECLARED))
            refused, connected = list(p.refused), list(p.connected)
        self.assertFalse(result["ok"])
        self.assertIn("vigild refused 127.0.0.1:%d" % self.receiver.port, result["detail"])
        self.assertEqual(result["evidence"]["attempts"], 1, "a refused destination is not retried")
        self.assertTrue(result["evidence"]["permanent"])
        self.assertEqual((refused, connected), ([("127.0.0.1", self.receiver.port)], []))
        self.assertEqual(self.receiver.received, [])


@unittest.skipUnless(ALERTMANAGER, "prometheus-alertmanager is not installed (the Debian package prometheus-alertmanager)")
class AlertmanagerOracleTests(unittest.TestCase):
    """The same alert through a real Alertmanager and through the plugin: the same bytes, but for
    the two fields Alertmanager 0.32 and 0.34 added (the installed one may predate them)."""

    def setUp(self):
        self.receiver = Receiver()
        self.addCleanup(self.receiver.stop)
        folder = tempfile.mkdtemp(prefix="vigil-am-oracle-")
        self.addCleanup(shutil.rmtree, folder, True)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        with open(os.path.join(folder, "am.yml"), "w") as config:
            config.write("route:\n  receiver: vigil\n  group_by: [alertname]\n  group_wait: 0s\n"
                         "  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: vigil\n"
                         "    webhook_configs:\n      - url: %s\n" % self.receiver.url)
        self.api = "http://127.0.0.1:%d" % port
        self.am = subprocess.Popen([ALERTMANAGER, "--config.file=" + os.path.join(folder, "am.yml"),
                                    "--storage.path=" + os.path.join(folder, "data"),
                                    "--web.listen-address=127.0.0.1:%d" % port, "--cluster.listen-address=",
                                    "--web.external-url=https://vigil.example.com"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(self.stop_alertmanager)
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(self.api + "/-/ready", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or self.am.poll() is not None:
                self.fail("Alertmanager did not become ready")
            time.sleep(0.05)

    def stop_alertmanager(self):
        self.am.terminate()
        try:
            self.am.wait(5)
        except subprocess.TimeoutExpired:
            self.am.kill()
            self.am.wait()

    def post(self, alert):
        request = urllib.request.Request(self.api + "/api/v2/alerts", data=json.dumps([alert]).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=5) as answer:
            self.assertEqual(answer.status, 200)

    def test_alertmanager_sends_the_same_bytes(self):
        self.checked = []
        config = {"format": "alertmanager", "external_url": "https://vigil.example.com"}
        requests = [{"incident": page(ALERT_OPENED), "message": {"title": ALERT_OPENED["title"]}},
                    {"incident": page(ALERT_RESOLVED, purpose="resolution"), "message": {"title": ALERT_RESOLVED["title"]}}]
        ours = [am.message_for(r, config) for r in requests]
        for count, message in enumerate(ours, start=1):
            alert = message["alerts"][0]
            posted = {"labels": alert["labels"], "annotations": alert["annotations"], "startsAt": alert["startsAt"],
                      "generatorURL": alert["generatorURL"]}
            if alert["status"] == "resolved":
                posted["endsAt"] = alert["endsAt"]
            self.post(posted)
            theirs = self.receiver.wait_for(count, timeout=15)[-1]["body"]
            for added in ("notification_reason", "routeLabels"):   # 0.32, 0.34
                if added not in ordered(theirs):
                    del message[added]
            self.assertEqual(am.go_json(message).decode(), theirs.decode())
            self.checked.append(theirs)


if __name__ == "__main__":
    unittest.main()
