"""Patterns and their counts: which lines of a block match which pattern, and the labelled counts
sent once per flush interval.

A pattern is a regular expression with named captures (each capture a label) and the literal
strings (`contains`) one of which every matching line holds. Blocks are searched for those
literals with `bytes.find` (C speed, no per-line Python) and only the lines holding one are
decoded and run through the regular expressions: that prefilter is what lets a Python detector
follow several hundred thousand lines a second.
"""
import fnmatch
import re

EVENT_NAME = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]*$")
LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Labels the daemon stamps itself (an event carrying one is refused as impersonation), and those
# the default `group_by` would split one alert by (Docs/rules.md, "Alerts, groups and fingerprints").
RESERVED_LABELS = {"plugin", "source"}

# Traditional syslog (`Dec  7 06:40:01 host sshd[1234]: msg`, rsyslog's default on Debian
# bookworm) and RFC 3339 as rsyslog writes it, always with a fraction and a numeric offset
# (`2026-12-07T06:40:01.123456+00:00 host sshd[1234]: msg`, its high-precision template, trixie's
# default). An application's `2026-12-07T06:40:01Z ERROR payments: ...` is not taken for one.
SYSLOG_HEADER = re.compile(
    r"^(?:<\d{1,3}>)?(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}[+-]\d\d:\d\d) "
    r"(?!(?:ERROR|WARN|WARNING|INFO|DEBUG|TRACE|FATAL|CRITICAL|NOTICE) )"
    r"\S+ ([^\s\[\]:]{1,64})(?:\[\d{1,10}\])?: ?(.*)$", re.S)

OTHER = "other"
# A capture with this name is not a label but how many attempts the line stands for (rsyslog's
# "message repeated 3 times: [ ... ]").
REPEAT = "repeat"
MAX_REPEAT = 10000
KEYS = {"name", "event", "regex", "contains", "program", "exclude", "origins", "labels", "description", "search"}


class PatternError(ValueError):
    """A pattern from the configuration or the patterns file that cannot be used; says which and why."""


def _text(value, what, name):
    if not isinstance(value, str) or not value:
        raise PatternError("pattern %r: %s must be a non-empty string" % (name, what))
    return value


def _compile(source, what, name):
    try:
        return re.compile(source)
    except re.error as error:
        raise PatternError("pattern %r: %s %r is not a valid regular expression: %s" % (name, what, source[:200], error))


