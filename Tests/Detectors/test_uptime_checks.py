"""The uptime-checks detector (Plugins/uptime-checks): its parsers on hostile bytes, its probes
against real servers on 127.0.0.1 (HTTP, HTTPS with a self-signed certificate from `openssl`, a
WebSocket echo server with hostile modes, a server that accepts and never answers, a refused port),
its schedule under a hanging endpoint, and — through the real vigild — an endpoint that stops
answering opening an outage incident whose condition clears when it answers again.

Run as root: `cd Tests/Detectors && /usr/bin/python3 -m unittest test_uptime_checks -v`.
"""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "Plugins", "uptime-checks"))
sys.path.insert(0, os.path.join(ROOT, "Tests", "Notifiers"))
import uptime_certificate  # noqa: E402
import uptime_config  # noqa: E402
import uptime_http  # noqa: E402
import uptime_probes  # noqa: E402
import uptime_websocket as ws  # noqa: E402
from uptime_report import Reporter  # noqa: E402
from uptime_scheduler import Scheduler  # noqa: E402
from uptime_servers import (BannerServer, HTTPServer, SilentServer, WebSocketServer, free_port,  # noqa: E402
                            make_certificate)


def direct(host, port, timeout):
    """What vigil_plugin.connect does without a broker."""
    return socket.create_connection((host, port), timeout=timeout)


def check(**fields):
    c = uptime_config.validate_check(dict(fields), 0)
    return c


def probe(c):
    return uptime_probes.run_probe(c, direct)


class ConfigTests(unittest.TestCase):
    def test_nothing_configured_is_no_check_and_no_error(self):
        for config in ({}, {"checks": []}, {"checks": None}):
            self.assertEqual(uptime_config.load(config), ([], []))

    def test_each_bad_check_is_named_with_its_field_and_the_others_still_run(self):
        checks, errors = uptime_config.load({"checks": [
            {"name": "api", "url": "https://api.example.org/healthz"},
            {"name": "slow", "url": "http://127.0.0.1:8080/", "interval_seconds": 0},
            {"name": "ftp", "url": "ftp://example.org/"},
            {"name": "db", "kind": "tcp", "host": "127.0.0.1"},
            "garbage",
            {"name": "api", "kind": "tcp", "host": "127.0.0.1", "port": 5432},
            {"name": "bad regex", "url": "http://x/"},
            {"name": "re", "url": "http://x/", "body_match": "("},
            {"name": "creds", "url": "http://u:p@x/"},
            {"name": "hdr", "url": "http://x/", "headers": {"Host": "evil"}},
            {"name": "hdr2", "url": "http://x/", "headers": {"X-A": "a\r\nInjected: 1"}},
            {"name": "ws", "url": "wss://term.example.org/socket", "mode": "echo", "message": "hi"},
            {"name": "to", "url": "http://x/", "interval_seconds": 5, "timeout_seconds": 9},
            {"name": "status", "url": "http://x/", "expect_status": ["2xx", "301-302", 418, "600"]},
            {"name": "typo", "url": "http://x/", "intervall_seconds": 5},
        ]})
        self.assertEqual([c.name for c in checks], ["api", "ws"])
        self.assertEqual(checks[0].target, "https://api.example.org:443")
        self.assertEqual(checks[1].kind, "websocket")
        self.assertEqual(checks[1].component, "websocket")
        text = "\n".join(errors)
        for expected in ("checks[1] (slow): interval_seconds must be a number from 1 to 240, found 0",
                         "checks[2] (ftp): url must start with http:// or https://",
                         "checks[3] (db): port is required",
                         "checks[4]: must be a mapping",
                         "checks[5] (api): name 'api' is already used",
                         "checks[6] (bad regex): name must be",
                         "checks[7] (re): body_match is not a regular expression",
                         "checks[8] (creds): url must not carry credentials",
                         "checks[9] (hdr): headers: Host is set by the probe itself",
                         "checks[10] (hdr2): headers: the value of X-A must be one line",
                         "checks[12] (to): timeout_seconds (9) must not exceed interval_seconds (5)",
                         "checks[13] (status): expect_status: '600' is not within 100-599",
                         "checks[14] (typo): unknown key(s) intervall_seconds"):
            self.assertIn(expected, text)
        self.assertTrue(all(line.endswith("this check is not run") for line in errors))

    def test_a_checks_value_that_is_not_a_list_is_one_clear_error(self):
        self.assertEqual(uptime_config.load({"checks": "http://x"}),
                         ([], ["config.checks must be a list of checks, found 'http://x'"]))

    def test_status_ranges(self):
        self.assertEqual(uptime_config.status_ranges(["2xx", "301-302", 418]), [(200, 299), (301, 302), (418, 418)])
        self.assertEqual(uptime_config.status_ranges(None), [(200, 399)])

    def test_the_manifests_egress_in_flow_and_block_form(self):
        flow = 'name: x\nsandbox:\n  profile: notifier\n  egress: ["127.0.0.1:8080", "[::1]:443",\n    api.example.org:443]  # c\nconfig: {}\n'
        block = "sandbox:\n  egress:\n    - 127.0.0.1:80\n    - 'Host.Example.org.:443'\n  read_paths: []\n"
        self.assertEqual(uptime_config.manifest_egress(flow),
                         {("127.0.0.1", 8080), ("::1", 443), ("api.example.org", 443)})
        self.assertEqual(uptime_config.manifest_egress(block), {("127.0.0.1", 80), ("host.example.org", 443)})
        self.assertIsNone(uptime_config.manifest_egress("sandbox:\n  network: none\nconfig:\n  egress: [a:1]\n"))
        with open(os.path.join(ROOT, "Plugins", "uptime-checks", "plugin.yaml")) as f:
            shipped = f.read()
        self.assertEqual(uptime_config.manifest_egress(shipped), set())
        c = check(name="a", url="http://[::1]:443/")
        self.assertTrue(uptime_config.declared(c, uptime_config.manifest_egress(flow)))
        self.assertFalse(uptime_config.declared(check(name="b", url="http://127.0.0.1:8081/"),
                                                uptime_config.manifest_egress(flow)))


