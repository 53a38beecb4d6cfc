"""The notifiers through the real vigild: plugins in their sandbox reaching receivers only through
the daemon's egress broker, Slack's buttons and PagerDuty's webhooks coming back through the
daemon's HTTP server, and a dead receiver delaying nobody.

Run after `swift build` (make test builds first), as root: `cd Tests/Notifiers && python3 -m unittest test_daemon_notifiers -v`.
"""
import hashlib
import hmac
import json
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon as vigild  # noqa: E402
from daemon import Daemon, eventually  # noqa: E402
from fake_pagerduty import FakePagerDuty  # noqa: E402
from fake_slack import FakeSlack  # noqa: E402

try:
    from aiosmtpd.controller import Controller
except ImportError:  # pyenv's python: Debian's package is beside the system python
    sys.path.append("/usr/lib/python3/dist-packages")
    from aiosmtpd.controller import Controller

SKIP = vigild.available()
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PD_SECRET = "pd-webhook-secret-for-the-test"
ROUTING_KEY = "R0123456789abcdef0123456789abcde"  # 32 characters, like an integration key
CALLBACKS_OFF = ("  # callbacks:\n  #   slack: { signing_secret_file: /etc/vigil/slack-signing-secret }\n"
                 "  #   pagerduty: { webhook_secret_file: /etc/vigil/pagerduty-webhook-secret }\n")
CALLBACKS_ON = ("  callbacks:\n    slack: { signing_secret: \"%s\" }\n    pagerduty: { webhook_secret: \"%s\" }\n"
                % (SLACK_SECRET, PD_SECRET))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def grant(name, egress):
    """The (old, new) edit of the shipped grant of `name` to allow `egress`."""
    shipped = {
        "webhook": '      webhook: { networks: [brokered], egress: ["127.0.0.1:*", "localhost:*"] }',
        "email": '      email: { networks: [none, brokered], egress: ["*:25", "*:465", "*:587"] }',
        "slack": '      slack: { networks: [brokered], egress: ["slack.com:443", "hooks.slack.com:443"] }',
        "pagerduty": '      pagerduty: { networks: [brokered], egress: ["events.pagerduty.com:443", "events.eu.pagerduty.com:443"] }',
    }[name]
    return shipped, "      %s: { networks: [brokered], egress: %s }" % (name, json.dumps(egress))


def declare(d, title, severity="P1"):
    return d.vigil("incidents", "declare", "--title", title, "--severity", severity, "--json")["id"]


@unittest.skipIf(SKIP, SKIP or "")
class SlackThroughTheDaemonTests(unittest.TestCase):
    def test_a_signed_button_press_acknowledges_as_the_mapped_person_and_forgeries_change_nothing(self):
        slack = FakeSlack()
        base = slack.start()
        port = int(base.rsplit(":", 1)[1])
        try:
            with Daemon(plugins={"slack": {"config": {"channels": ["slack"], "api_url": base + "/api", "mode": "web_api",
                                                      "bot_token": slack.token},
                                           "sandbox": {"egress": ["127.0.0.1:%d" % port]}}},
                        replace=[grant("slack", ["127.0.0.1:*"]), (CALLBACKS_OFF, CALLBACKS_ON),
                                 ("contacts: { email: alice@example.org }", "contacts: { slack: U0ALICE, email: alice@example.org }"),
                                 ("contacts: { email: dave@example.org }", "contacts: { slack: U0DAVE, email: dave@example.org }")]) as d:
                self.assertTrue(eventually(lambda: d.plugin_running("slack"), 60), d.log()[-3000:])
                incident = declare(d, "payments API down")
                # The page: a direct message to a person with Acknowledge/Resolve buttons for this incident.
                message = eventually(lambda: next((m for m in slack.messages if incident in json.dumps(m.get("blocks"))
                                                   and "vigil_acknowledge" in json.dumps(m.get("blocks"))), None), 20)
                self.assertIsNotNone(message, d.log()[-3000:])
                url = d.url + "/api/v1/callbacks/slack"

                # Forged: the wrong secret, a stale timestamp, an unmapped user — nothing changes.
                status, _ = slack.press(url, "not-the-secret", message, "vigil_acknowledge", "U0ALICE")
                self.assertEqual(status, 401)
                status, _ = slack.press(url, SLACK_SECRET, message, "vigil_acknowledge", "U0ALICE", timestamp=time.time() - 360)
                self.assertEqual(status, 401)
                status, _ = slack.press(url, SLACK_SECRET, message, "vigil_acknowledge", "U0MALLORY")
                self.assertEqual(status, 200)
                self.assertFalse(d.incident(incident).get("acknowledged_at"), "a refused press acknowledged the incident")

                # Genuine: alice's press acknowledges the incident as alice.
                payload = slack.block_actions(message, "vigil_acknowledge", "U0ALICE")
                stamp = int(time.time())
                status, body = slack.press(url, SLACK_SECRET, message, "vigil_acknowledge", "U0ALICE", timestamp=stamp, payload=payload)
                self.assertEqual(status, 200, body)
                shown = eventually(lambda: (lambda i: i if i.get("acknowledged_at") else None)(d.incident(incident)), 10)
                self.assertIsNotNone(shown)
                timeline = d.vigil("incidents", "timeline", incident)
                self.assertRegex(timeline, r"(?i)acknowledged by alice.*slack")
                # The same press again (a replay) is refused.
                status, _ = slack.press(url, SLACK_SECRET, message, "vigil_acknowledge", "U0ALICE", timestamp=stamp, payload=payload)
                self.assertEqual(status, 401)
                # Each refusal is logged with its reason.
                log = d.log()
                self.assertIn("the signature does not match the body", log)
                self.assertIn("360 s old, more than the 300 s allowed", log)
                self.assertIn("U0MALLORY", log)
                self.assertIn("already accepted (replay)", log)
        finally:
            slack.stop()


