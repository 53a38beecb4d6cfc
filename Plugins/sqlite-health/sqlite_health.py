#!/usr/bin/env python3
"""sqlite-health: checks configured application SQLite databases on a schedule, read-only.

Each database is opened `mode=ro` (see sqlite_probe.py) and `PRAGMA quick_check` runs every
`quick_check_every`, `PRAGMA integrity_check` every `integrity_check_every`, and a quick_check soon
after the file changes. It sends:
- `sqlite_connection_failures` (signal; labels `database`, `kind`: busy, locked, io, notadb,
  cantopen, permission, readonly, missing, symlink, not_a_file, …) for every failed open or read,
  which the seed rule `sqlite_connection_failures > 5 in 1 minute` counts;
- `sqlite_corruption_detected` (signal; labels `database`, `check`, `detail`) when a check finds
  the file corrupt or not a database, again when what it finds changes, and every
  `repeat_corruption_every` while it lasts;
- `sqlite_check_duration` (seconds; labels `database`, `check`) after each check that ran.
See Docs/detectors/sqlite-health.md.
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("VIGIL_SDK") or os.path.join(HERE, "..", "sdk", "python"))
sys.path.insert(0, HERE)
import vigil_plugin  # noqa: E402
import sqlite_probe  # noqa: E402
from sqlite_schedule import Schedule  # noqa: E402
from sqlite_settings import ConfigError, Settings  # noqa: E402

UNSETTLED_RETRY = 5.0


def _fingerprint(path):
    try:
        st = os.stat(path, follow_symlinks=False)
        return (st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError as error:
        return ("error", error.errno)


def _size(size):
    if size is None:
        return "?"
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return ("%d %s" % (size, unit)) if unit == "bytes" else ("%.1f %s" % (size, unit))
        size /= 1024.0


class Watcher:
    """Turns check outcomes into events and log lines (the part tested without a daemon)."""

    def __init__(self, vigil, settings, clock=time.monotonic):
        self.vigil = vigil
        self.settings = settings
        self.clock = clock
        self.state = {}  # database name → (status, kind, detail of a failure)
        self.reported = {}  # database name → (problem, clock) of the last corruption signal

    def record(self, database, check, outcome):
        now = self.clock()
        name = database.name
        previous = self.state.get(name)
        # A failure is logged again when what it says changes (a refusal names what the path
        # was swapped for), not at every check.
        self.state[name] = (outcome.status, outcome.kind, outcome.detail if outcome.status == "failed" else None)
        changed = previous != self.state[name]
        where = "%s (%s)" % (name, database.path)
        if outcome.status in ("ok", "corrupt") or (outcome.status == "failed" and outcome.kind == "notadb"):
            self.vigil.metric("sqlite_check_duration", round(outcome.seconds, 6), unit="s",
                              labels=database.labels(check=check))
        if outcome.status == "ok":
            self.reported.pop(name, None)
            if changed:
                self.vigil.log("%s: %s ok in %.2f s (%s%s)" % (where, check, outcome.seconds, _size(outcome.size),
                                                              ", opened immutable=1: WAL without -shm" if outcome.immutable else ""))
            return
        if outcome.status == "interrupted":
            self.vigil.log("%s: %s; nothing is known about its health. A database of %s needs a longer "
                           "check_time_limit (or a less frequent integrity_check)" % (where, outcome.detail, _size(outcome.size)),
                           level="warning")
            return
        if outcome.status == "unsettled":
            self.vigil.log("%s: %s" % (where, outcome.detail), level="info")
            return
        if outcome.status == "failed":
            self.vigil.signal("sqlite_connection_failures", labels=database.labels(kind=outcome.kind))
            if changed:
                self.vigil.log("%s: cannot %s: %s [kind %s]" % (where, check.replace("_", " "), outcome.detail, outcome.kind),
                               level="warning")
            if outcome.kind != "notadb":
                return
        problem = outcome.problems[0] if outcome.problems else outcome.detail
        last = self.reported.get(name)
        repeat = self.settings.repeat_corruption_every
        if last is None or last[0] != problem or (repeat > 0 and now - last[1] >= repeat):
            self.reported[name] = (problem, now)
            self.vigil.signal("sqlite_corruption_detected",
                              labels=database.labels(check=check if outcome.kind != "notadb" else "open", detail=problem[:200]))
            shown = "; ".join(outcome.problems[:5]) or problem
            self.vigil.log("%s: CORRUPT: %s found %d problem(s)%s: %s" % (
                where, check, max(1, len(outcome.problems)),
                " (the first %d read, max_error_rows)" % self.settings.max_error_rows if len(outcome.problems) >= self.settings.max_error_rows else "",
                shown), level="error")


def run(vigil):
    try:
        settings = Settings(vigil.config)
    except ConfigError as error:
        vigil.log("configuration error, nothing is checked until plugin.yaml is fixed: %s" % error, level="error")
        vigil.stopping.wait()
        return
    for problem in settings.errors:
        vigil.log("skipped a database: %s" % problem, level="error")
    if not settings.databases:
        vigil.log("no databases configured (config.databases in plugin.yaml); idle. See Docs/detectors/sqlite-health.md")
        vigil.stopping.wait()
        return
    vigil.log("watching %d database(s): %s; quick_check every %gs, integrity_check every %gs" % (
        len(settings.databases), ", ".join("%s=%s" % (d.name, d.path) for d in settings.databases),
        settings.quick_check_every, settings.integrity_check_every))
    watcher = Watcher(vigil, settings)
    schedule = Schedule(settings.databases, time.monotonic(), settings.check_on_change, settings.stat_every)
    while not vigil.stopping.is_set():
        for watch, check in schedule.due(time.monotonic(), _fingerprint):
            if vigil.stopping.is_set():
                break
            seen = _fingerprint(watch.database.path)
            try:
                outcome = sqlite_probe.check(watch.database.path, check, settings.busy_timeout,
                                             settings.check_time_limit, settings.max_error_rows)
            except Exception as error:  # a bug must not stop the other databases' checks
                outcome = sqlite_probe.Outcome("failed", "other", "%s: %s" % (type(error).__name__, str(error)[:300]))
            schedule.done(watch, check, time.monotonic(), seen)
            if outcome.status == "unsettled":
                schedule.retry_soon(watch, time.monotonic(), UNSETTLED_RETRY)
            watcher.record(watch.database, check, outcome)
            vigil.flush()
        vigil.sleep(min(schedule.next_due(time.monotonic()), 5.0))


if __name__ == "__main__":
    vigil_plugin.Plugin("sqlite-health", "1.0").run_detector(run)