class HTTPParserTests(unittest.TestCase):
    def test_a_head_split_anywhere_parses_the_same(self):
        raw = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello"
        for cut in range(len(raw)):
            self.assertIsNone(uptime_http.parse_head(raw[:min(cut, raw.index(b"\r\n\r\n") + 3)]))
        head, used = uptime_http.parse_head(raw)
        self.assertEqual((head.status, head.reason, head.first("x-a"), raw[used:]), (503, "Service Unavailable", "b", b"hello"))

    def test_hostile_heads_are_refused_within_bounds(self):
        for raw, words in [(b"SSH-2.0-OpenSSH\r\n", "not HTTP"),
                           (b"HTTP/1.1 20 OK\r\n\r\n", "bad status line"),
                           (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 101 + b"\r\n", "more than 100"),
                           (b"HTTP/1.1 200 OK\r\n" + b"X: " + b"a" * 20000, "larger than 16 KiB"),
                           (b"HTTP/1.1 200 OK\r\n folded\r\n\r\n", "folded"),
                           (b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "bad header line")]:
            with self.assertRaises(uptime_http.ProtocolError) as caught:
                uptime_http.parse_head(raw)
            self.assertIn(words, str(caught.exception))

    def _body(self, head, data, cap=1024, method="GET", step=None):
        parsed, used = uptime_http.parse_head(head)
        reader = uptime_http.BodyReader(parsed, method, cap)
        step = step or len(data) or 1
        for i in range(0, len(data), step):
            if reader.feed(data[i:i + step]):
                break
        return reader

    def test_bodies_by_length_chunks_and_close_are_capped(self):
        r = self._body(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", b"helloEXTRA")
        self.assertEqual((bytes(r.body), r.done), (b"hello", True))
        chunked = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n"
        for step in (1, 3, 1000):
            r = self._body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", chunked, step=step)
            self.assertEqual((bytes(r.body), r.done), (b"hello world", True), step)
        r = self._body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", chunked, cap=4)
        self.assertEqual((bytes(r.body), r.done, r.truncated), (b"hell", True, True))
        r = self._body(b"HTTP/1.1 200 OK\r\n\r\n", b"x" * 5000, cap=2048)
        self.assertEqual((len(r.body), r.done, r.truncated), (2048, True, True))
        r = self._body(b"HTTP/1.1 204 No Content\r\n\r\n", b"")
        self.assertTrue(r.done)

    def test_hostile_bodies(self):
        with self.assertRaises(uptime_http.ProtocolError):
            self._body(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", b"")
        with self.assertRaises(uptime_http.ProtocolError):
            self._body(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", b"")
        with self.assertRaises(uptime_http.ProtocolError):
            self._body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"fffffffffffffffff\r\n")
        with self.assertRaises(uptime_http.ProtocolError):
            self._body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"1" * 2000)
        with self.assertRaises(uptime_http.ProtocolError):
            self._body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"2\r\nabXY")


