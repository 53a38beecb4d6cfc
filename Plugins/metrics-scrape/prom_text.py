"""A strict, bounded parser of the Prometheus text exposition format 0.0.4.

It reads a body line by line (bytes) and calls `on_sample(Sample)` for each sample; it never holds
more than one line. A bad line (invalid UTF-8, a bad escape, a malformed name, label or value, a
line over `max_line_bytes`, a second TYPE for a family) is skipped and recorded as
`line N: what is wrong`; the rest of the body is still read, as long as there are at most
`max_errors` bad lines and `max_samples` samples. The grammar is expfmt's (prometheus/common):

    # HELP name docstring            (escapes \\\\ and \\n)
    # TYPE name counter|gauge|histogram|summary|untyped
    # anything else                  (a comment)
    name [{label="value", ...[,]}] value [timestamp]

with `\\\\`, `\\"` and `\\n` the only escapes in label values, values as Go's ParseFloat reads them
(`+Inf`, `-Inf`, `NaN`, `1.5e3`), and timestamps as 64-bit integer milliseconds.
"""
import math
import re

TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_FLOAT = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)", re.IGNORECASE)
_INT = re.compile(r"[+-]?[0-9]+")
_BLANK = " \t"
INT64_MAX = (1 << 63) - 1
INT64_MIN = -(1 << 63)


class Sample:
    __slots__ = ("name", "labels", "value", "timestamp_ms", "line")

    def __init__(self, name, labels, value, timestamp_ms, line):
        self.name = name
        self.labels = labels  # a tuple of (name, value) pairs, in the order written
        self.value = value
        self.timestamp_ms = timestamp_ms
        self.line = line

    def __repr__(self):
        return "Sample(%s%s %r%s)" % (self.name, dict(self.labels) if self.labels else "", self.value,
                                     "" if self.timestamp_ms is None else " @%d" % self.timestamp_ms)


class LineError(ValueError):
    """One line is not in the format; the message says what, the caller adds where."""


class Report:
    """What a parse saw: counts, the first errors (`line N: …`), and why it stopped early, if it did."""

    def __init__(self, max_kept):
        self.lines = 0
        self.samples = 0
        self.bad_lines = 0
        self.errors = []
        self.max_kept = max_kept
        self.stopped = None  # a sentence when the rest of the body was not read

    def error(self, text):
        self.bad_lines += 1
        if len(self.errors) < self.max_kept:
            self.errors.append(text)


def _token(text):
    """(the text up to the first blank, the rest from that blank)."""
    i = 0
    while i < len(text) and text[i] not in _BLANK:
        i += 1
    return text[:i], text[i:]


def _skip_blank(text, i):
    while i < len(text) and text[i] in _BLANK:
        i += 1
    return i


def _unescape_label_value(text, i, lineno):
    """Reads a quoted label value starting after its opening quote: (value, index after the closing quote)."""
    out = []
    start = i
    while True:
        j = i
        while j < len(text) and text[j] != "\\" and text[j] != '"':
            j += 1
        out.append(text[i:j])
        if j >= len(text):
            raise LineError("a label value that starts at column %d has no closing quote" % start)
        if text[j] == '"':
            return "".join(out), j + 1
        if j + 1 >= len(text):
            raise LineError("a label value ends in a lone backslash")
        escaped = text[j + 1]
        if escaped == "\\":
            out.append("\\")
        elif escaped == '"':
            out.append('"')
        elif escaped == "n":
            out.append("\n")
        else:
            raise LineError("invalid escape sequence \\%s in a label value (only \\\\, \\\" and \\n)" % _shown_char(escaped))
        i = j + 2


def _unescape_help(text):
    out = []
    i = 0
    while True:
        j = text.find("\\", i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:j])
        if j + 1 >= len(text):
            raise LineError("HELP text ends in a lone backslash")
        escaped = text[j + 1]
        if escaped == "\\":
            out.append("\\")
        elif escaped == "n":
            out.append("\n")
        else:
            raise LineError("invalid escape sequence \\%s in HELP text (only \\\\ and \\n)" % _shown_char(escaped))
        i = j + 2


def _shown_char(ch):
    return ch if ch.isprintable() else "U+%04X" % ord(ch)


def _shown(text, limit=60):
    text = "".join(ch if ch.isprintable() else "?" for ch in text[:limit])
    return repr(text)


def parse_value(token):
    if not _FLOAT.fullmatch(token):
        raise LineError("expected a number (or +Inf, -Inf, NaN) as the value, found %s" % _shown(token))
    return float(token)