class Pattern:
    """One pattern: counted into `event`, labelled by its named captures and `labels`."""

    __slots__ = ("name", "event", "regex", "contains", "program", "exclude", "origins", "labels", "capture_names",
                 "whole_line")

    def __init__(self, spec, allowed_event=None):
        if not isinstance(spec, dict):
            raise PatternError("a pattern must be a mapping with name, event, regex, found %s" % type(spec).__name__)
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise PatternError("a pattern has no name (regex %r)" % str(spec.get("regex"))[:200])
        self.name = name[:100]
        unknown = sorted(set(spec) - KEYS)
        if unknown:
            raise PatternError("pattern %r: unknown key %r (known: %s)" % (name, unknown[0], ", ".join(sorted(KEYS))))
        self.event = _text(spec.get("event"), "event", name)
        if not EVENT_NAME.match(self.event):
            raise PatternError("pattern %r: event %r is not a valid event name" % (name, self.event))
        if allowed_event is not None and not allowed_event(self.event):
            raise PatternError("pattern %r: event %r is not declared under emits: in plugin.yaml" % (name, self.event))
        self.regex = _compile(_text(spec.get("regex"), "regex", name), "regex", name)
        contains = spec.get("contains", [])
        if isinstance(contains, str):
            contains = [contains]
        if not isinstance(contains, list) or not all(isinstance(c, str) and c for c in contains):
            raise PatternError("pattern %r: contains must be a list of non-empty strings" % name)
        self.contains = tuple(c.encode("utf-8") for c in contains)
        program = spec.get("program")
        self.program = _compile("(?:%s)\\Z" % _text(program, "program", name), "program", name) if program is not None else None
        exclude = spec.get("exclude")
        self.exclude = _compile(_text(exclude, "exclude", name), "exclude", name) if exclude is not None else None
        search = spec.get("search", "message")
        if search not in ("message", "line"):
            raise PatternError("pattern %r: search must be message (after a syslog header) or line, found %r" % (name, search))
        # An application's own `2026-12-07T06:40:01Z ERROR payments: ...` looks like a syslog
        # header (time, host, program:), so patterns for such lines search the whole line.
        self.whole_line = search == "line"
        origins = spec.get("origins", [])
        if isinstance(origins, str):
            origins = [origins]
        if not isinstance(origins, list) or not all(isinstance(o, str) and o for o in origins):
            raise PatternError("pattern %r: origins must be a list of paths, globs or \"journal\"" % name)
        self.origins = tuple(origins)
        labels = spec.get("labels", {})
        if not isinstance(labels, dict):
            raise PatternError("pattern %r: labels must be a mapping" % name)
        self.capture_names = tuple(n for n in self.regex.groupindex if n != REPEAT)
        for key in list(labels) + list(self.capture_names):
            if not LABEL_NAME.match(key) or key in RESERVED_LABELS:
                raise PatternError("pattern %r: %r cannot be a label (letters, digits and _; not plugin or source)" % (name, key))
        for key, value in labels.items():
            if not isinstance(value, str):
                raise PatternError("pattern %r: label %r must be a string ($file, $program or text)" % (name, key))
        self.labels = dict(labels)
        if len(self.labels) + len(self.capture_names) > 16:
            raise PatternError("pattern %r: at most 16 labels" % name)

    def applies_to(self, origin):
        if not self.origins:
            return True
        return any(origin == o or fnmatch.fnmatchcase(origin, o) for o in self.origins)


def split_syslog(text):
    """(program, message) of a syslog line, or (None, text) for any other line."""
    match = SYSLOG_HEADER.match(text)
    if match is None:
        return None, text
    return match.group(1), match.group(2)


def clean_value(value, limit):
    """A label value: printable, at most `limit` characters (a longer one ends in `…`)."""
    if not value.isprintable():
        value = "".join(c if c.isprintable() else "?" for c in value)
    if len(value) > limit:
        value = value[: max(1, limit - 1)] + "\u2026"
    return value


class Counter:
    """The counts of one flush interval, per event and label set, bounded.

    A pattern may make at most `per_interval` label sets in one interval and `lifetime` label sets
    ever (remembered across restarts by the caller through `known`): every label set beyond either
    is counted under its labels' values replaced by `other`, because the daemon charges every new
    label value to the plugin's series budget for its whole lifetime and refuses events past it."""

    def __init__(self, value_limit=64, per_interval=20, lifetime=200, known=None):
        self.value_limit = value_limit
        self.per_interval = per_interval
        self.lifetime = lifetime
        self.known = known if known is not None else {}  # pattern name -> set of label tuples
        self.counts = {}  # (event, label tuple) -> count
        self.interval_sets = {}  # pattern name -> set of label tuples this interval
        self.known_changed = False

    def add(self, pattern, labels, n=1):
        key = tuple(sorted(labels.items()))
        seen = self.interval_sets.setdefault(pattern.name, set())
        known = self.known.setdefault(pattern.name, set())
        if key not in seen:
            if len(seen) >= self.per_interval or (key not in known and len(known) >= self.lifetime):
                key = tuple((k, v if k in pattern.labels and not pattern.labels[k].startswith("$") else OTHER) for k, v in key)
            if key not in known:
                known.add(key)
                self.known_changed = True
            seen.add(key)
        slot = (pattern.event, key)
        self.counts[slot] = self.counts.get(slot, 0) + n

    def take(self):
        """The interval's counts, [(event, labels dict, count)], and a fresh interval."""
        out = [(event, dict(key), count) for (event, key), count in self.counts.items()]
        self.counts = {}
        self.interval_sets = {}
        return out