class WebSocketFrameTests(unittest.TestCase):
    def test_accept_key_of_rfc_6455(self):
        self.assertEqual(ws.accept_for("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")

    def test_client_frames_are_masked_and_server_frames_are_read_in_pieces(self):
        f = ws.frame(ws.TEXT, b"hello", mask=b"\x01\x02\x03\x04")
        self.assertEqual(f[:2], b"\x81\x85")
        self.assertEqual(bytes(b ^ b"\x01\x02\x03\x04"[i & 3] for i, b in enumerate(f[6:])), b"hello")
        stream = b"\x01\x03hel" + b"\x89\x02hi" + b"\x80\x02lo" + b"\x8a\x00" + b"\x82\x7e\x01\x00" + b"z" * 256
        reader, out = ws.FrameReader(), []
        for i in range(len(stream)):
            out += reader.feed(stream[i:i + 1])
        self.assertEqual(out, [(ws.PING, b"hi"), (ws.TEXT, b"hello"), (ws.PONG, b""), (ws.BINARY, b"z" * 256)])

    def test_hostile_frames_are_refused(self):
        import struct
        for raw, words in [(b"\x81\x85abcdhello", "masked"), (b"\xc1\x00", "reserved"), (b"\x83\x00", "opcode"),
                           (b"\x89\x7e\x00\x7e" + b"a" * 126, "125"), (b"\x09\x00", "fragmented control"),
                           (b"\x82\x7e\x00\x05hello", "minimal"), (b"\x82\x7f" + struct.pack("!Q", 1 << 63), "top bit"),
                           (b"\x82\x7f" + struct.pack("!Q", 1 << 40), "more than"), (b"\x80\x00", "continuation"),
                           (b"\x01\x01a\x81\x01b", "before the last"), (b"\x88\x01x", "1-byte")]:
            with self.assertRaises(ws.FrameError) as caught:
                ws.FrameReader().feed(raw)
            self.assertIn(words, str(caught.exception))
        reader = ws.FrameReader()
        self.assertEqual(reader.feed(b"\x8a\x02hi\xc1\x00"), [(ws.PONG, b"hi")], "a pong before garbage is kept")
        with self.assertRaises(ws.FrameError):
            reader.feed(b"")
        reader = ws.FrameReader(max_message=10)
        with self.assertRaises(ws.FrameError):
            reader.feed(b"\x01\x08aaaaaaaa\x00\x08bbbbbbbb")


class CertificateTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="uptime-cert-")
        cls.cert, cls.key = make_certificate(cls.folder, days=30)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.folder, ignore_errors=True)

    def der(self):
        with open(self.cert) as f:
            return ssl.PEM_cert_to_DER_cert(f.read())

    def test_not_after_matches_openssl(self):
        der = self.der()
        end = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", self.cert], capture_output=True,
                             text=True, check=True).stdout.strip().split("=", 1)[1]
        self.assertEqual(uptime_certificate.not_after(der), ssl.cert_time_to_seconds(end))
        days = uptime_certificate.days_left(der, ssl.cert_time_to_seconds(end) - 86400 * 2.5)
        self.assertAlmostEqual(days, 2.5)

    def test_garbage_and_every_truncation_are_certificate_errors(self):
        der = self.der()
        for n in range(0, 400):
            with self.assertRaises(uptime_certificate.CertificateError):
                uptime_certificate.not_after(der[:n])
        for raw in (b"\x30\x84\xff\xff\xff\xff", b"\x30\x80\x00\x00", b"\x02\x01\x00", None, b"\x30" * 70000):
            with self.assertRaises(uptime_certificate.CertificateError):
                uptime_certificate.not_after(raw)


