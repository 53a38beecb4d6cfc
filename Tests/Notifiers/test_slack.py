"""The Slack notifier (Plugins/slack) run as a real process by the harness (a stand-in for vigild,
brokering its connections) against FakeSlack (fake_slack.py), which checks requests the way Slack
does. Run: cd Tests/Notifiers && python3 -m unittest test_slack -v
"""
import copy
import hashlib
import hmac
import http.server
import json
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True  # the plugin folder is read-only in the sandbox: no __pycache__ in it
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fake_slack import DEFAULT_TOKEN, FakeSlack, check_blocks  # noqa: E402
from harness import ROOT, PluginProcess  # noqa: E402

PROGRAM = "Plugins/slack/slack_notifier.py"
DOC = os.path.join(ROOT, "Docs", "notifiers", "slack.md")
ACK_URL = "https://vigil.example.org/ack/eyJpIjoiSU5DLTIwMjYtMDA0MiIsInAiOiJhbGljZSJ9.c2lnbmF0dXJl"

# An incident view as vigild sends it in `notify` (IncidentView's keys, plus what the delivery adds).
INCIDENT = {
    "id": "INC-2026-0042", "title": "Checkout API error rate above 5%", "type": "availability",
    "summary": "5xx responses from checkout-api reached 7.3% over 5 minutes (threshold 5%).",
    "severity": "P1", "severityName": "Critical", "state": "mobilised", "source": "rule:checkout_errors",
    "occurrences": 3, "detectedAt": "2026-12-06T09:58:12Z", "createdAt": "2026-12-06T09:58:12Z",
    "updatedAt": "2026-12-06T09:58:40Z", "lastSeenAt": "2026-12-06T09:58:40Z",
    "sla": {"state": "running", "deadline": "2026-12-06T10:13:12Z", "remainingSeconds": 872,
            "responseTime": "15 minutes"},
    "escalationLevel": 0,
    "escalation": {"responder": "On-call Engineer", "path": "On-call Engineer → Engineering Manager", "level": 0,
                   "upcoming": [{"level": 1, "step": "Engineering Manager", "person": "bob",
                                 "due": "2026-12-06T10:13:12Z"}]},
    "classification": {"impact": "major", "serviceImpact": "partial outage",
                       "affectedComponents": ["checkout-api", "payments"], "initialTeam": ["oncall"], "rationale": []},
    "roles": {"incident_commander": "alice"},
    "roleDetails": [{"role": "incident_commander", "roleName": "Incident Commander", "person": "alice",
                     "personName": "Alice Martin"}],
    "labels": {"service": "checkout-api"},
    "statusUpdates": {"cadence": "30 minutes", "nextDue": "2026-12-06T10:28:12Z"},
    "recipients": ["#incidents"], "channel": "slack", "notification_id": 101, "purpose": "page",
    "ack_links": [{"person": "alice", "url": ACK_URL, "expires_at": "2026-12-07T09:58:40Z"}],
}
TITLE = "[P1 Critical] INC-2026-0042: Checkout API error rate above 5% — you are Incident Commander"
BODY = ("Checkout API error rate above 5%: 5xx responses from checkout-api reached 7.3% over 5 minutes.\n"
        "Respond within 15 minutes.\n\nAcknowledge as alice: " + ACK_URL)


def incident(**changes):
    view = copy.deepcopy(INCIDENT)
    view.update(changes)
    return view


