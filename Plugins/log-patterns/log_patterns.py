#!/usr/bin/env python3
"""log-patterns: follows log files and the systemd journal and counts the lines matching patterns
(regular expressions with named captures as labels) into rate events, sent once per flush
interval as metric samples whose value is the count — so `authentication_failures > 20 in
1 minute` sums them (Docs/rules.md, "Counts") without one event per line.

Docs/detectors/log-patterns.md is the operator's page.
"""
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(HERE, "..", "sdk", "python"))

import lp_follow  # noqa: E402
import lp_journal  # noqa: E402
import lp_match  # noqa: E402
import lp_state  # noqa: E402

VERSION = "1.0"
MAX_FILES = 64
MAX_PATTERNS = 256


class RateLimitedLog:
    """The plugin's log, with lines of one `key` at most once a minute (the rest counted and
    reported with the next one): hostile input must not flood the daemon's log."""

    def __init__(self, sink, clock=time.monotonic, every=60.0):
        self.sink = sink
        self.clock = clock
        self.every = every
        self.last = {}
        self.suppressed = {}

    def __call__(self, message, level="info", key=None):
        if key is not None:
            now = self.clock()
            last = self.last.get(key)
            if last is not None and now - last < self.every:
                self.suppressed[key] = self.suppressed.get(key, 0) + 1
                return
            if len(self.last) > 4096:
                self.last.clear()
            self.last[key] = now
            skipped = self.suppressed.pop(key, 0)
            if skipped:
                message += " (and %d more like it in the last minute)" % skipped
        try:
            self.sink(message, level)
        except OSError:
            pass


# -- configuration -------------------------------------------------------------------------------

class Settings:
    """The manifest's `config:`, checked: a bad value is logged with its key and the default used."""

    def __init__(self, config, log):
        self.log = log
        if not isinstance(config, dict):
            log("config is not a mapping: using the defaults", "error")
            config = {}
        self.config = config
        files = config.get("files", ["/var/log/auth.log"])
        if not isinstance(files, list):
            log("config.files must be a list of absolute paths, found %s: following none" % type(files).__name__, "error")
            files = []
        self.files = []
        for path in files:
            if not isinstance(path, str) or not path.startswith("/") or "\x00" in path or len(path) > 4096:
                log("config.files: %r is not an absolute path: ignored" % (str(path)[:200],), "error")
            elif path not in self.files:
                self.files.append(os.path.normpath(path))
        if len(self.files) > MAX_FILES:
            log("config.files: %d files, following the first %d" % (len(self.files), MAX_FILES), "error")
            self.files = self.files[:MAX_FILES]
        self.start_at_end = self._bool("start_at_end", True)
        journal = config.get("journal", "auto")
        if journal not in (True, False, "auto"):
            log("config.journal must be true, false or auto, found %r: using auto" % (journal,), "error")
            journal = "auto"
        self.journal = journal
        self.journal_command = self._text("journal_command", "/usr/bin/journalctl")
        self.flush_interval = self._number("flush_interval_seconds", 1.0, 0.1, 60)
        self.poll_interval = self._number("poll_interval_seconds", 0.25, 0.01, 10)
        self.max_line_bytes = int(self._number("max_line_bytes", 65536, 256, 16 << 20))
        self.rotation_grace = self._number("rotation_grace_seconds", 5.0, 0, 3600)
        self.label_value_max = int(self._number("label_value_max", 64, 8, 512))
        self.label_sets_per_interval = int(self._number("max_label_sets_per_interval", 20, 1, 1000))
        self.label_sets = int(self._number("max_label_sets", 200, 1, 5000))
        self.patterns_file = self._text("patterns_file", "patterns.json", allow_empty=True)
        self.disable = config.get("disable_patterns", [])
        if not isinstance(self.disable, list) or not all(isinstance(x, str) for x in self.disable):
            log("config.disable_patterns must be a list of pattern names: ignored", "error")
            self.disable = []
        self.extra = config.get("patterns", [])
        if not isinstance(self.extra, list):
            log("config.patterns must be a list of patterns: ignored", "error")
            self.extra = []

    def _bool(self, key, default):
        value = self.config.get(key, default)
        if not isinstance(value, bool):
            self.log("config.%s must be true or false, found %r: using %s" % (key, value, default), "error")
            return default
        return value

    def _number(self, key, default, low, high):
        value = self.config.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (low <= value <= high):
            self.log("config.%s must be a number from %s to %s, found %r: using %s" % (key, low, high, value, default), "error")
            return default
        return value

    def _text(self, key, default, allow_empty=False):
        value = self.config.get(key, default)
        if not isinstance(value, str) or (not value and not allow_empty) or "\x00" in value:
            self.log("config.%s must be text, found %r: using %r" % (key, value, default), "error")
            return default
        return value