class HTTPProbeTests(unittest.TestCase):
    def setUp(self):
        self.server = HTTPServer(status=200, body=b'{"status": "ok"}')
        self.addCleanup(self.server.stop)
        self.url = "http://127.0.0.1:%d/healthz" % self.server.port

    def test_up_with_status_latency_and_body_match(self):
        out = probe(check(name="api", url=self.url, body_match='"status":\\s*"ok"'))
        self.assertTrue(out.up, out)
        self.assertEqual(out.detail, "status 200")
        self.assertLess(out.latency_ms, 2000)
        self.assertIsNone(out.cert_days)

    def test_status_503_and_body_mismatch_are_down_with_their_reason(self):
        self.server.status = 503
        out = probe(check(name="api", url=self.url))
        self.assertEqual((out.up, out.reason), (False, "status"))
        self.assertIn("status 503 Service Unavailable (expected 200-399)", out.detail)
        self.assertIsNotNone(out.latency_ms, "an answer has a latency")
        self.server.status = 200
        self.server.body = b'{"status": "degraded"}'
        out = probe(check(name="api", url=self.url, body_match='"status":\\s*"ok"'))
        self.assertEqual((out.up, out.reason), (False, "body"))
        out = probe(check(name="api", url=self.url, method="HEAD"))
        self.assertTrue(out.up, out)

    def test_the_body_match_sees_only_the_first_body_max_kib(self):
        self.server.body = b"x" * 4096 + b"needle"
        self.assertEqual(probe(check(name="a", url=self.url, body_match="needle", body_max_kib=4)).reason, "body")
        self.assertTrue(probe(check(name="a", url=self.url, body_match="needle", body_max_kib=5)).up)

    def test_redirects_are_not_followed_unless_configured(self):
        self.server.routes["/old"] = (302, {"Location": "/healthz"}, b"")
        old = "http://127.0.0.1:%d/old" % self.server.port
        out = probe(check(name="a", url=old, expect_status=["2xx"]))
        self.assertEqual((out.up, out.reason), (False, "status"))
        self.assertIn("status 302", out.detail)
        out = probe(check(name="a", url=old, expect_status=["2xx"], follow_redirects=1))
        self.assertTrue(out.up, out)
        self.assertIn("after 1 redirect", out.detail)
        self.server.routes["/away"] = (301, {"Location": "http://127.0.0.1:1/"}, b"")
        c = check(name="a", url="http://127.0.0.1:%d/away" % self.server.port, follow_redirects=2)
        out = uptime_probes.run_probe(c, direct, egress={("127.0.0.1", self.server.port)})
        self.assertEqual(out.reason, "egress", out)

    def test_refused_and_never_answering_endpoints(self):
        out = probe(check(name="a", url="http://127.0.0.1:%d/" % free_port(), timeout_seconds=2))
        self.assertEqual((out.up, out.reason, out.latency_ms), (False, "refused", None))
        silent = SilentServer()
        self.addCleanup(silent.stop)
        started = time.monotonic()
        out = probe(check(name="a", url="http://127.0.0.1:%d/" % silent.port, timeout_seconds=0.5, interval_seconds=1))
        elapsed = time.monotonic() - started
        self.assertEqual((out.up, out.reason), (False, "timeout"), out)
        self.assertIn("no answer within 0.5 s (reading the response head)", out.detail)
        self.assertLess(elapsed, 1.5)

    def test_a_server_that_is_not_http(self):
        banner = BannerServer(answer=b"SSH-2.0-OpenSSH_9.2\r\n")
        self.addCleanup(banner.stop)
        out = probe(check(name="a", url="http://127.0.0.1:%d/" % banner.port, timeout_seconds=2))
        self.assertEqual((out.up, out.reason), (False, "protocol"), out)


class HTTPSProbeTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="uptime-tls-")
        cls.cert = make_certificate(cls.folder, days=5)
        cls.server = HTTPServer(certificate=cls.cert)
        cls.url = "https://127.0.0.1:%d/" % cls.server.port

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.folder, ignore_errors=True)

    def test_verification_is_on_by_default(self):
        out = probe(check(name="a", url=self.url, timeout_seconds=5))
        self.assertEqual((out.up, out.reason), (False, "tls"), out)
        self.assertIn("not trusted", out.detail)

    def test_a_private_ca_file_or_no_verification_and_the_days_left(self):
        for fields in ({"ca_file": self.cert[0]}, {"tls_verify": False}):
            out = probe(check(name="a", url=self.url, timeout_seconds=5, **fields))
            self.assertTrue(out.up, out)
            self.assertGreater(out.cert_days, 4.9)
            self.assertLessEqual(out.cert_days, 5.0)
        localhost = probe(check(name="a", url="https://localhost:%d/" % self.server.port, ca_file=self.cert[0]))
        self.assertTrue(localhost.up, localhost)

    def test_a_name_the_certificate_does_not_carry_is_a_tls_failure_with_the_days_still_known(self):
        folder = tempfile.mkdtemp(prefix="uptime-tls-")
        self.addCleanup(shutil.rmtree, folder, True)
        other = make_certificate(folder, days=400, name="other.example")
        server = HTTPServer(certificate=other)
        self.addCleanup(server.stop)
        out = probe(check(name="a", url="https://localhost:%d/" % server.port, ca_file=other[0]))
        self.assertEqual((out.up, out.reason), (False, "tls"), out)

    def test_the_reporter_flags_a_certificate_below_tls_warn_days(self):
        events, logs = [], []
        reporter = Reporter(lambda name, value, unit=None, labels=None, time=None: events.append((name, value, labels)),
                            lambda message, level="info": logs.append((level, message)))
        c = check(name="shop", url=self.url, ca_file=self.cert[0], tls_warn_days=14)
        reporter.record(c, probe(c), 1.0)
        named = {name: (value, labels) for name, value, labels in events}
        self.assertEqual(named["uptime_check_up"], (1, {"check": "shop", "kind": "http",
                                                        "target": self.url.rstrip("/"), "component": "service"}))
        self.assertEqual(named["tls_certificate_expiring"][0], 1)
        self.assertAlmostEqual(named["tls_certificate_expiry_days"][0], 5, delta=0.1)
        self.assertIn("network_latency", named)
        self.assertTrue(any(level == "warning" and "expires in 5.0 day(s) (tls_warn_days: 14)" in m for level, m in logs), logs)


class TCPProbeTests(unittest.TestCase):
    def test_connect_and_banner(self):
        banner = BannerServer(answer=b"+PONG\r\n")
        self.addCleanup(banner.stop)
        self.assertTrue(probe(check(name="t", kind="tcp", host="127.0.0.1", port=banner.port)).up)
        out = probe(check(name="t", kind="tcp", host="127.0.0.1", port=banner.port, send="PING\r\n", expect="^\\+PONG"))
        self.assertTrue(out.up, out)
        out = probe(check(name="t", kind="tcp", host="127.0.0.1", port=banner.port, send="PING\r\n", expect="^-ERR"))
        self.assertEqual((out.up, out.reason), (False, "banner"), out)
        out = probe(check(name="t", kind="tcp", host="127.0.0.1", port=free_port()))
        self.assertEqual(out.reason, "refused")
        silent = SilentServer()
        self.addCleanup(silent.stop)
        out = probe(check(name="t", kind="tcp", host="127.0.0.1", port=silent.port, send="PING\r\n", expect="PONG",
                          timeout_seconds=0.3))
        self.assertEqual(out.reason, "timeout")


class WebSocketProbeTests(unittest.TestCase):
    def serve(self, mode):
        server = WebSocketServer(mode)
        self.addCleanup(server.stop)
        return server, "ws://127.0.0.1:%d/socket" % server.port

    def test_ping_and_echo_round_trips_and_a_proper_close(self):
        server, url = self.serve("echo")
        out = probe(check(name="w", url=url, timeout_seconds=3))
        self.assertTrue(out.up, out)
        self.assertEqual(out.detail, "pong")
        out = probe(check(name="w", url=url, mode="echo", message="hello"))
        self.assertTrue(out.up, out)
        self.assertTrue(uptime_probes_closes(server, 2), "the probe closes with a close frame")
        _, greeting = self.serve("greeting")
        self.assertTrue(probe(check(name="w", url=greeting, mode="echo", message="hello")).up)

    def test_hostile_and_broken_servers_are_down_with_their_reason(self):
        for mode, reason, words in [("bad_accept", "protocol", "Sec-WebSocket-Accept"),
                                    ("no_upgrade", "status", "status 503"),
                                    ("masked", "protocol", "masked"),
                                    ("huge_frame", "protocol", "more than"),
                                    ("close_at_once", "closed", "code 1001"),
                                    ("silent_after_upgrade", "timeout", "waiting for the pong")]:
            _, url = self.serve(mode)
            started = time.monotonic()
            out = probe(check(name="w", url=url, timeout_seconds=0.5, interval_seconds=1))
            self.assertEqual((out.up, out.reason), (False, reason), (mode, out))
            self.assertIn(words, out.detail, mode)
            self.assertLess(time.monotonic() - started, 1.5, mode)
        out = probe(check(name="w", url="ws://127.0.0.1:%d/" % free_port()))
        self.assertEqual(out.reason, "refused")


def uptime_probes_closes(server, count):
    from daemon import eventually
    return eventually(lambda: server.closes_received >= count, 5)


