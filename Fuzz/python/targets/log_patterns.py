"""Fuzz target of the log-patterns detector's hostile inputs: log bytes through the follower (a
real file, a small line cap) and the bundled patterns, a line of `journalctl --output=json`, and
the state file read back from the data folder.

The first byte picks the input; the rest is it. `fuzz` never raises but for a broken invariant.
"""
import atexit
import importlib.util
import os
import shutil
import sys
import tempfile

_PLUGIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "Plugins", "log-patterns")
sys.path.insert(0, _PLUGIN)
# The plugin's main module has this target's name: load it under another.
_spec = importlib.util.spec_from_file_location("log_patterns_plugin", os.path.join(_PLUGIN, "log_patterns.py"))
log_patterns = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(log_patterns)
import lp_follow  # noqa: E402
import lp_journal  # noqa: E402
import lp_match  # noqa: E402
import lp_state  # noqa: E402

_FOLDER = tempfile.mkdtemp(prefix="fuzz-log-patterns-")
atexit.register(shutil.rmtree, _FOLDER, True)
_LOG = os.path.join(_FOLDER, "auth.log")
_MAX_LINE = 256
_VALUE = 24


def _quiet(message, level="info", key=None):
    pass


_PATTERNS = log_patterns.load_patterns(log_patterns.Settings({}, _quiet), _quiet, log_patterns.declared_events())


def _check_counts(counter, lines):
    taken = counter.take()
    total = 0
    for event, labels, count in taken:
        if not isinstance(count, int) or count < 1:
            raise AssertionError("count %r for %s" % (count, event))
        total += count
        for key, value in labels.items():
            if key in lp_match.RESERVED_LABELS or not lp_match.LABEL_NAME.match(key):
                raise AssertionError("label %r" % key)
            if not isinstance(value, str) or not value or len(value) > _VALUE or not value.isprintable():
                raise AssertionError("label value %r" % value)
    if total > lines * lp_match.MAX_REPEAT * len(_PATTERNS):
        raise AssertionError("%d counts from %d lines" % (total, lines))


def _follow(data):
    with open(_LOG, "wb") as f:
        f.write(data)
    counter = lp_match.Counter(value_limit=_VALUE, per_interval=5, lifetime=10)
    matcher = lp_match.Matcher(_PATTERNS, counter, _MAX_LINE)
    seen = []

    def scan(block, origin):
        if not block.endswith(b"\n"):
            raise AssertionError("a block without its newline")
        seen.append(block)
        matcher.scan(block, origin)

    follower = lp_follow.FileFollower(_LOG, _quiet, None, False, _MAX_LINE, 0, budget=1 << 16)
    while follower.poll(scan, 0.0):
        pass
    follower.close()
    got = b"".join(seen)
    # Every complete line short enough is handed over once, in order; nothing else is.
    complete = data[: data.rfind(b"\n") + 1] if b"\n" in data else b""
    for line in got.split(b"\n")[:-1]:
        if len(line) > _MAX_LINE + lp_follow.BLOCK:
            raise AssertionError("a line of %d bytes was handed over" % len(line))
    if len(got) > len(complete) or not set(got.split(b"\n")) <= set(complete.split(b"\n")):
        raise AssertionError("the follower handed over bytes that are not complete lines of the file")
    if max((len(l) for l in complete.split(b"\n")), default=0) <= _MAX_LINE and got != complete:
        raise AssertionError("lines were lost")
    if len(counter.known.get(_PATTERNS[0].name, ())) > 10:
        raise AssertionError("the lifetime cap of label sets was passed")
    _check_counts(counter, got.count(b"\n"))


def _journal(data):
    parsed = lp_journal.parse_record(data)
    if parsed is None:
        return
    program, message, cursor = parsed
    if cursor is not None and (len(cursor) > lp_journal.CURSOR_MAX or not cursor.isprintable()):
        raise AssertionError("cursor %r" % cursor[:80])
    if message is not None:
        counter = lp_match.Counter(value_limit=_VALUE)
        lp_match.Matcher(_PATTERNS, counter, _MAX_LINE).record(program, message)
        _check_counts(counter, 1)


def _state(data):
    with open(os.path.join(_FOLDER, lp_state.STATE_FILE), "wb") as f:
        f.write(data)
    state = lp_state.load(_FOLDER, _quiet)
    for path, place in state["files"].items():
        if not all(isinstance(place[k], int) and place[k] >= 0 for k in ("dev", "ino", "offset")):
            raise AssertionError("place %r" % place)
    lp_state.save(_FOLDER, state)


def fuzz(data: bytes) -> None:
    if not data:
        return
    kind, rest = data[0] % 3, data[1:]
    if kind == 0:
        _follow(rest)
    elif kind == 1:
        _journal(rest)
    else:
        _state(rest)