def declared_events(manifest_path=os.path.join(HERE, "plugin.yaml")):
    """A predicate for the names the manifest's one-line `emits: [...]` declares (exact names and
    `prefix*`), so a pattern counting into an undeclared name is refused here, with its name, rather
    than its events refused by the daemon; None (anything) when the line cannot be read."""
    try:
        with open(manifest_path, encoding="utf-8") as f:
            text = f.read(1 << 16)
    except OSError:
        return None
    match = re.search(r"^emits:\s*\[([^\]\n]*)\]", text, re.M)
    if match is None:
        return None
    entries = [e.strip().strip("\"'") for e in match.group(1).split(",") if e.strip()]
    exact = {e for e in entries if not e.endswith("*")}
    prefixes = tuple(e[:-1] for e in entries if e.endswith("*"))
    return lambda name: name in exact or name.startswith(prefixes)


def load_patterns(settings, log, allowed=None):
    """The patterns in use: the bundled file's, minus `disable_patterns`, with `patterns` from the
    configuration added (one with a bundled pattern's name replaces it). Every bad pattern is
    logged with its name and why, and the others are used."""
    specs = []
    if settings.patterns_file:
        path = settings.patterns_file if os.path.isabs(settings.patterns_file) else os.path.join(HERE, settings.patterns_file)
        try:
            with open(path, "rb") as f:
                raw = f.read(4 << 20)
            data = json.loads(raw.decode("utf-8"))
            listed = data.get("patterns") if isinstance(data, dict) else None
            if not isinstance(listed, list):
                raise ValueError("no \"patterns\" list")
            specs += [("%s" % path, s) for s in listed]
        except (OSError, ValueError, RecursionError) as error:
            log("cannot read the patterns file %s: %s; using the configured patterns only" % (path, str(error)[:200]), "error")
    specs += [("config.patterns", s) for s in settings.extra]
    chosen = {}
    for where, spec in specs[: MAX_PATTERNS * 2]:
        try:
            pattern = lp_match.Pattern(spec, allowed)
        except lp_match.PatternError as error:
            log("%s: %s; the other patterns are in use" % (where, error), "error")
            continue
        chosen[pattern.name] = pattern
    for name in settings.disable:
        chosen.pop(name, None)
    patterns = list(chosen.values())[:MAX_PATTERNS]
    if not patterns:
        log("no usable pattern: lines are read and counted but nothing is matched", "warning")
    return patterns


# -- the detector ------------------------------------------------------------------------------

