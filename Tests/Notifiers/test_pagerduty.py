"""The PagerDuty notifier (Plugins/pagerduty) run as a real process by the harness (a stand-in
for vigild, brokering its connections), against FakePagerDuty (the Events API v2's checks and
answers). Run: cd Tests/Notifiers && python3 -m unittest test_pagerduty -v
"""
import copy
import json
import os
import sys
import tempfile
import time
import unittest
import uuid

from fake_pagerduty import FakePagerDuty, validate
from harness import ROOT, PluginProcess

sys.path.insert(0, os.path.join(ROOT, "Plugins", "pagerduty"))
import pagerduty_event  # noqa: E402

PROGRAM = "Plugins/pagerduty/pagerduty_notifier.py"
KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90"       # an integration key's shape: 32 letters and digits
PERSON_KEY = "R0ZZ0000000000000000000000000042"

# Real pages: what vigild handed its notifier for INC-2026-0002 (declared by hand) when it opened,
# after dave acknowledged it (an assignment notice) and when it was resolved — captured from
# .build/debug/vigild with a recording notifier. Tests set `channel`/`recipients` as a page on
# the pagerduty channel carries them, and `purpose` (being added to the daemon).
REAL_VIEWS = [json.loads(line) for line in r"""
{"incident":{"ack_links":[{"expires_at":"2026-12-08T01:28:41.000Z","person":"dave","url":"https://vigil.example.com/ack/v1.SU5DLTIwMjYtMDAwMg.ZGF2ZQ.1796693321.p3rnS8p6YyI5FuAaiitCig.yAzUdYZw_RLZTbNnfvgjIZRwqJlT1RSvaEsmYmjbcKg"}],"backlog":false,"channel":"email","classification":{"affectedComponents":["checkout-api","application"],"dataIntegrity":false,"impact":"major","initialTeam":["incident_commander: dave","technical_lead: dave","communications_lead: alice","specialist:application: bob"],"mobilisation":"Core response team + specialists","rationale":["Impact on users \"major\" → P2 (High).","User scope \"group\" → P2 (High).","Service impact \"partial outage\" → P2 (High).","Incident type \"Elevated error rates\" is P2 (High) in the incident-type table.","Severity P2 (High): the most severe factor decides; Significant incident impacting core functionality.","Response SLA 1 hour (p1-p4 ladder): acknowledge within 1 hour of opening.","Team mobilisation: Core response team + specialists.","Escalation path (On-call Engineer × P2): Team Lead -> Engineering Manager, one level every 1 hour once the response SLA is breached."],"security":false,"serviceImpact":"partial outage","userImpacting":true,"userScope":"group"},"createdAt":"2026-12-07T01:28:41.333Z","detectedAt":"2026-12-07T01:28:41.333Z","escalation":{"level":0,"path":"no escalation path","responder":"On-call Engineer","upcoming":[]},"escalationLevel":0,"flapCount":0,"id":"INC-2026-0002","labels":{"declared_by":"alice via root"},"lastSeenAt":"2026-12-07T01:28:41.333Z","notification_id":6,"occurrences":1,"recipients":["dave@example.org"],"roleDetails":[{"person":"alice","role":"communications_lead","roleName":"Communications Lead"},{"person":"dave","role":"incident_commander","roleName":"Incident Commander"},{"person":"bob","role":"specialist:application","roleName":"Specialist (application)"},{"person":"dave","role":"technical_lead","roleName":"Technical Lead"}],"roles":{"communications_lead":"alice","incident_commander":"dave","specialist:application":"bob","technical_lead":"dave"},"severity":"P2","severityName":"High","sla":{"deadline":"2026-12-07T02:28:41.333Z","remainingSeconds":3599,"responseTime":"1 hour","state":"running"},"source":"user-report","state":"mobilised","statusUpdates":{"cadence":"1 hour","nextDue":"2026-12-07T02:28:41.333Z"},"summary":"Load balancer health checks failing on 3 of 5 checkout pods","title":"Checkout API returning 502 for 30% of requests","type":"Elevated error rates","updatedAt":"2026-12-07T01:28:41.333Z"},"title":"[P2 High] INC-2026-0002: Checkout API returning 502 for 30% of requests — you are Incident Commander and Technical Lead"}
{"incident":{"acknowledgedAt":"2026-12-07T01:28:43.467Z","backlog":false,"channel":"email","classification":{"affectedComponents":["checkout-api","application"],"dataIntegrity":false,"impact":"major","initialTeam":["incident_commander: dave","technical_lead: dave","communications_lead: alice","specialist:application: bob"],"mobilisation":"Core response team + specialists","rationale":["Impact on users \"major\" → P2 (High).","User scope \"group\" → P2 (High).","Service impact \"partial outage\" → P2 (High).","Incident type \"Elevated error rates\" is P2 (High) in the incident-type table.","Severity P2 (High): the most severe factor decides; Significant incident impacting core functionality.","Response SLA 1 hour (p1-p4 ladder): acknowledge within 1 hour of opening.","Team mobilisation: Core response team + specialists.","Escalation path (On-call Engineer × P2): Team Lead -> Engineering Manager, one level every 1 hour once the response SLA is breached."],"security":false,"serviceImpact":"partial outage","userImpacting":true,"userScope":"group"},"createdAt":"2026-12-07T01:28:41.333Z","detectedAt":"2026-12-07T01:28:41.333Z","escalation":{"level":0,"path":"no escalation path","responder":"On-call Engineer","upcoming":[]},"escalationLevel":0,"flapCount":0,"id":"INC-2026-0002","labels":{"declared_by":"alice via root"},"lastSeenAt":"2026-12-07T01:28:41.333Z","notification_id":10,"occurrences":1,"recipients":["bob@example.org"],"roleDetails":[{"person":"alice","role":"communications_lead","roleName":"Communications Lead"},{"person":"dave","role":"incident_commander","roleName":"Incident Commander"},{"person":"bob","role":"specialist:application","roleName":"Specialist (application)"},{"person":"bob","role":"technical_lead","roleName":"Technical Lead"}],"roles":{"communications_lead":"alice","incident_commander":"dave","specialist:application":"bob","technical_lead":"bob"},"severity":"P2","severityName":"High","sla":{"deadline":"2026-12-07T02:28:41.333Z","responseTime":"1 hour","state":"met"},"source":"user-report","state":"mobilised","statusUpdates":{"cadence":"1 hour","nextDue":"2026-12-07T02:28:41.333Z"},"summary":"Load balancer health checks failing on 3 of 5 checkout pods","title":"Checkout API returning 502 for 30% of requests","type":"Elevated error rates","updatedAt":"2026-12-07T01:28:43.543Z"},"title":"[P2 High] INC-2026-0002: Checkout API returning 502 for 30% of requests — you are Technical Lead"}
{"incident":{"acknowledgedAt":"2026-12-07T01:28:43.467Z","backlog":false,"channel":"email","classification":{"affectedComponents":["checkout-api","application"],"dataIntegrity":false,"impact":"major","initialTeam":["incident_commander: dave","technical_lead: dave","communications_lead: alice","specialist:application: bob"],"mobilisation":"Core response team + specialists","rationale":["Impact on users \"major\" → P2 (High).","User scope \"group\" → P2 (High).","Service impact \"partial outage\" → P2 (High).","Incident type \"Elevated error rates\" is P2 (High) in the incident-type table.","Severity P2 (High): the most severe factor decides; Significant incident impacting core functionality.","Response SLA 1 hour (p1-p4 ladder): acknowledge within 1 hour of opening.","Team mobilisation: Core response team + specialists.","Escalation path (On-call Engineer × P2): Team Lead -> Engineering Manager, one level every 1 hour once the response SLA is breached."],"security":false,"serviceImpact":"partial outage","userImpacting":true,"userScope":"group"},"createdAt":"2026-12-07T01:28:41.333Z","detectedAt":"2026-12-07T01:28:41.333Z","escalation":{"level":0,"path":"no escalation path","responder":"On-call Engineer","upcoming":[]},"escalationLevel":0,"flapCount":0,"id":"INC-2026-0002","labels":{"declared_by":"alice via root"},"lastSeenAt":"2026-12-07T01:28:41.333Z","notification_id":11,"occurrences":1,"postMortemDueAt":"2026-12-09T01:28:50.992Z","recipients":["alice@example.org"],"resolution":{"actions":[],"resolvedBy":"dave via root","summary":"Rolled back checkout-api to v2.41.3","verification":"error rate under 0.1% for 30 minutes"},"resolvedAt":"2026-12-07T01:28:50.992Z","roleDetails":[{"person":"alice","role":"communications_lead","roleName":"Communications Lead"},{"person":"dave","role":"incident_commander","roleName":"Incident Commander"},{"person":"bob","role":"specialist:application","roleName":"Specialist (application)"},{"person":"bob","role":"technical_lead","roleName":"Technical Lead"}],"roles":{"communications_lead":"alice","incident_commander":"dave","specialist:application":"bob","technical_lead":"bob"},"severity":"P2","severityName":"High","sla":{"deadline":"2026-12-07T02:28:41.333Z","responseTime":"1 hour","state":"met"},"source":"user-report","state":"resolved","statusUpdates":{"cadence":"1 hour"},"summary":"Load balancer health checks failing on 3 of 5 checkout pods","title":"Checkout API returning 502 for 30% of requests","type":"Elevated error rates","updatedAt":"2026-12-07T01:28:50.992Z"},"title":"[P2 High] INC-2026-0002: Checkout API returning 502 for 30% of requests — resolved"}
""".strip().splitlines()]
OPENED, ACKNOWLEDGED, RESOLVED = REAL_VIEWS