def strings(value, skip=("url", "image_url")):
    """Every string in a block structure except URLs."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from strings(v, skip)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in skip:
                yield from strings(v, skip)


def buttons(message):
    return {e.get("action_id"): e for b in message["blocks"] or [] if b["type"] == "actions" for e in b["elements"]}


class SlackNotifierTests(unittest.TestCase):
    def setUp(self):
        self.slack = FakeSlack()
        self.slack.start()
        self.addCleanup(self.slack.stop)
        self.data = tempfile.mkdtemp(prefix="vigil-slack-test-")
        self.addCleanup(shutil.rmtree, self.data, True)

    def plugin(self, egress=None, **config):
        settings = {"bot_token": DEFAULT_TOKEN, "api_url": self.slack.api_url, "pace_seconds": 0, "channels": ["slack", "chat"]}
        settings.update(config)
        settings = {k: v for k, v in settings.items() if v is not None}
        return PluginProcess(PROGRAM, config=settings, data_dir=self.data,
                             egress=egress if egress is not None else [("127.0.0.1", self.slack.port)])

    def notify(self, p, view, title=TITLE, body=BODY, deadline_ms=10000):
        result = p.notify(view, title=title, body=body, deadline_ms=deadline_ms)
        self.assertEqual(p.refused, [])
        return result

    # -- threads -------------------------------------------------------------------------------

    def test_first_page_posts_a_root_with_buttons(self):
        with self.plugin() as p:
            result = self.notify(p, incident())
        self.assertTrue(result["ok"], result["detail"])
        evidence = result["evidence"]
        self.assertEqual((evidence["mode"], evidence["channel"], evidence["thread_ts"]), ("web_api", "C0INCIDENTS", None))
        [root] = self.slack.messages
        self.assertEqual((root["ts"], root["thread_ts"], root["via"]), (evidence["ts"], None, "api"))
        self.assertIn("INC-2026-0042", root["text"])
        self.assertEqual(root["blocks"][0]["type"], "header")
        found = buttons(root)
        self.assertEqual(found["vigil_acknowledge"]["value"], "INC-2026-0042")
        self.assertEqual(found["vigil_resolve"]["value"], "INC-2026-0042")
        self.assertIn("confirm", found["vigil_resolve"])
        self.assertNotIn("vigil_view", found, "a person's signed link is not shown to a channel")
        self.assertNotIn(ACK_URL, json.dumps(root["request"]))
        self.assertEqual(self.slack.requests[0]["warnings"], [], "JSON with charset=utf-8, as Slack asks")
        facts = json.dumps(root["blocks"])
        for fact in ("Response SLA", "14 min left", "checkout-api, payments", "Engineering Manager",
                     "Alice Martin", "partial outage"):
            self.assertIn(fact, facts)

    def test_second_notification_is_a_threaded_reply_and_the_root_is_updated(self):
        with self.plugin() as p:
            first = self.notify(p, incident())
            escalated = incident(notification_id=102, purpose="escalation", escalationLevel=1)
            second = self.notify(p, escalated, title="[P1 Critical] INC-2026-0042: escalated to Engineering Manager",
                                 body="Nobody acknowledged within 15 minutes.")
        self.assertTrue(second["ok"], second["detail"])
        root_ts = first["evidence"]["ts"]
        self.assertEqual(second["evidence"]["thread_ts"], root_ts)
        self.assertTrue(second["evidence"]["root_updated"])
        root, reply = self.slack.messages
        self.assertEqual((reply["thread_ts"], reply["ts"]), (root_ts, second["evidence"]["ts"]))
        self.assertTrue(reply["reply_broadcast"], "escalations are shown in the channel too")
        self.assertIn("Nobody acknowledged", json.dumps(reply["blocks"]))
        [update] = self.slack.updates
        self.assertEqual((update["channel"], update["ts"]), ("C0INCIDENTS", root_ts))
        self.assertIn("escalated to Engineering Manager", json.dumps(root["blocks"]))
        self.assertIn("vigil_acknowledge", buttons(root), "still unacknowledged: the buttons stay")

    def test_acknowledged_incident_loses_its_buttons(self):
        with self.plugin() as p:
            self.notify(p, incident())
            acked = incident(notification_id=102, purpose="assignment", acknowledgedAt="2026-12-06T10:01:02Z",
                             sla={"state": "met", "responseTime": "15 minutes"})
            acked.pop("ack_links")
            result = self.notify(p, acked, title="INC-2026-0042 acknowledged by alice", body="alice is on it.")
            self.assertTrue(result["evidence"]["root_updated"])
            root = self.slack.messages[0]
            self.assertEqual(buttons(root), {})
            self.assertIn("acknowledged", root["text"])
            resolved = incident(notification_id=103, purpose="resolution", state="resolved",
                                acknowledgedAt="2026-12-06T10:01:02Z", resolvedAt="2026-12-06T10:40:00Z",
                                resolution={"summary": "Rolled back release 2026.12.6-1.", "verification": "ok",
                                            "actions": [], "resolvedBy": "alice"})
            self.notify(p, resolved, title="INC-2026-0042 resolved", body="Rolled back.")
        root = self.slack.messages[0]
        self.assertEqual(buttons(root), {})
        self.assertIn(":white_check_mark:", root["blocks"][0]["text"]["text"])
        self.assertIn("Rolled back release", json.dumps(root["blocks"]))
        self.assertEqual(len(self.slack.updates), 2)

    def test_direct_message_to_a_user_threads_in_the_dm_and_carries_the_ack_link(self):
        with self.plugin() as p:
            first = self.notify(p, incident(recipients=["U0ALICE"]))
            second = self.notify(p, incident(recipients=["U0ALICE"], notification_id=102, purpose="status-reminder"),
                                 title="Status update due", body="Post a status update.")
        self.assertEqual(first["evidence"]["channel"], "D0ALICE")
        self.assertEqual(second["evidence"]["thread_ts"], first["evidence"]["ts"])
        root = self.slack.messages[0]
        self.assertEqual(buttons(root)["vigil_view"]["url"], ACK_URL)
        self.assertFalse(self.slack.messages[1]["reply_broadcast"])

    def test_console_url_gives_every_message_a_view_button(self):
        with self.plugin(console_url="https://vigil.example.org/incidents/{id}") as p:
            self.notify(p, incident())
        self.assertEqual(buttons(self.slack.messages[0])["vigil_view"]["url"],
                         "https://vigil.example.org/incidents/INC-2026-0042")

    def test_thread_survives_a_plugin_restart(self):
        with self.plugin() as p:
            first = self.notify(p, incident())
        with open(os.path.join(self.data, "threads.json")) as f:
            self.assertEqual(json.load(f)["incidents"]["INC-2026-0042"]["#incidents"]["ts"], first["evidence"]["ts"])
        with self.plugin() as p:
            second = self.notify(p, incident(notification_id=102), title="Still failing", body="7.9% now.")
        self.assertEqual(second["evidence"]["thread_ts"], first["evidence"]["ts"])
        self.assertEqual([u["ts"] for u in self.slack.updates], [first["evidence"]["ts"]])

    def test_a_deleted_root_starts_a_new_thread(self):
        with self.plugin() as p:
            self.notify(p, incident())
            with self.slack._cond:
                self.slack.messages.clear()  # someone deleted the root in Slack
            result = self.notify(p, incident(notification_id=102))
        self.assertTrue(result["ok"], result["detail"])
        self.assertIsNone(result["evidence"]["thread_ts"])
        self.assertEqual([r["error"] for r in self.slack.calls("chat.postMessage")], [None, "thread_not_found", None])

    def test_a_retried_notification_is_posted_once_per_recipient(self):
        view = incident(recipients=["#incidents", "#payments"])
        with self.plugin() as p:
            first = self.notify(p, view)
            self.assertFalse(first["ok"])
            self.assertTrue(first["evidence"]["permanent"])
            self.assertIn("channel_not_found", first["detail"])
            self.slack.add_channel("payments")
            again = self.notify(p, view)  # vigild retries the same notification
        self.assertTrue(again["ok"], again["detail"])
        self.assertTrue(again["evidence"]["messages"][0]["already_posted"])
        self.assertEqual([m["channel"] for m in self.slack.messages], ["C0INCIDENTS", self.slack.messages[1]["channel"]])
        self.assertEqual(len(self.slack.messages), 2)

    def test_thread_book_is_bounded(self):
        with self.plugin(max_incidents=3) as p:
            for n in range(5):
                self.assertTrue(self.notify(p, incident(id="INC-2026-%04d" % n, notification_id=n + 1))["ok"])
        with open(os.path.join(self.data, "threads.json")) as f:
            self.assertEqual(sorted(json.load(f)["incidents"]), ["INC-2026-0002", "INC-2026-0003", "INC-2026-0004"])

    # -- incoming webhook ------------------------------------------------------------------------

    def test_webhook_mode_posts_the_card(self):
        with self.plugin(bot_token=None, api_url=None, webhook_url=self.slack.webhook_url, webhook_channel="#incidents") as p:
            result = self.notify(p, incident())
            self.assertTrue(result["ok"], result["detail"])
            self.assertEqual(result["evidence"], {"mode": "webhook", "channel": "#incidents", "ts": None, "thread_ts": None})
            [message] = self.slack.messages
            self.assertEqual((message["via"], message["channel"]), ("webhook", "C0INCIDENTS"))
            self.assertIn("vigil_acknowledge", buttons(message))
            self.assertTrue(message["text"])

    def test_webhook_errors_are_permanent(self):
        with self.plugin(bot_token=None, webhook_url=self.slack.base_url + "/services/T0/B0/revoked") as p:
            result = self.notify(p, incident())
        self.assertFalse(result["ok"])
        self.assertEqual((result["evidence"]["error"], result["evidence"]["permanent"]), ("no_service", True))
        self.assertEqual(len(self.slack.calls("webhook")), 1, "a permanent error is not retried")

    # -- failures and rate limits ------------------------------------------------------------------

    def test_invalid_token_fails_permanently_at_once(self):
        with self.plugin(bot_token="xoxb-revoked-token") as p:
            result = self.notify(p, incident())
        self.assertFalse(result["ok"])
        self.assertIn("invalid_auth", result["detail"])
        self.assertTrue(result["evidence"]["permanent"])
        self.assertEqual([r["error"] for r in self.slack.requests], ["invalid_auth"])

    def test_bot_not_in_channel_fails_permanently(self):
        self.slack.add_channel("private-ops", member=False)
        with self.plugin() as p:
            result = self.notify(p, incident(recipients=["#private-ops"]))
        self.assertFalse(result["ok"])
        self.assertEqual(result["evidence"]["errors"][0]["error"], "not_in_channel")
        self.assertTrue(result["evidence"]["permanent"])

    def test_rate_limit_retry_after_is_waited_out(self):
        self.slack.set_rate_limit(retry_after=1, calls=1, methods=["chat.postMessage"])
        with self.plugin() as p:
            result = self.notify(p, incident())
        self.assertTrue(result["ok"], result["detail"])
        limited, accepted = self.slack.calls("chat.postMessage")
        self.assertEqual((limited["status"], accepted["status"]), (429, 200))
        self.assertGreaterEqual(accepted["time"] - limited["time"], 1.0)

    def test_rate_limit_beyond_the_deadline_fails_in_time(self):
        self.slack.set_rate_limit(retry_after=30, calls=1)
        with self.plugin() as p:
            started = time.monotonic()
            result = self.notify(p, incident(), deadline_ms=2000)
            elapsed = time.monotonic() - started
        self.assertFalse(result["ok"])
        self.assertFalse(result["evidence"]["permanent"])
        self.assertEqual(result["evidence"]["retry_after"], 30)
        self.assertIn("Retry-After 30", result["detail"])
        self.assertLess(elapsed, 2.0, "answered before vigild's deadline")

    def test_posts_to_one_channel_are_paced_other_channels_are_not(self):
        self.slack.add_channel("ops")
        with self.plugin(pace_seconds=1) as p:
            for n, channel in enumerate(["#incidents", "#ops", "#incidents"]):
                result = self.notify(p, incident(id="INC-2026-%04d" % n, recipients=[channel], notification_id=n + 1))
                self.assertTrue(result["ok"], result["detail"])
        first, other, second = [c["time"] for c in self.slack.calls("chat.postMessage")]
        self.assertLess(other - first, 0.5)
        self.assertGreaterEqual(second - first, 0.95)

    def test_undeclared_destination_is_refused_by_the_broker(self):
        with self.plugin(egress=[("slack.com", 443), ("hooks.slack.com", 443)]) as p:
            result = p.notify(incident(), title=TITLE, body=BODY)
            self.assertEqual(p.refused, [("127.0.0.1", self.slack.port)])
            self.assertEqual(p.connected, [])
        self.assertFalse(result["ok"])
        self.assertIn("not declared", result["detail"])
        self.assertTrue(result["evidence"]["permanent"])
        self.assertEqual(self.slack.requests, [])

    def test_configuration_errors_name_the_field(self):
        with self.plugin(pace_seconds="fast") as p:
            result = self.notify(p, incident())
        self.assertFalse(result["ok"])
        self.assertIn("config.pace_seconds", result["detail"])
        token_file = os.path.join(self.data, "slack-bot-token")
        with self.plugin(bot_token=None, bot_token_file=token_file) as p:
            missing = self.notify(p, incident())
            self.assertIn("config.bot_token_file: cannot read %s" % token_file, missing["detail"])
            with open(token_file, "w") as f:
                f.write(DEFAULT_TOKEN + "\n")
            self.assertTrue(self.notify(p, incident())["ok"], "the token file is read when it appears")

    # -- hostile text --------------------------------------------------------------------------------

    def test_hostile_text_is_escaped_and_bounded(self):
        evil = "<!channel> <https://evil.example|click here> & <@U0BOSS> \u202e\x07"
        view = incident(title=evil * 20, summary=(evil + "x" * 500) * 40, severityName=evil,
                        classification={"affectedComponents": [evil] * 300, "serviceImpact": evil * 100},
                        roleDetails=[{"roleName": evil, "personName": evil}] * 50, source={"not": "text"},
                        escalation={"responder": evil, "level": "<!here>", "upcoming": [{"step": evil, "due": 5}]})
        with self.plugin() as p:
            # Far past Slack's limits, yet a frame (~110 KB) that fits the socket buffer whole: a
            # larger first write can race the harness's reader thread switching the socket to
            # blocking mode (EAGAIN from sendall), a harness matter reported separately.
            result = self.notify(p, view, title=evil * 100, body=(evil + "\n") * 600)
            self.assertTrue(result["ok"], result["detail"])
            reply = self.notify(p, dict(view, notification_id=102), title=evil * 100, body=evil * 600)
            self.assertTrue(reply["ok"], reply["detail"])
        for message in self.slack.messages:
            self.assertEqual(check_blocks(message["blocks"]), [])
            self.assertLessEqual(len(message["text"]), 3000)
            for text in list(strings(message["blocks"])) + [message["text"]]:
                self.assertNotIn("<", text)
                self.assertNotIn(">", text)
                self.assertNotIn("\u202e", text)
                self.assertIsNone(re.search(r"&(?!amp;|lt;|gt;)", text), "every & is an entity: %r" % text[:80])
        self.assertIn("&lt;!channel&gt;", self.slack.messages[0]["text"])
        self.assertLessEqual(len(self.slack.messages[0]["blocks"][0]["text"]["text"]), 150)

    def test_any_incident_shape_renders_blocks_slack_accepts(self):
        sys.path.insert(0, os.path.join(ROOT, "Plugins", "slack"))
        import slack_message
        rng = random.Random(18)
        atoms = [None, True, 0, -1, 1e308, float("inf"), float("nan"), 10 ** 400, "", "x" * 5000, "<!here>&", "\u202e\x00", [], {}, ["a", 1], {"a": "b"}]

        def value(depth=0):
            if depth < 2 and rng.random() < 0.3:
                return {k: value(depth + 1) for k in rng.sample(sorted(INCIDENT), rng.randint(0, 5))}
            if depth < 2 and rng.random() < 0.2:
                return [value(depth + 1) for _ in range(rng.randint(0, 4))]
            return rng.choice(atoms)

        for _ in range(300):
            view = {k: (value() if rng.random() < 0.5 else v) for k, v in INCIDENT.items()}
            title, body = rng.choice(atoms), rng.choice(atoms)
            title, body = slack_message.text_of(title), slack_message.text_of(body)
            for message in (slack_message.card(view, title, body, rng.choice([None, ACK_URL]), rng.choice([None, "7"])),
                            slack_message.reply(view, title, body, "8"), slack_message.plain(title, body)):
                self.assertEqual(check_blocks(message["blocks"]), [], json.dumps(view)[:300])
                self.assertTrue(message["text"])
                self.assertLessEqual(len(message["text"]), 3000)

    # -- the fake itself and the docs ----------------------------------------------------------

    def test_fake_checks_what_slack_checks(self):
        def call(method, body, token=DEFAULT_TOKEN, content_type="application/json; charset=utf-8"):
            headers = {"Content-Type": content_type}
            if token:
                headers["Authorization"] = "Bearer " + token
            request = urllib.request.Request(self.slack.api_url + "/" + method, data=json.dumps(body).encode(),
                                             headers=headers, method="POST")
            with urllib.request.urlopen(request, timeout=5) as answer:
                return json.loads(answer.read())

        ok = {"channel": "#incidents", "text": "hi"}
        self.assertEqual(call("chat.postMessage", ok, token=None)["error"], "not_authed")
        self.assertEqual(call("chat.postMessage", ok, token="xoxb-other")["error"], "invalid_auth")
        self.assertEqual(call("chat.postMessage", ok, content_type="text/xml")["error"], "invalid_post_type")
        self.assertEqual(call("chat.postMessage", ok, content_type="application/json")["warning"], "missing_charset")
        self.assertEqual(call("chat.postMessage", {"text": "hi"})["error"], "invalid_arguments")
        self.assertEqual(call("chat.postMessage", {"channel": "#nowhere", "text": "hi"})["error"], "channel_not_found")
        self.assertEqual(call("chat.postMessage", {"channel": "#incidents"})["error"], "no_text")
        self.assertEqual(call("chat.postMessage", dict(ok, thread_ts="1.000001"))["error"], "thread_not_found")
        self.assertEqual(call("chat.update", {"channel": "C0INCIDENTS", "ts": "1.1", "text": "x"})["error"], "message_not_found")
        too_many = dict(ok, blocks=[{"type": "divider"}] * 51)
        self.assertEqual(call("chat.postMessage", too_many)["error"], "invalid_blocks")
        long_header = dict(ok, blocks=[{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}])
        answer = call("chat.postMessage", long_header)
        self.assertEqual(answer["error"], "invalid_blocks")
        self.assertIn("[json-pointer:/blocks/0/text/text]", answer["response_metadata"]["messages"][0])
        button = {"type": "button", "text": {"type": "plain_text", "text": "b"}, "action_id": "a", "value": "v" * 2001}
        self.assertEqual(call("chat.postMessage", dict(ok, blocks=[{"type": "actions", "elements": [button]}]))["error"],
                         "invalid_blocks")
        self.assertEqual(call("chat.postMessage", dict(ok, blocks=[{"type": "sektion"}]))["error"], "invalid_blocks")

    def test_fake_signs_button_presses_as_slack_does(self):
        with self.plugin() as p:
            self.notify(p, incident())
        payload = self.slack.block_actions(self.slack.messages[0], "vigil_acknowledge", "U0ALICE")
        self.assertEqual((payload["type"], payload["user"]["id"], payload["actions"][0]["value"]),
                         ("block_actions", "U0ALICE", "INC-2026-0042"))
        received = []

        class Receiver(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                received.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=server.handle_request, daemon=True).start()
        url = "http://127.0.0.1:%d/api/v1/callbacks/slack" % server.server_address[1]
        status, _ = self.slack.press(url, "s3cret", self.slack.messages[0], "vigil_resolve", "U0BOB", timestamp=1800000000)
        server.server_close()
        self.assertEqual(status, 200)
        [(headers, body)] = received
        self.assertEqual(headers["X-Slack-Request-Timestamp"], "1800000000")
        expected = hmac.new(b"s3cret", b"v0:1800000000:" + body, hashlib.sha256).hexdigest()
        self.assertEqual(headers["X-Slack-Signature"], "v0=" + expected)
        sent = json.loads(urllib.parse.parse_qs(body.decode())["payload"][0])
        self.assertEqual((sent["actions"][0]["action_id"], sent["user"]["id"]), ("vigil_resolve", "U0BOB"))
        # Slack's documented example: secret 8f742231b10e8888abcd99yyyzzz85a5, timestamp 1531420618.
        body = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
                b"channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
                b"response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
                b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
        self.assertEqual(FakeSlack.sign("8f742231b10e8888abcd99yyyzzz85a5", 1531420618, body),
                         "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")

    def test_docs_example_is_what_the_plugin_sends(self):
        with open(DOC) as f:
            doc = f.read()
        match = re.search(r"<!-- example: chat.postMessage -->\s*```json\n(.*?)\n```", doc, re.S)
        self.assertIsNotNone(match, "Docs/notifiers/slack.md keeps the example after its marker")
        with self.plugin() as p:
            self.notify(p, incident())
        self.assertEqual(self.slack.messages[0]["request"], json.loads(match.group(1)))


if __name__ == "__main__":
    unittest.main()