class ScheduleTests(unittest.TestCase):
    def test_a_hanging_endpoint_does_not_stall_the_others(self):
        silent = SilentServer()
        self.addCleanup(silent.stop)
        http = HTTPServer()
        self.addCleanup(http.stop)
        checks, _ = uptime_config.load({"checks": [
            {"name": "hang", "kind": "tcp", "host": "127.0.0.1", "port": silent.port, "send": "x", "expect": "y",
             "interval_seconds": 1, "timeout_seconds": 1},
            {"name": "hang2", "url": "http://127.0.0.1:%d/" % silent.port, "interval_seconds": 1, "timeout_seconds": 1},
            {"name": "web", "url": "http://127.0.0.1:%d/" % http.port, "interval_seconds": 1, "timeout_seconds": 1}]})
        results, logs, stop = [], [], threading.Event()
        lock = threading.Lock()

        def record(c, outcome, at):
            with lock:
                results.append((c.name, outcome.up, outcome.reason, time.monotonic()))
        scheduler = Scheduler(checks, lambda c: uptime_probes.run_probe(c, direct), record, 3,
                              lambda m, level="info": logs.append(m))
        started = time.monotonic()
        runner = threading.Thread(target=scheduler.run, args=(stop.wait,))
        runner.start()
        self.addCleanup(lambda: (stop.set(), runner.join(5)))
        from daemon import eventually
        self.assertTrue(eventually(lambda: sum(1 for r in results if r[0] == "web") >= 3, 6))
        web = [r for r in results if r[0] == "web"]
        self.assertTrue(all(up for _, up, _, _ in web))
        self.assertLess(web[0][3] - started, 0.5, "the healthy check answered at once, beside the hanging ones")
        self.assertTrue(eventually(lambda: any(r[0] == "hang" and r[2] == "timeout" for r in results), 3))
        stop.set()
        runner.join(5)
        self.assertFalse(runner.is_alive())

    def test_the_log_says_down_once_and_up_again(self):
        logs = []
        reporter = Reporter(lambda *a, **k: None, lambda m, level="info": logs.append((level, m)))
        c = check(name="api", url="http://127.0.0.1:8080/")
        from uptime_net import Outcome
        for outcome in (Outcome(True, detail="status 200", latency_ms=3), Outcome(False, "timeout", "no answer within 10 s"),
                        Outcome(False, "timeout", "no answer within 10 s"), Outcome(False, "refused", "refused"),
                        Outcome(True, detail="status 200", latency_ms=4)):
            reporter.record(c, outcome, 0)
        self.assertEqual(logs, [
            ("info", "check api (http http://127.0.0.1:8080) is up: status 200 in 3 ms"),
            ("warning", "check api (http http://127.0.0.1:8080) is down: timeout: no answer within 10 s"),
            ("warning", "check api (http http://127.0.0.1:8080) is down: refused: refused"),
            ("info", "check api (http http://127.0.0.1:8080) is up again after 3 failed probe(s): status 200 in 4 ms")])


# -- through the real daemon ---------------------------------------------------------------------

import daemon as vigild  # noqa: E402
from daemon import Daemon, eventually  # noqa: E402

SKIP = vigild.available()

# The rules proposed for Config/operator-rules.yaml (ids uptime.*), with `for` shortened for the test
# and ids of their own, so the test holds whether or not the shipped file has them already.
RULES = """rules:
  - id: uptime_test.websocket_down
    rule: uptime_check_up{kind="websocket"} < 1 for %(for)s
    group_by: [check]
    incident_type: WebSocket server outage
    description: A WebSocket endpoint has failed its uptime check (upgrade or round trip) for %(for)s
  - id: uptime_test.endpoint_down
    rule: uptime_check_up{kind!="websocket"} < 1 for %(for)s
    group_by: [check]
    incident_type: Service outage
    description: An HTTP or TCP endpoint has failed its uptime check for %(for)s
  - id: uptime_test.tls_certificate_expiring
    rule: tls_certificate_expiring > 0
    group_by: [check]
    incident_type: TLS certificate expiry
    description: An endpoint's TLS certificate expires within the check's tls_warn_days
"""
PROPOSED_TYPES = {
    "Service outage": "  - name: Service outage\n    severity: P1 - Critical\n    components: [service]\n",
    "TLS certificate expiry": "  - name: TLS certificate expiry\n    severity: P3 - Medium\n    components: [tls]\n",
}


