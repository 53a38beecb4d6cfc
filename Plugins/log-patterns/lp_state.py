"""What the plugin keeps in its data folder (VIGIL_DATA_DIR) across restarts: each file's place
(device, inode, offset), the journal cursor, and the label sets each pattern has already made
(the daemon charges new ones to the plugin's lifetime series budget). Everything read back is
checked: a damaged or hostile state file is ignored, never trusted."""
import json
import os

STATE_FILE = "positions.json"
MAX_STATE_BYTES = 4 << 20


def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < (1 << 63) else None


def load(directory, log):
    """{"files": {path: place}, "journal_cursor": str or None, "label_sets": {pattern: set}}."""
    empty = {"files": {}, "journal_cursor": None, "label_sets": {}}
    if not directory:
        return empty
    path = os.path.join(directory, STATE_FILE)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return empty
    except OSError as error:
        log("cannot read the saved positions %s: %s; starting afresh" % (path, error.strerror), "warning")
        return empty
    try:
        with os.fdopen(fd, "rb") as f:
            raw = f.read(MAX_STATE_BYTES + 1)
        if len(raw) > MAX_STATE_BYTES:
            raise ValueError("larger than %d bytes" % MAX_STATE_BYTES)
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError, RecursionError) as error:
        log("the saved positions %s are unreadable (%s): starting afresh" % (path, str(error)[:200]), "warning")
        return empty
    out = {"files": {}, "journal_cursor": None, "label_sets": {}}
    files = data.get("files")
    if isinstance(files, dict):
        for name, place in list(files.items())[:1024]:
            if isinstance(place, dict):
                dev, ino, offset = _int(place.get("dev")), _int(place.get("ino")), _int(place.get("offset"))
                if None not in (dev, ino, offset):
                    out["files"][name] = {"dev": dev, "ino": ino, "offset": offset, "skipping": place.get("skipping") is True}
    cursor = data.get("journal_cursor")
    if isinstance(cursor, str) and 0 < len(cursor) <= 512 and cursor.isprintable():
        out["journal_cursor"] = cursor
    sets = data.get("label_sets")
    if isinstance(sets, dict):
        for pattern, items in list(sets.items())[:1024]:
            if isinstance(items, list):
                kept = set()
                for item in items[:10000]:
                    if isinstance(item, list) and all(isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in item):
                        kept.add(tuple(tuple(p) for p in item))
                out["label_sets"][str(pattern)] = kept
    return out


def save(directory, state):
    """Writes the state atomically (a temporary file renamed over the old one). Raises OSError
    (ENOSPC when the data folder is full); the caller logs it and keeps running."""
    if not directory:
        return
    data = {
        "version": 1,
        "files": state["files"],
        "journal_cursor": state["journal_cursor"],
        "label_sets": {k: sorted([list(map(list, t)) for t in v]) for k, v in state["label_sets"].items()},
    }
    raw = json.dumps(data, separators=(",", ":")).encode("utf-8")
    path = os.path.join(directory, STATE_FILE)
    temporary = path + ".new"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(raw)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