class Detector:
    """Everything the plugin does, with the clock and the event sink injected (tests drive it)."""

    def __init__(self, settings, log, emit, data_dir, clock=time.monotonic, wall=time.time, allowed=None):
        self.settings = settings
        self.log = log
        self.emit = emit  # emit(name, value, labels)
        self.data_dir = data_dir
        self.clock = clock
        self.wall = wall
        if not data_dir:
            log("no data folder (VIGIL_DATA_DIR): positions are not kept across restarts", "warning")
        self.state = lp_state.load(data_dir, log)
        self.counter = lp_match.Counter(settings.label_value_max, settings.label_sets_per_interval,
                                        settings.label_sets, known=self.state["label_sets"])
        self.patterns = load_patterns(settings, log, allowed)
        self.matcher = lp_match.Matcher(self.patterns, self.counter, settings.max_line_bytes)
        self.followers = [lp_follow.FileFollower(path, log, self.state["files"].get(path), settings.start_at_end,
                                                 settings.max_line_bytes, settings.rotation_grace)
                          for path in settings.files]
        self.journal = self._journal()
        self.next_flush = clock() + settings.flush_interval
        self.long_lines_reported = 0
        self.save_failed = False
        log("log-patterns %s: %d pattern(s) (%s), %d file(s), journal %s"
            % (VERSION, len(self.patterns), ", ".join(p.name for p in self.patterns), len(self.followers),
               "on" if self.journal else "off"))

    def _journal(self):
        wanted = self.settings.journal
        if wanted is False:
            return None
        command = self.settings.journal_command
        if wanted == "auto":
            where = lp_journal.journal_present()
            if where is None:
                self.log("journal: off (no journal files under %s)" % " or ".join(lp_journal.JOURNAL_DIRECTORIES))
                return None
            existing = [p for p in self.settings.files if os.path.lexists(p)]
            if existing:
                # rsyslog writes what journald forwards to it: following both would count each line twice.
                self.log("journal: off (journal: auto and %s exists; set journal: true to follow both)" % existing[0])
                return None
            if not os.access(command, os.X_OK):
                self.log("journal: off (%s is not there)" % command)
                return None
        machine = lp_journal.machine_id()
        if machine is None:
            self.log("journal: no machine id in %s: following every machine's entries in the journal"
                     % lp_journal.MACHINE_ID_FILE, "warning")
        return lp_journal.JournalFollower(self.log, command, self.state["journal_cursor"], machine=machine)

    def step(self):
        """One pass: read what is new everywhere, flush when due. True when more is waiting."""
        now = self.clock()
        busy = False
        for follower in self.followers:
            busy |= follower.poll(self.matcher.scan, now)
        if self.journal is not None:
            self.journal.poll(self.matcher.record, now)
        if self.matcher.long_lines > self.long_lines_reported:
            self.log("%d line(s) longer than %d bytes skipped" % (self.matcher.long_lines - self.long_lines_reported,
                                                                  self.settings.max_line_bytes), "warning", key="long-lines")
            self.long_lines_reported = self.matcher.long_lines
        if now >= self.next_flush:
            self.flush()
            self.next_flush = now + self.settings.flush_interval
        return busy

    def flush(self):
        """Sends the interval's counts, then saves the positions that produced them."""
        for event, labels, count in self.counter.take():
            self.emit(event, count, labels)
        lines = self.matcher.lines
        if lines:
            self.emit("log_lines_read", lines, {})
            self.matcher.lines = 0
        self.save()

    def save(self):
        for follower in self.followers:
            place = follower.position()
            if place is not None:
                self.state["files"][follower.path] = place
        if self.journal is not None:
            self.state["journal_cursor"] = self.journal.cursor
        try:
            lp_state.save(self.data_dir, self.state)
            if self.save_failed:
                self.log("positions saved again in %s" % self.data_dir)
            self.save_failed = False
        except OSError as error:
            if not self.save_failed:
                self.log("cannot save positions in %s: %s (counting goes on; a restart may re-read or skip lines)"
                         % (self.data_dir, error.strerror), "warning")
            self.save_failed = True

    def close(self):
        self.flush()
        for follower in self.followers:
            follower.close()
        if self.journal is not None:
            self.journal.stop()


def run(vigil):
    log = RateLimitedLog(lambda message, level: vigil.log(message, level))
    settings = Settings(vigil.config, log)

    def emit(name, value, labels):
        vigil.metric(name, value, labels=labels or None, time=time.time())

    detector = Detector(settings, log, emit, vigil.data_dir, allowed=declared_events())
    while not vigil.stopping.is_set():
        try:
            busy = detector.step()
        except MemoryError:
            log("out of memory while reading: dropping this pass", "error", key="memory")
            busy = False
        except Exception as error:  # a bug must not end the watch; the log says where
            log("unexpected %s: %s" % (type(error).__name__, str(error)[:300]), "error", key="unexpected")
            busy = False
        if busy:
            vigil.flush()
        else:
            vigil.flush()
            vigil.sleep(settings.poll_interval)
    detector.close()


if __name__ == "__main__":
    import vigil_plugin  # noqa: E402
    vigil_plugin.Plugin("log-patterns", VERSION).run_detector(run)