def _repeat(value):
    try:
        return min(MAX_REPEAT, max(1, int(value[:6])))
    except ValueError:
        return 1


class Matcher:
    """Runs a set of patterns over blocks of complete lines."""

    def __init__(self, patterns, counter, max_line_bytes=65536):
        self.patterns = list(patterns)
        self.counter = counter
        self.max_line_bytes = max_line_bytes
        self.keywords = sorted({k for p in self.patterns for k in p.contains})
        # A pattern without `contains` must see every line (the slow path).
        self.every_line = any(not p.contains for p in self.patterns)
        self.lines = 0
        self.matched = 0
        self.long_lines = 0
        self._origin_cache = {}

    def _for_origin(self, origin):
        found = self._origin_cache.get(origin)
        if found is None:
            found = [p for p in self.patterns if p.applies_to(origin)]
            if len(self._origin_cache) < 1024:
                self._origin_cache[origin] = found
        return found

    def scan(self, block, origin):
        """Counts the matches in `block` (bytes of complete lines, each ending in a newline, the
        last one possibly not) read from `origin` (a path). Returns the number of lines."""
        lines = block.count(b"\n")
        if block and not block.endswith(b"\n"):
            lines += 1
        self.lines += lines
        patterns = self._for_origin(origin)
        if not patterns:
            return lines
        if self.every_line:
            for line in block.split(b"\n"):
                if line:
                    self._line(line, origin, patterns)
            return lines
        starts = set()
        find, rfind = block.find, block.rfind
        for keyword in self.keywords:
            at = find(keyword)
            while at != -1:
                start = rfind(b"\n", 0, at) + 1
                starts.add(start)
                end = find(b"\n", at)
                if end == -1:
                    break
                at = find(keyword, end + 1)
        for start in sorted(starts):
            end = find(b"\n", start)
            self._line(block[start:] if end == -1 else block[start:end], origin, patterns)
        return lines

    def _line(self, line, origin, patterns):
        if len(line) > self.max_line_bytes:
            self.long_lines += 1
            return
        hits = [p for p in patterns if not p.contains or any(k in line for k in p.contains)]
        if not hits:
            return
        text = line.decode("utf-8", "replace").rstrip("\r")
        if "\x00" in text:
            text = text.replace("\x00", "")
        program, message = split_syslog(text)
        self._match(hits, program, message, {"$file": origin, "$program": program or ""}, text)

    def record(self, program, message, origin="journal"):
        """Counts the matches of one journal record (its program and message, already text; the
        program is journald's own record of the writer, lp_journal.trusted_program, or None)."""
        self.lines += 1
        if len(message) > self.max_line_bytes:
            self.long_lines += 1
            return
        patterns = self._for_origin(origin)
        encoded = None
        hits = []
        for p in patterns:
            if p.contains:
                if encoded is None:
                    encoded = message.encode("utf-8", "replace")
                if not any(k in encoded for k in p.contains):
                    continue
            hits.append(p)
        if hits:
            if "\x00" in message:
                message = message.replace("\x00", "")
            self._match(hits, program, message, {"$file": origin, "$program": program or ""})

    def _match(self, hits, program, message, context, line=None):
        for p in hits:
            if p.program is not None and (program is None or not p.program.match(program)):
                continue
            subject = line if p.whole_line and line is not None else message
            found = p.regex.search(subject)
            if found is None:
                continue
            if p.exclude is not None and p.exclude.search(subject):
                continue
            n = 1
            labels = {}
            for key, value in p.labels.items():
                value = context.get(value, value) if value.startswith("$") else value
                if value:
                    labels[key] = clean_value(value, self.counter.value_limit)
            for key, value in found.groupdict().items():
                if not value:
                    continue
                if key == REPEAT:
                    n = _repeat(value)
                else:
                    labels[key] = clean_value(value, self.counter.value_limit)
            self.matched += n
            self.counter.add(p, labels, n)
