"""The email notifier (Plugins/email) against a real SMTP server (aiosmtpd) and its Maildir spool.

The plugin runs as a real process under harness.PluginProcess (fd 3 protocol, fd 5 brokered
egress answered only for declared destinations). Certificates are made here with `openssl req`.

    cd Tests/Notifiers && python3 -m unittest test_email -v

Needs the Debian package python3-aiosmtpd.
"""
import asyncio
import email
import email.policy
import html
import logging
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult
except ImportError:
    # Debian installs python3-aiosmtpd for its own interpreter; a python3 earlier on PATH
    # (pyenv, a venv) finds it there too.
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult
    except ImportError:
        raise ImportError("these tests need aiosmtpd: apt-get install -y python3-aiosmtpd")

from harness import ROOT, PluginProcess

PLUGIN = "Plugins/email/email_notifier.py"
USER, PASSWORD = "vigil", "correct horse"
logging.getLogger("mail.log").setLevel(logging.CRITICAL)

CERTS = None


def setUpModule():
    global CERTS
    # The harness leaves its broker socket and the plugin's stderr pipe to the garbage collector
    # (set here: unittest's runner resets the filters before it runs the module).
    warnings.filterwarnings("ignore", category=ResourceWarning)
    # The implicit-TLS server authenticates inside TLS, which aiosmtpd does not recognise.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    CERTS = tempfile.mkdtemp(prefix="vigil-email-certs-")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", os.path.join(CERTS, "key.pem"), "-out", os.path.join(CERTS, "cert.pem")],
                   check=True, capture_output=True)


def tearDownModule():
    shutil.rmtree(CERTS, ignore_errors=True)


def server_tls():
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(os.path.join(CERTS, "cert.pem"), os.path.join(CERTS, "key.pem"))
    return context