@unittest.skipIf(SKIP, SKIP or "")
class PagerDutyThroughTheDaemonTests(unittest.TestCase):
    def test_events_follow_the_incident_and_pagerdutys_webhook_acknowledges_it(self):
        pd = FakePagerDuty()
        url = pd.start()
        port = int(url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
        try:
            with Daemon(plugins={"pagerduty": {"config": {"url": url, "routing_key": ROUTING_KEY, "retries": 2,
                                                          "backoff_seconds": 0.1},
                                               "sandbox": {"egress": ["127.0.0.1:%d" % port]}}},
                        replace=[grant("pagerduty", ["127.0.0.1:*"]), (CALLBACKS_OFF, CALLBACKS_ON),
                                 ("  # mirrors:\n  #   - { channel: pagerduty, recipient: default, min_severity: P2 }\n",
                                  "  mirrors:\n    - { channel: pagerduty, recipient: default, min_severity: P2 }\n")]) as d:
                self.assertTrue(eventually(lambda: d.plugin_running("pagerduty"), 60), d.log()[-3000:])
                incident = declare(d, "database primary lost")

                def actions(key):
                    return [e["event_action"] for e in pd.events if e.get("dedup_key") == key]

                self.assertTrue(eventually(lambda: "trigger" in actions(incident), 20), d.log()[-3000:])
                trigger = next(e for e in pd.events if e.get("dedup_key") == incident)
                self.assertEqual(trigger["routing_key"], ROUTING_KEY)
                self.assertEqual(trigger["payload"]["severity"], "critical")
                d.vigil("incidents", "ack", incident, "--as", "alice")
                self.assertTrue(eventually(lambda: "acknowledge" in actions(incident), 20), actions(incident))
                d.vigil("incidents", "resolve", incident, "--summary", "failed over", "--verification", "replica promoted",
                        "--force", check=False)
                resolved = eventually(lambda: "resolve" in actions(incident), 5)
                if not resolved:
                    # Walk the lifecycle to validating, then resolve (the seed's gate).
                    for state in ("containing", "contained", "investigating", "remediating", "recovering", "validating"):
                        d.vigil("incidents", "transition", incident, state, "--reason", "test", check=False)
                    d.vigil("incidents", "resolve", incident, "--summary", "failed over", "--verification", "replica promoted",
                            check=False)
                    resolved = eventually(lambda: "resolve" in actions(incident), 20)
                self.assertTrue(resolved, "%s\n%s" % (actions(incident), d.vigil("incidents", "timeline", incident)))
                # One dedup_key throughout, in order.
                self.assertEqual([a for a in actions(incident) if a in ("trigger", "acknowledge", "resolve")][-1], "resolve")
                self.assertLess(actions(incident).index("trigger"), actions(incident).index("acknowledge"))

                # PagerDuty says a second incident was acknowledged there: so is Vigil's.
                second = declare(d, "cache cluster down")
                self.assertTrue(eventually(lambda: "trigger" in actions(second), 20))
                event = {"event": {"id": "01DEN7PZ3U0A9EXAMPLE", "event_type": "incident.acknowledged",
                                   "resource_type": "incident", "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                   "agent": {"id": "PUSER01", "type": "user_reference", "summary": "Pat Oncall"},
                                   "data": {"id": "Q0PDINCIDENT", "type": "incident", "incident_key": second,
                                            "title": "cache cluster down", "status": "acknowledged"}}}
                body = json.dumps(event).encode()
                signature = "v1=" + hmac.new(PD_SECRET.encode(), body, hashlib.sha256).hexdigest()
                forged = "v1=" + hmac.new(b"wrong", body, hashlib.sha256).hexdigest()
                status, _ = d.post("/api/v1/callbacks/pagerduty", body, {"Content-Type": "application/json",
                                                                         "X-PagerDuty-Signature": forged})
                self.assertEqual(status, 401)
                self.assertFalse(d.incident(second).get("acknowledged_at"))
                status, answer = d.post("/api/v1/callbacks/pagerduty", body, {"Content-Type": "application/json",
                                                                              "X-PagerDuty-Signature": signature})
                self.assertEqual(status, 200, answer)
                self.assertTrue(eventually(lambda: d.incident(second).get("acknowledged_at"), 10))
        finally:
            pd.stop()


class _Recorder:
    """aiosmtpd handler: each accepted message with when it was accepted."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append({"time": time.time(), "to": list(envelope.rcpt_tos),
                                  "data": envelope.content.decode("utf-8", "replace")})
        return "250 OK"


@unittest.skipIf(SKIP, SKIP or "")
class DeadReceiverTests(unittest.TestCase):
    def test_a_dead_webhook_first_delays_no_email_and_ends_in_a_notification_failure_incident(self):
        recorder = _Recorder()
        smtp_port, dead_port = free_port(), free_port()
        controller = Controller(recorder, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        try:
            with Daemon(plugins={
                    "email": {"config": {"transport": "smtp", "host": "127.0.0.1", "port": smtp_port, "security": "none",
                                         "from": "Vigil <vigil@example.org>"},
                              "sandbox": {"network": "brokered", "egress": ["127.0.0.1:%d" % smtp_port]}},
                    "webhook": {"config": {"url": "http://127.0.0.1:%d/dead" % dead_port},
                                "sandbox": {"egress": ["127.0.0.1:%d" % dead_port]}}},
                    replace=[grant("email", ["127.0.0.1:*"]),
                             # alice: the dead webhook first, then email; dave: only the dead webhook.
                             ("      contacts: { email: alice@example.org }",
                              "      contacts: { webhook: alice-hook, email: alice@example.org }\n      contact_order: [webhook, email]"),
                             ("contacts: { email: dave@example.org }", "contacts: { webhook: dave-hook }"),
                             ("  retry: { initial: 2 seconds, maximum: 5 minutes, attempts: 12 }",
                              "  retry: { initial: 200 milliseconds, maximum: 1 second, attempts: 3 }"),
                             # Whatever the week: alice holds the primary rotation (commander) and
                             # dave, the api specialist, is the technical lead of an api incident.
                             ("  overrides: []\n", "  overrides:\n    - { rotation: primary, person: alice, "
                              "from: 2026-01-01T00:00:00Z, until: 2036-01-01T00:00:00Z }\n")]) as d:
                self.assertTrue(eventually(lambda: d.plugin_running("email") and d.plugin_running("webhook"), 60),
                                d.log()[-3000:])
                started = time.time()
                incident = d.vigil("incidents", "declare", "--title", "checkout is down", "--severity", "P1",
                                   "--component", "api", "--json")["id"]
                # alice's email for this incident (the daemon's own notification-failure incident
                # about dave may reach her mailbox first: both race through the same outbox).
                header = "X-Vigil-Incident: %s\r\n" % incident
                mail = eventually(lambda: next((m for m in list(recorder.messages)
                                                if "alice@example.org" in m["to"] and header in m["data"]), None), 10)
                self.assertIsNotNone(mail, d.log()[-3000:])
                # The email went on the webhook's first failure (a refused connection is final).
                timeline = d.vigil("incidents", "timeline", incident)
                self.assertIn("webhook notification to alice failed 1 attempt(s)", timeline)
                self.assertIn("falling back to email alice@example.org", timeline)
                self.assertLess(mail["time"] - started, 5.0, "the email left %.2f s after the declaration" % (mail["time"] - started))

                # dave could be told no way: the daemon's own incident names him.
                def failure():
                    listed = d.vigil("incidents", "list", "--json")
                    items = listed if isinstance(listed, list) else listed.get("incidents", [])
                    return next((i for i in items if (i.get("type") or "") == "Notification failure"), None)

                found = eventually(failure, 30)
                self.assertIsNotNone(found, d.vigil("incidents", "timeline", incident))
                timeline = d.vigil("incidents", "timeline", found["id"])
                self.assertIn("dave", timeline)
                self.assertIn(incident, timeline)
        finally:
            controller.stop()


if __name__ == "__main__":
    unittest.main()
