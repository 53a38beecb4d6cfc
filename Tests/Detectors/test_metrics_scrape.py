"""metrics-scrape against real inputs: node_exporter's and vigild's own /metrics, Prometheus's own
parser (promtool) as the judge of malformed lines, hostile endpoints on 127.0.0.1 (down, hanging,
trickling, huge lines and bodies, millions of series), and the real vigild opening a Performance
degradation incident from a scraped `terminal_renderer_fps 5`.

Run as root: `cd Tests/Detectors && /usr/bin/python3 -m unittest test_metrics_scrape -v`.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "Notifiers"))
from scrape_fixtures import Drip, Exposition, Recorder, Silent, closed_port, direct, eventually  # noqa: E402
import prom_text  # noqa: E402
import metrics_scrape  # noqa: E402  (defines run(); runs nothing when imported)
import vigil_plugin  # noqa: E402  (on the path metrics_scrape put it on)
from scrape_settings import ConfigError, Settings  # noqa: E402
import daemon as vigild  # noqa: E402

SKIP = vigild.available()
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
PROMTOOL = "/usr/bin/promtool"


def parse(text, **limits):
    samples = []
    report = prom_text.parse_bytes(text if isinstance(text, bytes) else text.encode(), samples.append, **limits)
    return samples, report


def scraper(targets, **more):
    config = dict(more, targets=targets)
    vigil = Recorder()
    return metrics_scrape.Scraper(vigil, Settings(config), connect=direct), vigil


class ParserTests(unittest.TestCase):
    def test_the_format_with_escapes_special_values_timestamps_histograms_and_summaries(self):
        samples, report = parse(
            '# HELP http_requests_total The total number of HTTP requests.\n'
            '# TYPE http_requests_total counter\n'
            'http_requests_total{method="post",code="200"} 1027 1395066363000\n'
            'http_requests_total{method="post",code="400"}    3 1395066363000\n'
            '\n'
            '# Escaping in label values:\n'
            'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9\n'
            'metric_without_timestamp_and_labels 12.47\n'
            'something_weird{problem="division by zero"} +Inf -3982045\n'
            'minus_inf -Inf\n'
            'not_a_number NaN\n'
            '# TYPE http_request_duration_seconds histogram\n'
            'http_request_duration_seconds_bucket{le="0.05"} 24054\n'
            'http_request_duration_seconds_bucket{le="+Inf"} 144320\n'
            'http_request_duration_seconds_sum 53423\n'
            'http_request_duration_seconds_count 144320\n'
            '# TYPE rpc_duration_seconds summary\n'
            'rpc_duration_seconds{quantile="0.99",} 76656\n'
            'rpc_duration_seconds_sum 1.7560473e+07\n'
            '\ttabbed_and_spaced  {  a = "b" , c="d"  }  1 42\n'
            '# EOF\n')
        self.assertEqual(report.errors, [])
        by_name = {}
        for s in samples:
            by_name.setdefault(s.name, []).append(s)
        self.assertEqual(by_name["http_requests_total"][1].labels, (("method", "post"), ("code", "400")))
        self.assertEqual(by_name["http_requests_total"][0].timestamp_ms, 1395066363000)
        self.assertEqual(dict(by_name["msdos_file_access_time_seconds"][0].labels),
                         {"path": "C:\\DIR\\FILE.TXT", "error": 'Cannot find file:\n"FILE.TXT"'})
        self.assertEqual(by_name["something_weird"][0].value, float("inf"))
        self.assertEqual(by_name["something_weird"][0].timestamp_ms, -3982045)
        self.assertEqual(by_name["minus_inf"][0].value, float("-inf"))
        self.assertNotEqual(by_name["not_a_number"][0].value, by_name["not_a_number"][0].value)
        self.assertEqual(by_name["http_request_duration_seconds_bucket"][1].labels, (("le", "+Inf"),))
        self.assertEqual(dict(by_name["tabbed_and_spaced"][0].labels), {"a": "b", "c": "d"})
        self.assertEqual(report.samples, 14)

    @unittest.skipIf(not os.access(PROMTOOL, os.X_OK), "promtool (Debian's prometheus package) is not installed")
    def test_each_malformed_line_is_refused_where_prometheus_refuses_it_and_the_rest_kept(self):
        head = "# HELP ok_metric fine\n# TYPE ok_metric gauge\nok_metric 1\n"
        bad_lines = [
            b'bad_escape{a="x\\q"} 1', b'dup_label{a="1",a="2"} 1', b'no_value', b'no_value{a="b"}',
            b'bad_value 12abc', b'bad_ts 1 1.5', b'too_many 1 2 3', b'unclosed{a="b} 1', b'1starts_with_digit 1',
            b'bad_label{1a="b"} 1', b'reserved{__name__="x"} 1', b'# TYPE ok_metric counter', b'# TYPE t frobnicator',
            b'# HELP h bad \\t escape', b'lat{a="\xff\xfe"} 1', b'name\x00 1', b'x{a="b"c="d"} 1', b'y{a=b} 1', b'trailing_blank 1 ', b'after_timestamp 1 2 ',
        ]
        for bad in bad_lines:
            body = head.encode() + bad + b"\nafter 2\n"
            with self.subTest(line=bad):
                judged = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True, timeout=30)
                self.assertIn(b"parsing error in line 4", judged.stderr + judged.stdout)
                samples, report = parse(body)
                self.assertEqual(report.bad_lines, 1, report.errors)
                self.assertTrue(report.errors[0].startswith("line 4: "), report.errors)
                self.assertEqual([s.name for s in samples], ["ok_metric", "after"])

    def test_hostile_bodies_are_bounded_and_named(self):
        # A line over the cap is skipped by number; invalid UTF-8 named by byte.
        samples, report = parse(b"a 1\n" + b"b" * 70000 + b" 1\n" + b'c{x="\xc3\x28"} 1\nd 4\n', max_line_bytes=65536)
        self.assertEqual([s.name for s in samples], ["a", "d"])
        self.assertEqual(report.errors, ["line 2: longer than 65536 bytes; skipped", "line 3: invalid UTF-8 at byte 6"])
        # Garbage: at most max_errors bad lines are read, and only errors_kept are kept.
        samples, report = parse(os.urandom(200000).replace(b"\n", b"\n\x01"), max_errors=50)
        self.assertLessEqual(report.bad_lines, 50)
        self.assertEqual(len(report.errors), 10)
        # Too many samples: the rest of the body is not read.
        body = b"".join(b'series{i="%d"} 1\n' % i for i in range(5000))
        samples, report = parse(body, max_samples=1000)
        self.assertEqual(len(samples), 1000)
        self.assertIn("more than 1000 samples", report.stopped)

    @unittest.skipIf(not os.access(NODE_EXPORTER, os.X_OK), "prometheus-node-exporter is not installed")
    def test_node_exporters_real_metrics_parse_without_an_error(self):
        port = closed_port()
        proc = subprocess.Popen([NODE_EXPORTER, "--web.listen-address=127.0.0.1:%d" % port],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            def body():
                try:
                    return urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read()
                except OSError:
                    return None
            data = eventually(body, 20)
            self.assertTrue(data)
            samples, report = parse(data)
            self.assertEqual(report.errors, [])
            self.assertGreater(len(samples), 200)
            names = {s.name for s in samples}
            self.assertIn("node_load1", names)
            self.assertIn("go_gc_duration_seconds_sum", names)
            judged = subprocess.run([PROMTOOL, "check", "metrics"], input=data, capture_output=True, timeout=30)
            self.assertNotIn(b"parsing error", judged.stderr + judged.stdout)
        finally:
            proc.terminate()
            proc.wait(10)


class SettingsTests(unittest.TestCase):
    def test_nothing_is_forwarded_without_a_mapping_and_errors_name_their_field(self):
        s = Settings({"targets": [{"url": "http://127.0.0.1:1/metrics"},
                                  {"url": "ftp://x/metrics", "metrics": ["a"]},
                                  {"url": "http://127.0.0.1:2/m", "metrics": [{"match": "a", "mode": "avg"}]},
                                  {"url": "http://127.0.0.1:3/m", "metrics": [{"match": "vigil_rules_total"}]},
                                  {"url": "http://127.0.0.1:4/m", "metrics": [{"match": "a", "labels": {"source": "x"}}]},
                                  {"url": "http://127.0.0.1:5/m", "name": "ok", "metrics": ["a"]}]})
        self.assertEqual([t.name for t in s.targets], ["ok"])
        self.assertIn("config.targets[0].metrics: list the metrics to forward", s.errors[0])
        self.assertIn("config.targets[1].url: expected an http:// or https:// URL", s.errors[1])
        self.assertIn("config.targets[2].metrics[0].mode: expected one of value, delta, rate, found 'avg'", s.errors[2])
        self.assertIn("vigil_rules_total is one of the daemon's own names", s.errors[3])
        self.assertIn("'source' is not a label name a plugin may send", s.errors[4])
        with self.assertRaisesRegex(ConfigError, "config.intervall: not a setting"):
            Settings({"intervall": 5})


class ScrapeTests(unittest.TestCase):
    def test_the_issues_examples_fps_quota_and_errors_are_mapped_and_the_rest_not_forwarded(self):
        with Exposition() as app:
            app.body = (b'# TYPE terminal_renderer_fps gauge\nterminal_renderer_fps{window="main"} 7\n'
                        b'# TYPE api_quota_used_ratio gauge\napi_quota_used_ratio{api="github",plugin="x",source="y"} 0.93\n'
                        b'# TYPE http_requests_total counter\nhttp_requests_total{code="500"} 10\nhttp_requests_total{code="200"} 990\n'
                        b'go_goroutines 12\n')
            s, vigil = scraper([{"url": app.url, "name": "app", "labels": {"component": "terminal_renderer"}, "metrics": [
                {"match": "terminal_renderer_fps", "name": "fps", "keep_labels": []},
                {"match": "api_quota_used_ratio", "name": "api_quota_usage", "unit": "ratio", "labels": {"component": "api"}},
                {"match": "http_requests_total", "name": "application_errors", "match_labels": {"code": "5.."}, "mode": "delta",
                 "rename_labels": {"code": "status"}, "labels": {"component": "application"}}]}])
            target = s.settings.targets[0]
            s.scrape(target)
            self.assertEqual(vigil.named("fps"), [{"name": "fps", "value": 7.0, "labels": {"component": "terminal_renderer"}}])
            quota = vigil.named("api_quota_usage")[0]
            self.assertEqual((quota["value"], quota["unit"]), (0.93, "ratio"))
            self.assertEqual(quota["labels"]["component"], "api")
            self.assertEqual((quota["labels"]["exported_plugin"], quota["labels"]["exported_source"]), ("x", "y"))
            self.assertNotIn("plugin", quota["labels"])
            self.assertEqual(vigil.named("application_errors"), [])  # the first scrape sets the baseline
            self.assertEqual(vigil.named("go_goroutines"), [])
            self.assertEqual(vigil.named("scrape_up")[-1], {"name": "scrape_up", "value": 1, "labels": {"target": "app", "component": "terminal_renderer"}})
            app.body = app.body.replace(b'code="500"} 10', b'code="500"} 25')
            s.scrape(target)
            self.assertEqual(vigil.named("application_errors"), [
                {"name": "application_errors", "value": 15.0, "labels": {"status": "500", "component": "application"}}])
            self.assertEqual(app.requests[0]["headers"]["Accept"], "text/plain;version=0.0.4;q=1,*/*;q=0.1")

    def test_a_down_hanging_or_failing_target_is_scrape_up_0_with_one_log_line(self):
        with Exposition() as app:
            s, vigil = scraper([{"url": "http://127.0.0.1:%d/metrics" % closed_port(), "name": "down", "metrics": ["x"]},
                                {"url": app.url, "name": "hang", "timeout": 0.5, "metrics": ["x"]}])
            down, hang = s.settings.targets
            s.scrape(down)
            s.scrape(down)
            self.assertEqual([e["value"] for e in vigil.named("scrape_up")], [0, 0])
            self.assertEqual(len([m for l, m in vigil.logs if "down (" in m]), 1)
            self.assertRegex(vigil.logs[0][1], r"down \(http://127.0.0.1:\d+/metrics\): down: ConnectionRefusedError")
            app.hang = True
            started = time.monotonic()
            s.scrape(hang)
            self.assertLess(time.monotonic() - started, 3)
            self.assertIn("hang (", vigil.logs[-1][1])
            self.assertIn("timed out", vigil.logs[-1][1])
            app.hang, app.status = False, 503
            s.scrape(hang)
            self.assertEqual(vigil.named("scrape_up")[-1]["value"], 0)
            app.status, app.body = 200, b"x 1\n"
            s.scrape(hang)
            self.assertEqual(vigil.named("scrape_up")[-1]["value"], 1)
            self.assertIn("hang (%s): up" % app.url, vigil.logs[-1][1])

    def test_a_trickling_endpoint_is_cut_at_the_timeout(self):
        with Exposition() as app:
            app.body, app.trickle = b"x 1\n" * 1000, 0.01
            s, vigil = scraper([{"url": app.url, "timeout": 0.5, "metrics": ["x"]}])
            started = time.monotonic()
            s.scrape(s.settings.targets[0])
            self.assertLess(time.monotonic() - started, 2.0)
            self.assertEqual(vigil.named("scrape_up")[-1]["value"], 0)

    def test_an_endpoint_dripping_a_byte_under_the_socket_timeout_ends_at_the_deadline(self):
        # One byte every 0.4 s never lets a 1 s socket timeout fire: only the whole-scrape
        # deadline, applied to every read, ends it. Both the head and the body are dripped.
        for head_too in (False, True):
            with self.subTest(head_too=head_too), Drip(every=0.4, head_too=head_too) as drip, Exposition() as app:
                app.body = b"fps 42\n"
                s, vigil = scraper([{"url": drip.url, "name": "drip", "timeout": 1.0, "metrics": ["fps"]},
                                    {"url": app.url, "name": "healthy", "timeout": 1.0, "metrics": ["fps"]}])
                took = {}

                def scrape_all():  # as run() does: one target after the other
                    for target in s.settings.targets:
                        started = time.monotonic()
                        s.scrape(target)
                        took[target.name] = time.monotonic() - started
                worker = threading.Thread(target=scrape_all, daemon=True)
                worker.start()
                worker.join(10)
                self.assertFalse(worker.is_alive(), "the dripping target held the scraper for 10 s")
                self.assertEqual(drip.served, 1)
                self.assertGreaterEqual(took["drip"], 0.9)
                self.assertLess(took["drip"], 1.5)
                up = {e["labels"]["target"]: e["value"] for e in vigil.named("scrape_up")}
                self.assertEqual(up, {"drip": 0, "healthy": 1})
                self.assertEqual(vigil.named("fps")[-1]["value"], 42.0)
                down = [m for level, m in vigil.logs if level == "warning" and m.startswith("drip (%s): down" % drip.url)]
                self.assertEqual(len(down), 1, vigil.logs)
                said = "drip (%s): down: timed out: no complete answer within the timeout (1s) while " % drip.url
                if head_too:
                    self.assertEqual(down[0], said + "reading the head")
                else:
                    # The head and "fps 1\n" came at once, then an "x" every 0.4 s (a partial line, counted too).
                    self.assertRegex(down[0], "^" + re.escape(said + "reading the body; ") + r"(\d+) body bytes read$")
                    self.assertIn(int(re.search(r"; (\d+) body bytes read$", down[0]).group(1)), range(6, 10))

    def test_a_healthy_target_keeps_its_interval_while_a_dripping_one_is_cut(self):
        # run() itself, as the plugin runs: the dripping target is first in line at every round.
        with Drip(every=0.4) as drip, Exposition() as app:
            app.body = b"fps 42\n"
            vigil = Recorder({"targets": [
                {"url": drip.url, "name": "drip", "interval": 1.5, "timeout": 1.0, "metrics": ["fps"]},
                {"url": app.url, "name": "healthy", "interval": 1.5, "timeout": 1.0, "metrics": ["fps"]}]})
            started = time.monotonic()
            worker = threading.Thread(target=metrics_scrape.run, args=(vigil,), daemon=True)
            worker.start()
            try:
                self.assertTrue(eventually(lambda: len(app.requests) >= 3, 12), (app.requests, vigil.logs))
            finally:
                vigil.stopping.set()
                worker.join(5)
            self.assertFalse(worker.is_alive(), "run() did not stop")
            at = [started] + [r["at"] for r in app.requests[:3]]
            # The first scrape of the healthy target waits for the dripping one's timeout only ...
            self.assertLess(at[1] - at[0], 1.5)
            # ... and after that it is scraped every interval, the drip's second second included.
            for before, after in zip(at[1:], at[2:]):
                self.assertLess(after - before, 1.5 + 0.4, [round(t - started, 2) for t in at])
            self.assertGreaterEqual(drip.served, 2)
            up = [(e["labels"]["target"], e["value"]) for e in vigil.named("scrape_up")]
            self.assertTrue({("drip", 0), ("healthy", 1)} >= set(up) and ("drip", 0) in up, up)
            self.assertIn("drip (%s): down: timed out: no complete answer within the timeout (1s) while reading the body" % drip.url,
                          "\n".join(m for _, m in vigil.logs))

    def test_the_tls_handshake_gets_only_the_time_left_after_the_connect(self):
        # The broker's connect took 0.8 s of a 1 s timeout (a clock moved on by 0.8 s); a server
        # that accepts and never answers the ClientHello then holds the handshake for 0.2 s, not 1 s.
        skew = [0.0]

        def clock():
            return time.monotonic() + skew[0]

        def slow_connect(url, timeout):
            self.assertAlmostEqual(timeout, 1.0, delta=0.1)
            skew[0] += 0.8
            return vigil_plugin.http_connection(url, timeout)
        with Silent() as silent:
            vigil = Recorder()
            url = "https://127.0.0.1:%d/metrics" % silent.port
            s = metrics_scrape.Scraper(vigil, Settings({"targets": [{"url": url, "name": "tls", "timeout": 1.0, "metrics": ["fps"]}]}),
                                       connect=slow_connect, clock=clock)
            started = time.monotonic()
            s.scrape(s.settings.targets[0])
            took = time.monotonic() - started
            self.assertEqual(silent.accepted, 1)
            self.assertGreaterEqual(took, 0.15)
            self.assertLess(took, 0.7, "the handshake got a fresh timeout")
            self.assertEqual(vigil.logs, [("warning", "tls (%s): down: timed out: no complete answer within the timeout (1s) "
                                                      "while in the TLS handshake" % url)])
            self.assertEqual(vigil.named("scrape_up")[-1]["value"], 0)

    def test_a_huge_line_a_huge_body_and_millions_of_series_stay_bounded(self):
        with Exposition() as app:
            def hostile():
                yield b"fps 3\n"
                yield b"x" * (1 << 20)  # a 64 MiB line, never held
                for _ in range(63):
                    yield b"x" * (1 << 20)
                yield b" 1\n"
                chunk = b"".join(b'fps{i="%d"} 1\n' % i for i in range(10000))
                for _ in range(100):  # a million series
                    yield chunk
            app.stream = hostile
            s, vigil = scraper([{"url": app.url, "timeout": 60, "max_series": 100, "max_body_bytes": "256 MiB", "metrics": ["fps"]}])
            import resource
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            started = time.monotonic()
            scrape = s.scrape(s.settings.targets[0])
            elapsed = time.monotonic() - started
            grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
            self.assertEqual(len(vigil.named("fps")), 100)
            self.assertEqual(scrape.over_cap, 1000000 - 100)  # the millionth-and-first sample is past max_samples
            self.assertLess(grown_kib, 64 * 1024, "memory grew by %d KiB" % grown_kib)
            logs = "\n".join(m for _, m in vigil.logs)
            self.assertIn("line 2: longer than 65536 bytes; skipped", logs)
            self.assertIn("999900 series over max_series (100) not forwarded", logs)
            self.assertIn("more than 1000000 samples; the rest of the body was not read", logs)
            print("\n1,000,002 lines (78 MB) scraped in %.1f s, max RSS grew %d KiB" % (elapsed, grown_kib), file=sys.stderr)
        with Exposition() as app:
            app.body = b"fps 1\n" * 400000
            s, vigil = scraper([{"url": app.url, "max_body_bytes": "1 MiB", "metrics": ["fps"]}])
            s.scrape(s.settings.targets[0])
            self.assertIn("larger than max_body_bytes (1048576); only its first 1048572 bytes were read",
                          "\n".join(m for _, m in vigil.logs))
            self.assertEqual(vigil.named("scrape_up")[-1]["value"], 1)

    def test_nan_inf_and_the_total_series_budget_are_not_sent(self):
        with Exposition() as app:
            app.body = b'fps{i="1"} NaN\nfps{i="2"} +Inf\nfps{i="3"} 1\nfps{i="4"} 2\nfps{i="5"} 3\n'
            s, vigil = scraper([{"url": app.url, "metrics": ["fps"]}], max_series_total=2)
            s.scrape(s.settings.targets[0])
            self.assertEqual([e["labels"]["i"] for e in vigil.named("fps")], ["3", "4"])
            logs = "\n".join(m for _, m in vigil.logs)
            self.assertIn("2 NaN/Inf value(s) not forwarded", logs)
            self.assertIn("max_series_total (2)", logs)


# A short `for`, so the test does not wait the seed's 30 seconds; the seed rule watches the same events.
FPS_RULE = """rules:
  - id: test.terminal_renderer_fps_short
    rule: terminal_renderer fps < 10 for 2 seconds
    incident_type: Performance degradation
    description: The terminal renderer drew fewer than 10 frames per second (test rule)