def incident_types_edit():
    """The (old, new) edit adding the proposed incident types the shipped configuration lacks."""
    with open(os.path.join(ROOT, "Config", "vigil.yaml")) as f:
        shipped = f.read()
    missing = "".join(text for name, text in PROPOSED_TYPES.items() if "- name: %s\n" % name not in shipped)
    return ("incident_types:\n", "incident_types:\n" + missing)


def incidents(d):
    out = d.vigil("incidents", "list", "--json")
    return out["incidents"] if isinstance(out, dict) else out


@unittest.skipIf(SKIP, SKIP or "")
class ThroughTheDaemonTests(unittest.TestCase):
    def test_an_endpoint_that_stops_answering_opens_an_outage_and_its_recovery_clears_it(self):
        folder = tempfile.mkdtemp(prefix="uptime-rules-", dir="/var/tmp")
        self.addCleanup(shutil.rmtree, folder, True)
        os.chmod(folder, 0o755)
        rules = os.path.join(folder, "uptime-rules.yaml")
        with open(rules, "w") as f:
            f.write(RULES % {"for": "2 seconds"})
        http_port, ws_port = free_port(), free_port()
        servers = {"http": HTTPServer(port=http_port), "ws": WebSocketServer("echo", port=ws_port)}
        self.addCleanup(lambda: [s.stop() for s in servers.values()])
        silent = SilentServer()  # accepts and never answers, all along: its own incident, nobody else's delay
        self.addCleanup(silent.stop)
        config = os.path.join(ROOT, "Config")
        checks = [
            {"name": "api", "url": "http://127.0.0.1:%d/healthz" % http_port, "interval_seconds": 0.5 + 0.5,
             "timeout_seconds": 0.5},
            {"name": "terminal-ws", "url": "ws://127.0.0.1:%d/socket" % ws_port, "interval_seconds": 1,
             "timeout_seconds": 0.5},
            {"name": "hang", "url": "http://127.0.0.1:%d/" % silent.port, "interval_seconds": 1, "timeout_seconds": 0.8},
            {"name": "undeclared", "url": "http://127.0.0.1:%d/" % free_port()},
            {"name": "broken", "url": "gopher://x"},
        ]
        plugin = {"config": {"checks": checks},
                  "sandbox": {"egress": ["127.0.0.1:%d" % p for p in (http_port, ws_port, silent.port)]}}
        files = "files: [%s/detection-rules.yaml, %s/operator-rules.yaml]" % (config, config)
        with Daemon(plugins={"uptime-checks": plugin},
                    replace=[(files, files[:-1] + ", %s]" % rules),
                             incident_types_edit(),
                             ("    move_to: validating\n    after: 5 minutes", "    move_to: validating\n    after: 1 second")]) as d:
            self.assertTrue(eventually(lambda: d.plugin_running("uptime-checks"), 60), d.log()[-3000:])
            self.assertTrue(eventually(lambda: "check terminal-ws (websocket ws://127.0.0.1:%d) is up" % ws_port in d.log()
                                       and "check api (http http://127.0.0.1:%d) is up" % http_port in d.log(), 30),
                            d.log()[-3000:])
            log = d.log()
            self.assertIn("checks[3] (undeclared): 127.0.0.1:", log)
            self.assertIn("is not declared under sandbox.egress", log)
            self.assertIn("checks[4] (broken): url must start with http:// or https://", log)
            hang = eventually(lambda: [i for i in incidents(d) if i["labels"].get("check") == "hang"], 20)
            self.assertTrue(hang, d.log()[-3000:])
            self.assertIn("check hang (http http://127.0.0.1:%d) is down: timeout: no answer within 0.8 s "
                          "(reading the response head)" % silent.port, d.log())
            self.assertEqual([i["labels"].get("check") for i in incidents(d) if i["source"].startswith("rule:uptime_test.")],
                             ["hang"], "the healthy checks opened nothing")

            for server in servers.values():
                server.stop()
            opened = eventually(lambda: (lambda found: found if len(found) == 2 else None)(
                {i["type"]: i for i in incidents(d) if i.get("source", "").startswith("rule:uptime_test.")
                 and i["labels"].get("check") != "hang"}), 30)
            self.assertIsNotNone(opened, json.dumps(incidents(d), indent=1)[-3000:] + d.log()[-3000:])
            self.assertEqual(set(opened), {"WebSocket server outage", "Service outage"})
            ws_incident = opened["WebSocket server outage"]
            self.assertEqual(ws_incident["source"], "rule:uptime_test.websocket_down")
            self.assertEqual(ws_incident["labels"].get("check"), "terminal-ws")
            self.assertEqual(opened["Service outage"]["labels"].get("check"), "api")
            self.assertIn("is down: refused", d.log())
            self.assertFalse(any(i.get("source") == "rule:system_health.network_latency" for i in incidents(d)))

            servers["http"] = HTTPServer(port=http_port)
            servers["ws"] = WebSocketServer("echo", port=ws_port)
            def cleared():
                both = [d.incident(i["id"]) for i in opened.values()]
                return both if all(x.get("condition_cleared_at") and x["state"] == "validating" for x in both) else None
            both = eventually(cleared, 30)
            self.assertIsNotNone(both, json.dumps([d.incident(i["id"]) for i in opened.values()], indent=1)[-4000:])
            for incident in both:
                texts = [e.get("text") or e.get("message") or json.dumps(e) for e in incident.get("timeline", [])]
                self.assertTrue(any("condition" in t and "cleared" in t for t in texts), texts)
            self.assertIn("is up again after", d.log())
            self.assertTrue(d.plugin_running("uptime-checks"))
            self.assertNotEqual(d.incident(hang[0]["id"])["state"], "validating", "the silent endpoint is still down")
            self.test_output = (d.vigil("incidents", "list"), [l for l in d.log().splitlines() if "uptime" in l][-12:],
                                d.vigil("incidents", "show", both[0]["id"]))
            if os.environ.get("UPTIME_SHOW"):
                print("\n".join([self.test_output[0]] + [l for l in d.log().splitlines() if "uptime" in l]))

    def test_idle_by_default_and_tls_in_the_sandbox_with_a_private_ca(self):
        with Daemon(plugins={"uptime-checks": {}}) as d:
            self.assertTrue(eventually(lambda: d.plugin_running("uptime-checks"), 60), d.log()[-3000:])
            self.assertTrue(eventually(lambda: "no checks to run (config.checks is empty): idle" in d.log(), 20),
                            d.log()[-3000:])
            if os.environ.get("UPTIME_SHOW"):
                print("\n".join(l for l in d.log().splitlines() if "uptime" in l))
        folder = tempfile.mkdtemp(prefix="uptime-ca-", dir="/var/tmp")
        self.addCleanup(shutil.rmtree, folder, True)
        os.chmod(folder, 0o755)
        cert = make_certificate(folder, days=5)
        os.chmod(cert[0], 0o644)
        with open(os.path.join(folder, "uptime-rules.yaml"), "w") as f:
            f.write(RULES % {"for": "2 seconds"})
        server = HTTPServer(certificate=cert)
        self.addCleanup(server.stop)
        config = os.path.join(ROOT, "Config")
        files = "files: [%s/detection-rules.yaml, %s/operator-rules.yaml]" % (config, config)
        with open(os.path.join(config, "vigil.yaml")) as f:
            grant = [line for line in f if line.strip().startswith("uptime-checks:")][0]
        plugin = {"config": {"checks": [{"name": "shop", "url": "https://localhost:%d/" % server.port, "ca_file": cert[0],
                                         "interval_seconds": 1, "timeout_seconds": 1, "tls_warn_days": 14}]},
                  "sandbox": {"egress": ["localhost:%d" % server.port], "read_paths": ["../sdk/python", cert[0]]}}
        with Daemon(plugins={"uptime-checks": plugin},
                    replace=[(files, files[:-1] + ", %s/uptime-rules.yaml]" % folder), incident_types_edit(),
                             (grant, grant.replace("emits:", "read_paths: [%s], emits:" % cert[0]))]) as d:
            opened = eventually(lambda: [i for i in incidents(d) if i.get("type") == "TLS certificate expiry"], 30)
            self.assertTrue(opened, d.log()[-3000:])
            self.assertEqual(opened[0]["labels"].get("check"), "shop")
            self.assertIn("check shop (http https://localhost:%d) is up: status 200" % server.port, d.log())
            self.assertIn("the TLS certificate expires in 5.0 day(s) (tls_warn_days: 14)", d.log())
            if os.environ.get("UPTIME_SHOW"):
                print(d.vigil("incidents", "list"))
                print("\n".join(l for l in d.log().splitlines() if "uptime" in l))


if __name__ == "__main__":
    unittest.main()