def page(view, recipients=(KEY,), purpose="page", **changes):
    incident = copy.deepcopy(view["incident"])
    incident.update(channel="pagerduty", recipients=list(recipients), purpose=purpose)
    incident.update(changes)
    return incident


def send_notify(p, incident):
    """Sends a `notify` without waiting for its result (the harness's own notify waits)."""
    rid = uuid.uuid4().hex
    p._send({"type": "notify", "id": rid, "incident": incident, "message": {"title": "t", "body": "b"},
             "deadline_ms": 10000})
    return rid


def wait_result(p, rid, timeout=20):
    with p._cond:
        if not p._cond.wait_for(lambda: rid in p._results, timeout):
            raise TimeoutError("no result for %s" % rid)
        return p._results.pop(rid)


class PagerDutyNotifierTests(unittest.TestCase):
    def setUp(self):
        self.fake = FakePagerDuty()
        self.fake.start()
        self.addCleanup(self.fake.stop)

    def plugin(self, egress=None, **config):
        settings = {"url": self.fake.url, "backoff_seconds": 0.01, "timeout_seconds": 5, "channels": ["pagerduty"]}
        settings.update(config)
        return PluginProcess(PROGRAM, config=settings, egress=egress or [("127.0.0.1", self.fake.port)])

    def test_trigger_acknowledge_resolve_follow_one_incident_on_one_dedup_key(self):
        with self.plugin(routing_key=KEY) as p:
            results = [p.notify(page(OPENED)),
                       p.notify(page(ACKNOWLEDGED, purpose="assignment")),
                       p.notify(page(RESOLVED, purpose="resolution"))]
        for result in results:
            self.assertTrue(result["ok"], result["detail"])
        self.assertEqual([r["evidence"]["event_action"] for r in results], ["trigger", "acknowledge", "resolve"])
        for result in results:
            self.assertEqual(result["evidence"]["dedup_key"], "INC-2026-0002")
            self.assertEqual(result["evidence"]["status"], 202)
            self.assertEqual(result["evidence"]["pagerduty_status"], "success")
            self.assertNotIn(KEY, json.dumps(result["evidence"]), "the integration key is a secret")
        events = self.fake.events
        self.assertEqual([e["event_action"] for e in events], ["trigger", "acknowledge", "resolve"])
        self.assertEqual({e["dedup_key"] for e in events}, {"INC-2026-0002"})
        self.assertEqual({e["routing_key"] for e in events}, {KEY})
        alert = self.fake.alert("INC-2026-0002")
        self.assertEqual((alert["status"], alert["opened"], len(alert["events"])), ("resolved", 1, 3))
        self.assertEqual(self.fake.dropped, [])

        trigger = events[0]
        self.assertEqual(trigger["payload"]["summary"], "[P2 High] INC-2026-0002: Checkout API returning 502 for 30% of requests")
        self.assertEqual(trigger["payload"]["severity"], "error")
        self.assertEqual(trigger["payload"]["source"], "user-report")
        self.assertEqual(trigger["payload"]["component"], "checkout-api")
        self.assertEqual(trigger["payload"]["class"], "Elevated error rates")
        self.assertEqual(trigger["payload"]["timestamp"], "2026-12-07T01:28:41.333Z")
        details = trigger["payload"]["custom_details"]
        self.assertEqual(details["state"], "mobilised")
        self.assertEqual(details["roles"]["Incident Commander"], "dave")
        self.assertEqual(details["sla"], {"state": "running", "deadline": "2026-12-07T02:28:41.333Z",
                                          "response_time": "1 hour", "remaining_seconds": 3599})
        self.assertEqual(details["labels"], {"declared_by": "alice via root"})
        self.assertEqual(details["purpose"], "page")
        self.assertEqual(trigger["links"], [{"href": OPENED["incident"]["ack_links"][0]["url"],
                                             "text": "Acknowledge INC-2026-0002 in Vigil as dave"}])
        self.assertEqual((trigger["client"], trigger["client_url"]), ("Vigil", "https://vigil.example.com"))
        # Follow-ups carry only what PagerDuty reads from them.
        self.assertEqual(events[1], {"routing_key": KEY, "event_action": "acknowledge", "dedup_key": "INC-2026-0002"})
        self.assertEqual(events[2], {"routing_key": KEY, "event_action": "resolve", "dedup_key": "INC-2026-0002"})

    def test_a_view_already_sent_or_older_than_the_last_one_sent_is_not_sent(self):
        with self.plugin(routing_key=KEY) as p:
            first = p.notify(page(OPENED, recipients=["dave@example.org"]))
            again = p.notify(page(OPENED, recipients=["alice@example.org"]))  # the same page, another person
            resolved = p.notify(page(RESOLVED, purpose="resolution"))
            late = p.notify(page(OPENED))   # an early page retried after the resolution
        self.assertTrue(all(r["ok"] for r in (first, again, resolved, late)))
        self.assertEqual(again["evidence"]["skipped"], "already sent")
        self.assertEqual(late["evidence"]["skipped"], "stale")
        self.assertEqual([e["event_action"] for e in self.fake.events], ["trigger", "resolve"])
        self.assertEqual(self.fake.alert("INC-2026-0002")["opened"], 1, "a late trigger would open a second alert")

    def test_pages_arriving_together_are_one_event(self):
        self.fake.hold()   # PagerDuty answers the first only once all three are in the plugin
        with self.plugin(routing_key=KEY) as p:
            ids = [send_notify(p, page(OPENED, recipients=[who])) for who in ("dave@example.org", "alice@example.org", "bob@example.org")]
            self.fake.wait_for_arrivals(1)
            self.fake.release()
            results = [wait_result(p, rid) for rid in ids]
        self.assertTrue(all(r["ok"] for r in results), results)
        self.assertEqual(sorted(r["evidence"].get("skipped", "sent") for r in results), ["already sent", "already sent", "sent"])
        self.assertEqual(len(self.fake.requests), 1)

    def test_a_recipient_holding_an_integration_key_is_the_routing_key(self):
        with self.plugin(routing_key=KEY) as p:
            own = p.notify(page(OPENED, recipients=[PERSON_KEY]))
            fallback = p.notify(page(RESOLVED, recipients=["dave@example.org"]))
        self.assertTrue(own["ok"] and fallback["ok"], (own, fallback))
        # The resolution reached someone without a key of their own: it goes to the configured key
        # and, since PagerDuty drops a resolve sent with another key than the trigger's, to the key
        # the incident was triggered on.
        self.assertEqual([(e["event_action"], e["routing_key"]) for e in self.fake.events],
                         [("trigger", PERSON_KEY), ("resolve", KEY), ("resolve", PERSON_KEY)])
        self.assertEqual([d["routing_key"] for d in fallback["evidence"]["deliveries"]], ["…" + KEY[-4:], "…" + PERSON_KEY[-4:]])
        self.assertEqual(self.fake.alert("INC-2026-0002")["status"], "resolved")
        self.assertEqual(len(self.fake.dropped), 1, "the configured key's resolve: no alert there")

    def test_routing_key_from_a_file_and_a_missing_key_named(self):
        with tempfile.NamedTemporaryFile("w", suffix=".key") as handle:
            handle.write(KEY + "\nsecond line ignored\n")
            handle.flush()
            with self.plugin(routing_key_file=handle.name) as p:
                from_file = p.notify(page(OPENED, recipients=["dave@example.org"]))
        self.assertTrue(from_file["ok"], from_file["detail"])
        self.assertEqual(self.fake.events[0]["routing_key"], KEY)
        with self.plugin() as p:
            missing = p.notify(page(OPENED, recipients=["dave@example.org"]))
        self.assertFalse(missing["ok"])
        self.assertIn("config.routing_key", missing["detail"])
        self.assertTrue(missing["evidence"]["permanent"])
        with self.plugin(routing_key_file="/nonexistent/pagerduty.key") as p:
            unreadable = p.notify(page(OPENED, recipients=["dave@example.org"]))
        self.assertFalse(unreadable["ok"])
        self.assertIn("config.routing_key_file /nonexistent/pagerduty.key cannot be read", unreadable["detail"])
        self.assertEqual(len(self.fake.requests), 1)

    def test_severity_mapping(self):
        def severity(code, name=None, **config):
            return pagerduty_event.severity_for({"severity": code, "severityName": name}, config)
        self.assertEqual([severity("P%d" % n) for n in range(8)],
                         ["critical", "critical", "error", "warning", "info", "info", "info", "info"])
        self.assertEqual(severity("SEV-A", "High"), "error")
        self.assertEqual(severity("SEV-B", "Low"), "info")
        self.assertEqual(severity("X", "Whatever"), "error")
        self.assertEqual(severity("X", "Whatever", default_severity="warning"), "warning")
        self.assertEqual(severity("P3", "Medium", severity_map={"P3": "critical"}), "critical")
        self.assertEqual(severity("P2", "High", severity_map={"high": "critical"}), "critical")
        with self.assertRaisesRegex(ValueError, r"config\.severity_map\.P1 must be one of critical, error, warning, info, found 'urgent'"):
            severity("P1", severity_map={"P1": "urgent"})
        # Through the plugin, onto PagerDuty's enum.
        with self.plugin(routing_key=KEY, severity_map={"P2": "warning"}) as p:
            sent = [p.notify(page(OPENED, id="INC-%d" % n, severity=code, severityName=None))
                    for n, code in enumerate(["P0", "P2", "P4"])]
        self.assertTrue(all(r["ok"] for r in sent), sent)
        self.assertEqual([e["payload"]["severity"] for e in self.fake.events], ["critical", "warning", "info"])
        with self.plugin(routing_key=KEY, severity_map={"P1": "urgent"}) as p:
            refused = p.notify(page(OPENED))
        self.assertFalse(refused["ok"])
        self.assertIn("config.severity_map.P1", refused["detail"])
        self.assertTrue(refused["evidence"]["permanent"])

    def test_an_invalid_event_is_a_permanent_failure_with_pagerdutys_errors(self):
        with self.plugin(routing_key=KEY[:31]) as p:
            result = p.notify(page(OPENED, recipients=["dave@example.org"]))
        self.assertFalse(result["ok"])
        self.assertIn("Length of 'routing_key' is incorrect (should be 32 characters)", result["detail"])
        self.assertTrue(result["detail"].startswith("permanent: PagerDuty refused the trigger event (HTTP 400: "), result["detail"])
        self.assertEqual((result["evidence"]["status"], result["evidence"]["attempts"]), (400, 1))
        self.assertTrue(result["evidence"]["permanent"])
        self.assertEqual([r["status"] for r in self.fake.requests], [400])

    def test_429_and_5xx_are_retried_with_backoff(self):
        self.fake.fail_next(429, 2)
        self.fake.fail_next(500, 1)
        with self.plugin(routing_key=KEY) as p:
            result = p.notify(page(OPENED))
        self.assertTrue(result["ok"], result["detail"])
        self.assertEqual(result["evidence"]["attempts"], 4)
        self.assertEqual([r["status"] for r in self.fake.requests], [429, 429, 500, 202])
        self.assertEqual(len(self.fake.events), 1)

    def test_retries_stop_at_the_deadline(self):
        self.fake.fail_next(503, 1000)
        with self.plugin(routing_key=KEY, retries=1000, backoff_seconds=0.05) as p:
            started = time.monotonic()
            result = p.notify(page(OPENED), deadline_ms=1500)
            took = time.monotonic() - started
        self.assertFalse(result["ok"])
        self.assertFalse(result["evidence"]["permanent"], "the outbox may try again later")
        self.assertIn("HTTP 503", result["evidence"]["last_error"])
        self.assertLess(took, 1.6)
        self.assertGreater(result["evidence"]["attempts"], 2)

    def test_hostile_incidents_are_bounded_and_never_crash_the_plugin(self):
        hostile = page(OPENED,
                       title="\u202eevil\x1b[31m\r\nFAKE: line\x00" + "A" * 5000 + "\udc80",
                       severity={"not": "a string"}, severityName=7, type=["x"], source="\n" * 3000,
                       labels={"k%d" % n: "v" * 3000 for n in range(200)},
                       roles=["not", "a", "mapping"], roleDetails="nope", sla="late",
                       classification={"affectedComponents": [None, 3]},
                       ack_links=[{"url": "javascript:alert(1)", "person": "x"}, "junk", {"url": "https://ok.example/ack/1"}],
                       summary="s" * 100000)  # within the 1 MiB frame the daemon sends at most
        with self.plugin(routing_key=KEY) as p:
            # A small request first: the harness's reader thread changes the socket's timeout when it
            # starts, which can break a large send racing with it (BlockingIOError in harness._send).
            not_an_incident = p.notify(["not", "an", "incident"])
            result = p.notify(hostile)
            no_id = p.notify(page(OPENED, id=None))
            long_id = p.notify(page(OPENED, id="I" * 300))
            still_serving = p.notify(page(RESOLVED))
        self.assertTrue(result["ok"], result["detail"])
        event = self.fake.events[0]                      # the fake accepted it: PagerDuty's checks pass
        summary = event["payload"]["summary"]
        self.assertLessEqual(len(summary), 1024)
        self.assertFalse(any(ord(c) < 32 or 0x7f <= ord(c) <= 0x9f or c in "\u202e\udc80" for c in summary), summary[:80])
        self.assertEqual(event["payload"]["severity"], "error")
        self.assertEqual(event["payload"]["source"], "vigil", "a source of line breaks is no source")
        details = event["payload"]["custom_details"]
        self.assertEqual(len(details["labels"]), 64)
        self.assertTrue(all(len(v) <= 2048 for v in details["labels"].values()))
        self.assertLessEqual(len(details["summary"]), 2048)
        self.assertEqual([l["href"] for l in event["links"]], ["https://ok.example/ack/1"])
        self.assertLess(len(self.fake.requests[0]["body"]), 512000)
        for refused, why in ((not_an_incident, "carries no incident"), (no_id, "no id"), (long_id, "cannot be a dedup_key")):
            self.assertFalse(refused["ok"])
            self.assertIn(why, refused["detail"])
            self.assertTrue(refused["evidence"]["permanent"])
        self.assertTrue(still_serving["ok"], still_serving["detail"])

    def test_an_undeclared_destination_is_refused_by_the_broker(self):
        declared = ("127.0.0.1", 9)  # the manifest declares only another destination
        with self.plugin(routing_key=KEY, egress=[declared]) as p:
            result = p.notify(page(OPENED))
            refused, connected = list(p.refused), list(p.connected)
        self.assertFalse(result["ok"])
        self.assertIn("vigild refused 127.0.0.1:%d" % self.fake.port, result["detail"])
        self.assertTrue(result["evidence"]["permanent"])
        self.assertEqual(refused, [("127.0.0.1", self.fake.port)], "asked once: a refusal is not retried")
        self.assertEqual(connected, [])
        self.assertEqual(self.fake.requests, [])

    def test_the_fake_checks_what_pagerduty_checks(self):
        valid = {"routing_key": KEY, "event_action": "trigger", "dedup_key": "k",
                 "payload": {"summary": "s", "source": "h", "severity": "info"}}
        self.assertEqual(validate(valid), [])
        cases = {"routing_key": "x", "event_action": "snooze", "dedup_key": "d" * 256}
        for field, value in cases.items():
            self.assertTrue(validate(dict(valid, **{field: value})), field)
        for field in ("summary", "source", "severity"):
            payload = dict(valid["payload"])
            del payload[field]
            self.assertTrue(validate(dict(valid, payload=payload)), field)
        self.assertTrue(validate(dict(valid, payload=dict(valid["payload"], severity="high"))))
        self.assertTrue(validate({"routing_key": KEY, "event_action": "resolve"}))


if __name__ == "__main__":
    unittest.main()
