"""Fuzz target of the file-integrity detector's hostile inputs: the inotify event buffer, the
baseline file read back from the data folder, and path names turned into label values.

The first byte picks the input; the rest is it. `fuzz` never raises but for a broken invariant.
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "Plugins", "file-integrity"))
import integrity_baseline  # noqa: E402
import integrity_inotify  # noqa: E402
import integrity_monitor  # noqa: E402

_FOLDER = tempfile.mkdtemp(prefix="fuzz-file-integrity-")
_BASELINE = os.path.join(_FOLDER, "baseline.json")


def _events(data):
    try:
        events = integrity_inotify.parse_events(data)
    except integrity_inotify.InotifyBufferError as error:
        events = error.events
    for event in events:
        if b"/" in event.name or len(event.name) > integrity_inotify.NAME_MAX or event.name in (b".", b".."):
            raise AssertionError("parsed a name that is not one path component: %r" % event.name[:80])
        if event.wd < 0 and not event.mask & integrity_inotify.IN_Q_OVERFLOW:
            raise AssertionError("parsed watch descriptor %d" % event.wd)


def _baseline(data):
    with open(_BASELINE, "wb") as f:
        f.write(data)
    try:
        loaded = integrity_baseline.load(_BASELINE, 1 << 20, 1000)
    except integrity_baseline.BaselineError:
        return
    roots, entries, _dropped = loaded
    if len(entries) > 1000 or not all(isinstance(r, str) and r.startswith("/") for r in roots):
        raise AssertionError("the loader let through more than it bounds")
    previous = None
    for path, entry in entries.items():
        if entry["type"] not in integrity_baseline.TYPES:
            raise AssertionError("entry of unknown type %r" % entry["type"])
        for other in (previous, None, entry):
            change = integrity_baseline.compare(other, entry)
            if change is not None and change[0] not in ("created", "deleted", "type", "modified", "metadata"):
                raise AssertionError("unknown change %r" % (change,))
        json.dumps(integrity_monitor.sha_label(entry))
        previous = entry


def _label(data):
    value = integrity_monitor.label_text(os.fsdecode(data))
    if len(value.encode("utf-8")) > integrity_monitor.MAX_LABEL_BYTES:
        raise AssertionError("a label value of %d bytes" % len(value.encode("utf-8")))


def fuzz(data: bytes) -> None:
    if not data:
        return
    which, rest = data[0] % 3, data[1:]
    if which == 0:
        _events(rest)
    elif which == 1:
        _baseline(rest)
    else:
        _label(rest)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        with open(name, "rb") as f:
            fuzz(f.read())