class Mailbox:
    """An aiosmtpd handler that keeps what it receives and answers RCPT/DATA from a script
    (each scripted reply is used once, then "250")."""

    def __init__(self):
        self.messages = []      # dicts: mail_from, rcpt_tos, content, tls
        self.rcpt_script = []
        self.data_script = []
        self.data_delay = 0
        self.close_after_data = False
        self.mail_commands = 0
        self.rcpt_commands = 0
        self.auth = []          # (mechanism, success)
        self.received = threading.Condition()

    def authenticator(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
        self.auth.append((mechanism, ok))
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.mail_commands += 1
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_commands += 1
        if self.rcpt_script:
            reply = self.rcpt_script.pop(0)
            if not reply.startswith("250"):
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_script:
            return self.data_script.pop(0)
        if self.close_after_data:
            # After the reply is written (push writes before it yields to the loop).
            asyncio.get_running_loop().call_soon(server.transport.close)
        with self.received:
            self.messages.append({"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                                  "content": envelope.content,
                                  "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None})
            self.received.notify_all()
        return "250 2.0.0 Ok: queued as %d" % len(self.messages)

    def parsed(self, i=-1):
        return email.message_from_bytes(self.messages[i]["content"], policy=email.policy.default)


class _Controller(Controller):
    """aiosmtpd's Controller on a port the kernel picks (its readiness check needs the real port)."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SMTPServer:
    """A real SMTP server on 127.0.0.1. mode: starttls | tls (implicit) | plain (no STARTTLS)."""

    def __init__(self, mode="starttls", auth=True, **smtp):
        self.box = Mailbox()
        kwargs = {"hostname": "127.0.0.1", "port": 0, "server_hostname": "mx.test", "ready_timeout": 10}
        if auth:
            kwargs.update(authenticator=self.box.authenticator, auth_required=True)
        if mode == "starttls":
            kwargs.update(tls_context=server_tls(), require_starttls=True)
        elif mode == "tls":
            kwargs.update(ssl_context=server_tls(), auth_require_tls=False)
        else:
            kwargs.update(auth_require_tls=False)
        kwargs.update(smtp)
        self.controller = _Controller(self.box, **kwargs)

    def __enter__(self):
        self.controller.start()
        self.port = self.controller.port
        return self

    def __exit__(self, *exc):
        self.controller.stop()
        return False


def incident(**changes):
    value = {
        "id": "INC-2026-0042", "title": "Database primary unreachable", "summary": "db-1 stopped answering",
        "severity": "P1", "severityName": "Critical", "state": "mobilised", "source": "rule:db_down",
        "createdAt": "2026-12-07T10:00:00Z", "labels": {"component": "database"},
        "classification": {"affectedComponents": ["database", "checkout api"]},
        "sla": {"state": "running", "deadline": "2026-12-07T10:15:00Z"},
        "recipients": ["alice@example.org"], "channel": "email", "notification_id": 7, "purpose": "page",
        "ack_links": [{"person": "alice", "url": "https://vigil.example.org:8443/ack/t0k?e=1&s=ab",
                       "expires_at": "2026-12-08T10:00:00Z"}],
    }
    value.update(changes)
    return value


SUBJECT = "[P1 Critical] INC-2026-0042: Database primary unreachable — you are Incident Commander"
BODY = ("INC-2026-0042 — P1 (Critical) — Database primary unreachable\nYou are Incident Commander.\n\n"
        "Acknowledge as alice: https://vigil.example.org:8443/ack/t0k?e=1&s=ab")


def smtp_config(server, **changes):
    config = {"transport": "smtp", "host": "127.0.0.1", "port": server.port, "from": "Vigil <vigil@example.org>",
              "ca_file": os.path.join(CERTS, "cert.pem"), "helo": "vigil-test.example.org",
              "username": USER, "password": PASSWORD, "retries": 2, "backoff_seconds": 0.05, "timeout_seconds": 5}
    config.update(changes)
    return {k: v for k, v in config.items() if v is not None}


class SMTPDelivery(unittest.TestCase):
    def send(self, server, config=None, egress=None, **notify):
        config = config if config is not None else smtp_config(server)
        egress = egress if egress is not None else [("127.0.0.1", server.port)]
        with PluginProcess(PLUGIN, config=config, egress=egress) as p:
            result = p.notify(notify.pop("incident", incident()), title=notify.pop("title", SUBJECT),
                              body=notify.pop("body", BODY), **notify)
            self.refused, self.logs = p.refused, p.logs
        return result

    def test_starttls_with_auth_plain_and_login(self):
        for mechanism in ("PLAIN", "LOGIN"):
            with self.subTest(mechanism=mechanism), SMTPServer("starttls") as server:
                result = self.send(server, smtp_config(server, auth_mechanism=mechanism))
                self.assertTrue(result["ok"], result["detail"])
                self.assertEqual(server.box.auth, [(mechanism, True)])
                self.assertEqual(len(server.box.messages), 1)
                received = server.box.messages[0]
                self.assertTrue(received["tls"], "the message went before STARTTLS")
                self.assertEqual(received["mail_from"], "vigil@example.org")
                self.assertEqual(received["rcpt_tos"], ["alice@example.org"])
                evidence = result["evidence"]
                self.assertEqual(evidence["server_reply"], "250 2.0.0 Ok: queued as 1")
                self.assertEqual(evidence["recipients"], ["alice@example.org"])
                self.assertEqual(evidence["message_id"], server.box.parsed()["Message-ID"])
                self.assertEqual(evidence["auth"], mechanism)
                self.assertIn(evidence["tls"], ("TLSv1.2", "TLSv1.3"))
                self.assertEqual(self.refused, [])

    def test_implicit_tls(self):
        with SMTPServer("tls") as server:
            result = self.send(server, smtp_config(server, security="tls"))
            self.assertTrue(result["ok"], result["detail"])
            self.assertTrue(server.box.messages[0]["tls"])
            self.assertEqual(server.box.auth, [("PLAIN", True)])

    def test_refuses_a_server_without_starttls(self):
        with SMTPServer("plain") as server:
            result = self.send(server)
            self.assertFalse(result["ok"])
            self.assertIn("does not offer STARTTLS", result["detail"])
            self.assertEqual(result["evidence"]["failure"], "permanent")
            self.assertEqual((server.box.mail_commands, server.box.auth), (0, []), "something was sent in clear")
            # The operator's explicit choice: security none sends (and authenticates) in clear.
            result = self.send(server, smtp_config(server, security="none"))
            self.assertTrue(result["ok"], result["detail"])
            self.assertFalse(server.box.messages[0]["tls"])
            self.assertEqual(server.box.auth, [("PLAIN", True)])

    def test_an_unknown_certificate_is_refused(self):
        with SMTPServer("starttls") as server:
            result = self.send(server, smtp_config(server, ca_file=None))
            self.assertFalse(result["ok"])
            self.assertIn("certificate did not verify", result["detail"])
            self.assertEqual(result["evidence"]["attempts"], 1)
            self.assertEqual(server.box.mail_commands, 0)

    def test_wrong_password_names_the_failure(self):
        with SMTPServer("starttls") as server:
            result = self.send(server, smtp_config(server, password="wrong"))
            self.assertFalse(result["ok"])
            self.assertIn("AUTH PLAIN", result["detail"])
            self.assertIn("535", result["detail"])
            self.assertEqual(result["evidence"]["failure"], "permanent")
            self.assertEqual(result["evidence"]["attempts"], 1, "a 5xx must not be retried")
            self.assertEqual(server.box.mail_commands, 0)

    def test_password_file(self):
        with SMTPServer("starttls") as server, tempfile.NamedTemporaryFile("w", suffix=".secret") as secret:
            secret.write(PASSWORD + "\n")
            secret.flush()
            result = self.send(server, smtp_config(server, password=None, password_file=secret.name))
            self.assertTrue(result["ok"], result["detail"])
            self.assertEqual(server.box.auth, [("PLAIN", True)])

    def test_permanent_5xx_answers_at_once(self):
        with SMTPServer("starttls") as server:
            server.box.rcpt_script = ["550 5.1.1 <alice@example.org>: Recipient address rejected"]
            result = self.send(server)
            self.assertFalse(result["ok"])
            self.assertIn("550 5.1.1", result["detail"])
            self.assertEqual(result["evidence"]["attempts"], 1)
            self.assertEqual(result["evidence"]["refused"],
                             {"alice@example.org": "550 5.1.1 <alice@example.org>: Recipient address rejected"})
            self.assertEqual((server.box.rcpt_commands, len(server.box.messages)), (1, 0))

    def test_transient_4xx_is_retried_within_the_deadline(self):
        with SMTPServer("starttls") as server:
            server.box.rcpt_script = ["451 4.3.0 Try again later"]
            result = self.send(server)
            self.assertTrue(result["ok"], result["detail"])
            self.assertEqual(result["evidence"]["attempts"], 2)
            self.assertEqual(len(server.box.messages), 1)
        with SMTPServer("starttls") as server:
            server.box.data_script = ["452 4.3.1 Insufficient system storage"] * 10
            result = self.send(server)
            self.assertFalse(result["ok"])
            self.assertEqual(result["evidence"]["failure"], "transient")
            self.assertEqual(result["evidence"]["attempts"], 3)  # retries: 2
            self.assertIn("DATA: server answered 452 4.3.1", result["detail"])

    def test_a_slow_server_does_not_hold_the_answer_past_the_deadline(self):
        with SMTPServer("starttls") as server:
            server.box.data_delay = 30
            started = time.monotonic()
            result = self.send(server, deadline_ms=1500)
            took = time.monotonic() - started
            self.assertFalse(result["ok"])
            self.assertIn("deadline", result["detail"])
            self.assertLess(took, 3.0)

    def test_an_undeclared_destination_is_refused_by_the_broker(self):
        with SMTPServer("starttls") as server:
            result = self.send(server, egress=[("127.0.0.1", 1)])
            self.assertFalse(result["ok"])
            self.assertIn("not declared", result["detail"])
            self.assertEqual(self.refused, [("127.0.0.1", server.port)], "asked once, not retried")
            self.assertEqual(server.box.mail_commands, 0)

    def test_one_session_carries_several_messages(self):
        for keepalive, sessions in ((30, 1), (0, 3)):
            with self.subTest(keepalive_seconds=keepalive), SMTPServer("starttls") as server:
                config = smtp_config(server, keepalive_seconds=keepalive)
                with PluginProcess(PLUGIN, config=config, egress=[("127.0.0.1", server.port)]) as p:
                    for n in (1, 2, 3):
                        result = p.notify(incident(notification_id=n), title=SUBJECT, body=BODY)
                        self.assertTrue(result["ok"], result["detail"])
                    self.assertEqual(len(p.connected), sessions)
                self.assertEqual(len(server.box.messages), 3)
                self.assertEqual(server.box.auth, [("PLAIN", True)] * sessions)

    def test_a_session_the_server_closed_is_replaced_without_a_retry(self):
        with SMTPServer("starttls") as server:
            server.box.close_after_data = True
            with PluginProcess(PLUGIN, config=smtp_config(server), egress=[("127.0.0.1", server.port)]) as p:
                results = [p.notify(incident(notification_id=n), title=SUBJECT, body=BODY) for n in (1, 2)]
                connected = len(p.connected)
            for r in results:
                self.assertTrue(r["ok"], r["detail"])
                self.assertEqual(r["evidence"]["attempts"], 1)
            self.assertEqual((len(server.box.messages), connected), (2, 2))


class WithoutNetwork(unittest.TestCase):
    """Under network: none the sandbox refuses an inet socket as a breach; the plugin must not ask."""

    UNSHARE = "import ctypes, sys\nif ctypes.CDLL(None, use_errno=True).unshare(0x40000000) != 0:\n    sys.exit(77)\n"

    def test_smtp_without_a_broker_says_how_to_declare_it(self):
        if subprocess.run([sys.executable, "-c", self.UNSHARE]).returncode != 0:
            self.skipTest("needs a network namespace of its own (unshare CLONE_NEWNET, root)")
        with tempfile.TemporaryDirectory() as folder:
            wrapper = os.path.join(folder, "no_network.py")
            with open(wrapper, "w") as f:
                f.write(self.UNSHARE + "import os\nos.execv(sys.executable, [sys.executable, %r])\n"
                        % os.path.join(ROOT, PLUGIN))
            config = {"transport": "smtp", "host": "smtp.example.org", "from": "vigil@example.org"}
            with PluginProcess(wrapper, config=config) as p:
                result = p.notify(incident(), title=SUBJECT, body=BODY)
        self.assertFalse(result["ok"])
        self.assertIn('set network: brokered and egress: ["smtp.example.org:587"]', result["detail"])


class MessageShape(unittest.TestCase):
    def test_parts_threading_headers_and_ack_link(self):
        with SMTPServer("starttls") as server:
            with PluginProcess(PLUGIN, config=smtp_config(server), egress=[("127.0.0.1", server.port)]) as p:
                first = p.notify(incident(), title=SUBJECT, body=BODY)
                second = p.notify(incident(notification_id=8, purpose="status-reminder", state="investigating"),
                                  title="[P1 Critical] INC-2026-0042: Database primary unreachable — status update due",
                                  body="Post a status update.")
                retried = p.notify(incident(), title=SUBJECT, body=BODY)
            for r in (first, second, retried):
                self.assertTrue(r["ok"], r["detail"])
            root, later, again = (server.box.parsed(i) for i in range(3))

        self.assertEqual(root.get_content_type(), "multipart/alternative")
        self.assertEqual([p.get_content_type() for p in root.iter_parts()], ["text/plain", "text/html"])
        self.assertEqual(root["Message-ID"], "<INC-2026-0042.20261207100000@vigil.example.org>")
        self.assertIsNone(root["In-Reply-To"])
        self.assertNotEqual(later["Message-ID"], root["Message-ID"])
        self.assertEqual(later["In-Reply-To"], root["Message-ID"])
        self.assertEqual(later["References"], root["Message-ID"])
        self.assertEqual(again["Message-ID"], root["Message-ID"], "a retried notification keeps its Message-ID")
        for m in (root, later):
            self.assertIn("INC-2026-0042", m["Subject"])
            self.assertEqual(m["Auto-Submitted"], "auto-generated")
            self.assertEqual(m["X-Vigil-Incident"], "INC-2026-0042")
            self.assertEqual(m["To"], "alice@example.org")
            self.assertEqual(m["From"], "Vigil <vigil@example.org>")
            self.assertIsNotNone(m["Date"])
        self.assertEqual(root["Subject"], SUBJECT)
        self.assertEqual((root["X-Vigil-Notification"], later["X-Vigil-Notification"]), ("7", "8"))

        url = "https://vigil.example.org:8443/ack/t0k?e=1&s=ab"
        text, rich = (p.get_content() for p in root.iter_parts())
        self.assertIn("as alice: " + url, text)
        self.assertIn('href="%s"' % html.escape(url), rich)
        self.assertIn("confirmation page", text)
        self.assertIn("confirmation page", rich)
        self.assertEqual(text.count(url), 1, "the body's own ack line is not repeated")
        for part in (text, rich):
            self.assertIn("P1 Critical", part)
            self.assertIn("mobilised", part)
            self.assertIn("db-1 stopped answering", part)
            self.assertIn("checkout api", part)
            self.assertIn("You are Incident Commander.", part)

    def test_hostile_incident_fields_are_neutralised(self):
        hostile = incident(
            id="INC-2026-0043", title="<script>alert(1)</script> disk full\r\nBcc: mallory@evil.example",
            summary="<b>bold</b> & more", ack_links=[
                {"person": "alice", "url": "javascript:alert(1)", "expires_at": "x"},
                {"person": "bob\r\nX-Evil: 1", "url": "https://vigil.example.org/ack/\"onmouseover=x", "expires_at": "x"}],
            recipients=["alice@example.org", "bob@example.org\r\nBcc: mallory@evil.example"])
        with SMTPServer("starttls") as server:
            with PluginProcess(PLUGIN, config=smtp_config(server), egress=[("127.0.0.1", server.port)]) as p:
                result = p.notify(hostile, title="Disk full\r\nBcc: mallory@evil.example\n\nbody? ünïcödé " + "x" * 2000,
                                  body="<img src=x onerror=alert(1)>")
            received = server.box.messages[0]
            message = server.box.parsed()
        # Delivered to the valid recipient, and the invalid one is named.
        self.assertFalse(result["ok"])
        self.assertIn("not sent to", result["detail"])
        self.assertEqual(received["rcpt_tos"], ["alice@example.org"])
        headers = received["content"].split(b"\r\n\r\n", 1)[0]
        self.assertNotIn(b"\r\nBcc:", headers)
        self.assertNotIn(b"\r\nX-Evil", headers)
        self.assertIsNone(message["Bcc"])
        subject = message["Subject"]
        self.assertNotIn("\n", subject)
        self.assertLessEqual(len(subject), 250)
        self.assertIn("ünïcödé", subject)
        self.assertIn("INC-2026-0043", subject)
        self.assertTrue(headers.isascii(), "non-ASCII headers must be RFC 2047 encoded")
        text, rich = (p.get_content() for p in message.iter_parts())
        self.assertNotIn("<script>", rich)
        self.assertNotIn("<img", rich)
        self.assertNotIn("<b>", rich)
        self.assertIn("&lt;script&gt;", rich)
        self.assertNotIn("javascript:", rich)
        self.assertNotIn("onmouseover", rich)
        self.assertNotIn("Acknowledge", text.split("-" * 72)[0], "an unsafe link is never offered")


class Spool(unittest.TestCase):
    def setUp(self):
        self.data = tempfile.mkdtemp(prefix="vigil-email-data-")
        self.addCleanup(shutil.rmtree, self.data, True)

    def test_messages_land_in_each_recipients_maildir_without_network(self):
        recipients = ["alice@example.org", "O'Brien+pager@Example.org"]
        with PluginProcess(PLUGIN, config={"transport": "spool"}, data_dir=self.data) as p:
            first = p.notify(incident(recipients=recipients), title=SUBJECT, body=BODY)
            second = p.notify(incident(recipients=recipients, notification_id=8), title=SUBJECT, body="update")
        for r in (first, second):
            self.assertTrue(r["ok"], r["detail"])
            self.assertEqual(r["evidence"]["transport"], "spool")
        maildir = os.path.join(self.data, "maildir")
        self.assertEqual(sorted(os.listdir(maildir)), ["alice@example.org", "o_brien+pager@example.org-" +
                                                       sorted(os.listdir(maildir))[1].rsplit("-", 1)[1]])
        for folder in os.listdir(maildir):
            self.assertEqual(sorted(os.listdir(os.path.join(maildir, folder))), ["cur", "new", "tmp"])
            self.assertEqual(len(os.listdir(os.path.join(maildir, folder, "new"))), 2)
            self.assertEqual(os.listdir(os.path.join(maildir, folder, "tmp")), [])
        for path in first["evidence"]["paths"]:
            self.assertTrue(path.startswith(maildir + os.sep) and os.path.isfile(path))
            with open(path, "rb") as f:
                m = email.message_from_binary_file(f, policy=email.policy.default)
            self.assertEqual(m["Message-ID"], first["evidence"]["message_id"])
            self.assertEqual(m.get_content_type(), "multipart/alternative")
        with open(second["evidence"]["paths"][0], "rb") as f:
            later = email.message_from_binary_file(f, policy=email.policy.default)
        self.assertEqual(later["In-Reply-To"], first["evidence"]["message_id"])

    def test_the_bound_drops_the_oldest(self):
        with PluginProcess(PLUGIN, config={"transport": "spool", "spool_max_messages": 3}, data_dir=self.data) as p:
            for n in range(1, 6):
                self.assertTrue(p.notify(incident(notification_id=n), title=SUBJECT, body=BODY)["ok"])
            logs = list(p.logs)
        new = os.path.join(self.data, "maildir", "alice@example.org", "new")
        kept = []
        for name in os.listdir(new):
            with open(os.path.join(new, name), "rb") as f:
                kept.append(email.message_from_binary_file(f, policy=email.policy.default)["X-Vigil-Notification"])
        self.assertEqual(sorted(kept), ["3", "4", "5"])
        drops = [line for line in logs if "dropped" in line]
        self.assertEqual(len(drops), 1, "one log line a minute per recipient: %r" % logs)
        self.assertIn("spool for alice@example.org holds 3 message(s), at most 3: dropped the 1 oldest", drops[0])

    def test_thread_memory_survives_a_restart(self):
        config = {"transport": "spool"}
        with PluginProcess(PLUGIN, config=config, data_dir=self.data) as p:
            root = p.notify(incident(), title=SUBJECT, body=BODY)["evidence"]["message_id"]
        with PluginProcess(PLUGIN, config=config, data_dir=self.data) as p:
            later = p.notify(incident(notification_id=9), title=SUBJECT, body=BODY)["evidence"]
        self.assertNotEqual(later["message_id"], root)
        self.assertEqual(later["thread"], root)

    def test_without_a_data_folder_it_says_so(self):
        with PluginProcess(PLUGIN, config={"transport": "spool"}) as p:
            result = p.notify(incident(), title=SUBJECT, body=BODY)
        self.assertFalse(result["ok"])
        self.assertIn("VIGIL_DATA_DIR", result["detail"])


class Configuration(unittest.TestCase):
    def test_errors_name_the_field(self):
        cases = [({"transport": "smtp", "from": "vigil@example.org"}, "config.host"),
                 ({"transport": "smtp", "host": "smtp.example.org"}, "config.from"),
                 ({"transport": "pigeon"}, "config.transport"),
                 ({"transport": "spool", "spool_max_messages": "lots"}, "config.spool_max_messages"),
                 ({"transport": "smtp", "host": "mx", "from": "v@example.org", "security": "ssl"}, "config.security"),
                 ({"transport": "smtp", "host": "mx", "from": "v@example.org", "tls_verify": "no"}, "config.tls_verify"),
                 ({"transport": "spool", "from": "Vigil <not an address>"}, "config.from")]
        for config, field in cases:
            with self.subTest(field=field), PluginProcess(PLUGIN, config=config, data_dir=None) as p:
                result = p.notify(incident(), title=SUBJECT, body=BODY)
                self.assertFalse(result["ok"])
                self.assertIn(field, result["detail"])


if __name__ == "__main__":
    unittest.main()