"""


@unittest.skipIf(SKIP, SKIP or "")
class ThroughTheDaemonTests(unittest.TestCase):
    def test_a_scraped_low_fps_opens_a_performance_degradation_incident(self):
        folder = tempfile.mkdtemp(prefix="scrape-e2e-", dir="/var/tmp")
        os.chmod(folder, 0o755)
        rules = os.path.join(folder, "rules.yaml")
        with open(rules, "w") as f:
            f.write(FPS_RULE)
        os.chmod(rules, 0o644)
        try:
            with Exposition() as app:
                app.body = b"# HELP terminal_renderer_fps Frames drawn per second.\n# TYPE terminal_renderer_fps gauge\nterminal_renderer_fps 5\n"
                with vigild.Daemon(
                        plugins={"metrics-scrape": {
                            "config": {"targets": [{"url": app.url, "name": "renderer", "interval": "0.5 seconds",
                                                    "labels": {"component": "terminal_renderer"},
                                                    "metrics": [{"match": "terminal_renderer_fps", "name": "fps"}]}]},
                            "sandbox": {"egress": ["127.0.0.1:%d" % app.port]}}},
                        replace=[("operator-rules.yaml]", "operator-rules.yaml, %s]" % rules)]) as d:
                    incident = vigild.eventually(lambda: next((i for i in d.vigil("incidents", "list", "--json")
                                                               if i.get("type") == "Performance degradation"), None), 60)
                    self.assertIsNotNone(incident, d.log()[-4000:])
                    shown = json.dumps(d.incident(incident["id"]))
                    self.assertIn("terminal_renderer", shown)
                    self.assertIn("plugin:metrics-scrape", shown)
                    self.assertTrue(app.requests)
                    # vigild's own /metrics is real exposition output too.
                    samples, report = parse(urllib.request.urlopen(d.url + "/metrics", timeout=10).read())
                    self.assertEqual(report.errors, [])
                    self.assertGreater(len(samples), 10)
                    print("\n" + d.vigil("incidents", "list"), file=sys.stderr)
                    print("\n".join(l for l in d.log().splitlines() if "metrics-scrape" in l)[-3000:], file=sys.stderr)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
