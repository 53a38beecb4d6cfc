#!/usr/bin/env python3
"""metrics-scrape: scrapes Prometheus text endpoints (`/metrics` of the watched applications)
through vigild's egress broker and forwards the series its configuration names as Vigil events,
so `terminal_renderer fps < 10 for 30 seconds`, quota and error-rate rules hear the application.

Per target and scrape it also sends `scrape_up` (1 or 0; labels `target` and the target's
`labels`), `scrape_duration` (s), `scrape_samples` (series forwarded) and `scrape_bad_lines`.
See Docs/detectors/metrics-scrape.md.
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("VIGIL_SDK") or os.path.join(HERE, "..", "sdk", "python"))
sys.path.insert(0, HERE)
import vigil_plugin  # noqa: E402
import prom_text  # noqa: E402
from scrape_http import ScrapeFailed, fetch  # noqa: E402
from scrape_mapping import Scrape, SeriesBook  # noqa: E402
from scrape_settings import ConfigError, Settings  # noqa: E402

DOWN_LOG_EVERY = 3600.0  # a target still down is logged again this often


class Scraper:
    """Scrapes targets and turns each scrape into events and log lines (tested without a daemon)."""

    def __init__(self, vigil, settings, connect=vigil_plugin.http_connection, clock=time.monotonic):
        self.vigil = vigil
        self.settings = settings
        self.connect = connect
        self.clock = clock
        self.book = SeriesBook(settings.max_series_total)
        self.up = {}          # target name → True/False
        self.down_logged = {}  # target name → clock of the last "down" line
        self.warned = set()   # (target, kind of warning) already logged

    def scrape(self, target):
        started = self.clock()
        scrape = Scrape(target, self.book, started)
        parser = prom_text.Parser(scrape.on_sample, max_line_bytes=target.max_line_bytes)
        base = dict(target.labels, target=target.name)
        try:
            fetched = fetch(target, parser, self.connect, self.clock)
        except ScrapeFailed as error:
            self._down(target, str(error), base)
            return scrape
        elapsed = self.clock() - started
        report = parser.report
        for event in scrape.events:
            self.vigil.metric(event["name"], event["value"], unit=event.get("unit"), labels=event["labels"])
        self.vigil.metric("scrape_up", 1, labels=base)
        self.vigil.metric("scrape_duration", round(elapsed, 6), unit="s", labels=base)
        self.vigil.metric("scrape_samples", len(scrape.events), labels=base)
        self.vigil.metric("scrape_bad_lines", report.bad_lines, labels=base)
        if self.up.get(target.name) is not True:
            self.vigil.log("%s (%s): up; %d sample(s) read, %d forwarded, %d bad line(s) in %d bytes, %.3f s" % (
                target.name, target.url, report.samples, len(scrape.events), report.bad_lines, fetched.bytes, elapsed))
        self.up[target.name] = True
        self.down_logged.pop(target.name, None)
        self._warn(target, "bad", report.bad_lines, "%d bad line(s), skipped (the rest was kept); first: %s" % (
            report.bad_lines, "; ".join(report.errors[:3])))
        self._warn(target, "stopped", report.stopped, report.stopped)
        self._warn(target, "truncated", fetched.truncated, fetched.truncated)
        self._warn(target, "cap", scrape.over_cap, "%d series over max_series (%d) not forwarded" % (scrape.over_cap, target.max_series))
        self._warn(target, "total", self.book.refused, "%d new series refused: max_series_total (%d) series were already sent "
                   "since the start" % (self.book.refused, self.settings.max_series_total))
        self._warn(target, "limits", scrape.over_limits, scrape.first_problem)
        self._warn(target, "reserved", scrape.reserved, "not forwarded, the daemon's own names: %s (rename them with name:)"
                   % ", ".join(sorted(scrape.reserved)[:5]))
        self._warn(target, "nonfinite", scrape.not_finite, "%d NaN/Inf value(s) not forwarded" % scrape.not_finite)
        if report.samples and not scrape.matched:
            self._warn(target, "nomatch", True, "none of the %d sample(s) matches a mapping under metrics:" % report.samples)
        return scrape

    def _down(self, target, reason, base):
        self.vigil.metric("scrape_up", 0, labels=base)
        now = self.clock()
        last = self.down_logged.get(target.name)
        if self.up.get(target.name) is not False or last is None or now - last >= DOWN_LOG_EVERY:
            self.vigil.log("%s (%s): down: %s" % (target.name, target.url, reason), level="warning")
            self.down_logged[target.name] = now
        self.up[target.name] = False

    def _warn(self, target, kind, condition, text):
        """Logs a problem the first time a target shows it (and again after it went away)."""
        key = (target.name, kind)
        if condition:
            if key not in self.warned:
                self.warned.add(key)
                self.vigil.log("%s (%s): %s" % (target.name, target.url, text), level="warning")
        else:
            self.warned.discard(key)


def run(vigil):
    try:
        settings = Settings(vigil.config)
    except ConfigError as error:
        vigil.log("configuration error, nothing is scraped until plugin.yaml is fixed: %s" % error, level="error")
        vigil.stopping.wait()
        return
    for problem in settings.errors:
        vigil.log("skipped a target: %s" % problem, level="error")
    if not settings.targets:
        vigil.log("no targets configured (config.targets in plugin.yaml); idle. See Docs/detectors/metrics-scrape.md")
        vigil.stopping.wait()
        return
    vigil.log("scraping %d target(s): %s" % (len(settings.targets), ", ".join(
        "%s=%s every %gs" % (t.name, t.url, t.interval) for t in settings.targets)))
    scraper = Scraper(vigil, settings)
    due = {t.name: time.monotonic() for t in settings.targets}
    while not vigil.stopping.is_set():
        for target in settings.targets:
            if time.monotonic() >= due[target.name] and not vigil.stopping.is_set():
                due[target.name] = time.monotonic() + target.interval
                try:
                    scraper.scrape(target)
                except Exception as error:  # a bug must not stop the other targets
                    vigil.log("%s: scrape failed: %s: %s" % (target.name, type(error).__name__, str(error)[:300]), level="error")
                vigil.flush()
        wait = min(due.values()) - time.monotonic()
        vigil.sleep(max(0.01, min(wait, 5.0)))


if __name__ == "__main__":
    vigil_plugin.Plugin("metrics-scrape", "1.0").run_detector(run)