def parse_sample(text, lineno=0, max_labels=64):
    """A Sample from one sample line (text without its newline), or LineError."""
    match = METRIC_NAME.match(text)
    if not match:
        raise LineError("expected a metric name, found %s" % _shown(text))
    name = match.group(0)
    i = _skip_blank(text, match.end())
    labels = []
    if i < len(text) and text[i] == "{":
        i = _skip_blank(text, i + 1)
        seen = set()
        while True:
            if i < len(text) and text[i] == "}":
                i += 1
                break
            label = LABEL_NAME.match(text, i)
            if not label:
                raise LineError("expected a label name or '}' at column %d, found %s" % (i + 1, _shown(text[i:])))
            key = label.group(0)
            if key == "__name__":
                raise LineError("label name __name__ is reserved")
            if key in seen:
                raise LineError("label %s appears twice" % key)
            seen.add(key)
            i = _skip_blank(text, label.end())
            if i >= len(text) or text[i] != "=":
                raise LineError("expected '=' after label name %s" % key)
            i = _skip_blank(text, i + 1)
            if i >= len(text) or text[i] != '"':
                raise LineError("expected '\"' to start the value of label %s" % key)
            value, i = _unescape_label_value(text, i + 1, lineno)
            labels.append((key, value))
            if len(labels) > max_labels:
                raise LineError("more than %d labels" % max_labels)
            i = _skip_blank(text, i)
            if i < len(text) and text[i] == ",":
                i = _skip_blank(text, i + 1)
            elif i < len(text) and text[i] == "}":
                continue
            else:
                raise LineError("expected ',' or '}' after the value of label %s" % key)
        i = _skip_blank(text, i)
    elif i == match.end() and i < len(text):
        raise LineError("expected a space or '{' after the metric name %s, found %s" % (name, _shown(text[i:])))
    tail = text[i:].lstrip(_BLANK)
    rest = [token for token in re.split(r"[ \t]+", tail) if token] if tail else []
    if not rest:
        raise LineError("metric %s has no value" % name)
    if len(rest) == 1 and tail != rest[0]:
        raise LineError("expected a timestamp after the blank that follows the value, found the end of the line")
    if len(rest) == 2 and not tail.endswith(rest[1]):
        raise LineError("unexpected blank after the timestamp")
    if len(rest) > 2:
        raise LineError("unexpected text after the timestamp: %s" % _shown(" ".join(rest[2:])))
    value = parse_value(rest[0])
    timestamp = None
    if len(rest) == 2:
        if not _INT.fullmatch(rest[1]):
            raise LineError("expected an integer timestamp in milliseconds, found %s" % _shown(rest[1]))
        timestamp = int(rest[1])
        if not (INT64_MIN <= timestamp <= INT64_MAX):
            raise LineError("the timestamp %s does not fit in 64 bits" % _shown(rest[1]))
    return Sample(name, tuple(labels), value, timestamp, lineno)


class Parser:
    """Streams lines; keeps only the family table (HELP/TYPE seen, bounded by `max_families`)."""

    def __init__(self, on_sample, max_line_bytes=65536, max_errors=1000, max_samples=1_000_000,
                 max_families=50_000, max_labels=64, errors_kept=10):
        self.on_sample = on_sample
        self.max_line_bytes = max_line_bytes
        self.max_errors = max_errors
        self.max_samples = max_samples
        self.max_families = max_families
        self.max_labels = max_labels
        self.report = Report(errors_kept)
        self.types = {}
        self.helps = set()
        self.sampled = set()  # families with samples already, for "TYPE after samples"

    @property
    def done(self):
        return self.report.stopped is not None

    def feed(self, raw, too_long=False):
        """One line as bytes (with or without its newline); `too_long`: it was cut at the cap."""
        if self.done:
            return
        report = self.report
        report.lines += 1
        lineno = report.lines
        try:
            if too_long or len(raw) > self.max_line_bytes + 1:
                raise LineError("longer than %d bytes; skipped" % self.max_line_bytes)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                # A comment may hold anything (expfmt does not read it); HELP, TYPE and samples may not.
                words = raw.lstrip(b" \t")[1:].split(None, 1) if raw.lstrip(b" \t").startswith(b"#") else None
                if words is not None and (not words or words[0] not in (b"HELP", b"TYPE")):
                    return
                raise LineError("invalid UTF-8 at byte %d" % (error.start + 1))
            if text.endswith("\n"):
                text = text[:-1]
            self._line(text, lineno)
        except LineError as error:
            report.error("line %d: %s" % (lineno, error))
            if report.bad_lines >= self.max_errors:
                report.stopped = "more than %d bad lines; the rest of the body was not read" % (self.max_errors - 1)

    def _family(self, name):
        for suffix in ("_bucket", "_count", "_sum", "_total", "_created"):
            if name.endswith(suffix) and self.types.get(name[:-len(suffix)]) in ("histogram", "summary", "counter"):
                return name[:-len(suffix)]
        return name

    def _line(self, text, lineno):
        stripped = text.lstrip(_BLANK)
        if not stripped:
            return
        if stripped[0] == "#":
            keyword, rest = _token(stripped[1:].lstrip(_BLANK))
            if keyword not in ("HELP", "TYPE") or not rest or rest[0] not in _BLANK:
                return  # a comment
            name, tail = _token(rest.lstrip(_BLANK))
            if not name or not METRIC_NAME.fullmatch(name):
                raise LineError("%s needs a metric name, found %s" % (keyword, _shown(name)))
            tail = tail.lstrip(_BLANK)
            if not tail:
                return  # `# TYPE name` or `# HELP name` alone: expfmt takes it as a comment too
            if keyword == "HELP":
                if name in self.helps:
                    raise LineError("second HELP line for %s" % name)
                _unescape_help(tail)
                if len(self.helps) < self.max_families:
                    self.helps.add(name)
                return
            kind = tail.strip(_BLANK)
            if kind not in TYPES:
                raise LineError("unknown TYPE %s for %s (one of %s)" % (_shown(kind), name, ", ".join(TYPES)))
            if name in self.types:
                raise LineError("second TYPE line for %s" % name)
            if name in self.sampled:
                raise LineError("TYPE line for %s after its samples" % name)
            if len(self.types) < self.max_families:
                self.types[name] = kind
            return
        sample = parse_sample(stripped, lineno, self.max_labels)
        if len(self.sampled) < self.max_families:
            self.sampled.add(self._family(sample.name))
        self.report.samples += 1
        if self.report.samples > self.max_samples:
            self.report.stopped = "more than %d samples; the rest of the body was not read" % self.max_samples
            return
        self.on_sample(sample)


def parse_bytes(data, on_sample, **limits):
    """Parses a whole body held in memory (tests, the fuzz target): the Report."""
    parser = Parser(on_sample, **limits)
    start = 0
    while start < len(data) and not parser.done:
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end + 1
        parser.feed(data[start:end])
        start = end
    return parser.report


def is_finite(value):
    return not (math.isnan(value) or math.isinf(value))
