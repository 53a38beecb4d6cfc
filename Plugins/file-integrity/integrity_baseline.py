"""The baseline (what every watched path was when last seen) on disk, and the comparison of
two entries of one path.

The file is JSON in the plugin's data folder (`VIGIL_DATA_DIR/baseline.json`), written to a
temporary file in the same folder, fsynced and renamed over the old one, so a crash or a full
disk leaves either the old baseline or the new one, never half of one. It is read back as
hostile input: bounded in size, every entry checked, anything malformed dropped and counted.
"""
import json
import os

FORMAT = "vigil-file-integrity-baseline"
VERSION = 1
TYPES = ("file", "directory", "symlink", "other", "missing", "inaccessible")
INT_FIELDS = ("mode", "uid", "gid", "size", "mtime_ns", "ctime_ns", "ino", "format")
STR_FIELDS = ("sha256", "hashed", "target", "error")
HEX = set("0123456789abcdef")


class BaselineError(Exception):
    """The baseline file exists but cannot be used; the message says why."""


def _clean_entry(raw):
    if not isinstance(raw, dict) or raw.get("type") not in TYPES:
        return None
    entry = {"type": raw["type"]}
    for key in INT_FIELDS:
        value = raw.get(key)
        if value is None:
            continue
        if type(value) is not int or value < 0 or value > (1 << 64):
            return None
        entry[key] = value
    for key in STR_FIELDS:
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > 4096:
            return None
        entry[key] = value
    sha = entry.get("sha256")
    if sha is not None and (len(sha) != 64 or not set(sha) <= HEX):
        return None
    for flag in ("unlisted", "detached"):
        if raw.get(flag) is True:
            entry[flag] = True
    return entry


def load(path, max_bytes, max_entries):
    """(roots [str], entries {path: entry}, dropped count), or None when there is no baseline
    yet. BaselineError when the file is there but unusable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise BaselineError("cannot open %s: %s" % (path, os.strerror(error.errno or 0)))
    try:
        st = os.fstat(fd)
        if not (st.st_mode & 0o170000 == 0o100000):
            raise BaselineError("%s is not a regular file" % path)
        if st.st_size > max_bytes:
            raise BaselineError("%s is %d bytes (at most %d)" % (path, st.st_size, max_bytes))
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                raise BaselineError("%s grew past %d bytes while read" % (path, max_bytes))
            chunks.append(chunk)
    except OSError as error:
        raise BaselineError("cannot read %s: %s" % (path, os.strerror(error.errno or 0)))
    finally:
        os.close(fd)
    try:
        document = json.loads(b"".join(chunks).decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError) as error:
        raise BaselineError("%s is not valid JSON: %s" % (path, str(error)[:200]))
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BaselineError("%s is not a file-integrity baseline" % path)
    if document.get("version") != VERSION:
        raise BaselineError("%s has version %r (this plugin reads %d)" % (path, document.get("version"), VERSION))
    roots = document.get("roots")
    entries = document.get("entries")
    if not isinstance(roots, list) or not isinstance(entries, dict):
        raise BaselineError("%s lacks its roots or entries" % path)
    clean_roots = [r for r in roots[:max_entries] if isinstance(r, str) and r.startswith("/") and len(r) <= 4096]
    clean, dropped = {}, 0
    for key, raw in entries.items():
        if len(clean) >= max_entries:
            dropped += 1
            continue
        entry = _clean_entry(raw) if isinstance(key, str) and key.startswith("/") and len(key) <= 4096 else None
        if entry is None:
            dropped += 1
        else:
            clean[key] = entry
    return clean_roots, clean, dropped


def save(path, roots, entries):
    """Writes the baseline atomically (temporary file, fsync, rename, fsync of the folder)."""
    folder = os.path.dirname(path) or "."
    temporary = path + ".new"
    data = json.dumps({"format": FORMAT, "version": VERSION, "roots": sorted(roots), "entries": entries},
                      sort_keys=True, separators=(",", ":")).encode("utf-8", "surrogatepass")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    os.close(fd)
    os.rename(temporary, path)
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _meta_changes(old, new):
    out = []
    if old.get("mode") != new.get("mode") and old["type"] != "symlink":
        out.append("mode %s -> %s" % (_octal(old.get("mode")), _octal(new.get("mode"))))
    for key in ("uid", "gid"):
        if old.get(key) != new.get(key):
            out.append("%s %s -> %s" % (key, old.get(key), new.get(key)))
    return out


def _octal(value):
    return "%04o" % value if isinstance(value, int) else "?"


def _content_changed(old, new):
    kind = old["type"]
    if kind == "file":
        if old.get("hashed") == "full" and new.get("hashed") == "full":
            return old.get("sha256") != new.get("sha256")
        if old.get("hashed") in ("full", "partial") and new.get("hashed") in ("full", "partial"):
            if old.get("sha256") != new.get("sha256"):
                return True
            return (old.get("size"), old.get("mtime_ns")) != (new.get("size"), new.get("mtime_ns"))
        # Unreadable on one side: all that tells is the inode's size, times and number.
        return any(old.get(k) != new.get(k) for k in ("size", "mtime_ns", "ctime_ns", "ino"))
    if kind == "symlink":
        return old.get("target") != new.get("target")
    if kind == "other":
        return (old.get("format"), old.get("ino")) != (new.get("format"), new.get("ino"))
    return False


def describe(entry):
    kind = entry["type"]
    if kind == "symlink":
        return "symlink -> %s" % entry.get("target", "?")
    if kind == "file" and entry.get("size") is not None:
        return "file of %d bytes" % entry["size"]
    return kind


def compare(old, new):
    """(change, detail) when `new` differs from `old` in a way that is reported, else None.
    change: created | deleted | type | modified | metadata. `inaccessible` on either side
    compares as nothing (it is logged, not reported: it says nothing about the content)."""
    ot = old["type"] if old else "missing"
    nt = new["type"] if new else "missing"
    if "inaccessible" in (ot, nt):
        return None
    if ot == "missing" and nt == "missing":
        return None
    if ot == "missing":
        return "created", describe(new)
    if nt == "missing":
        return "deleted", "was a " + describe(old)
    if ot != nt:
        return "type", "%s, now %s" % (describe(old), describe(new))
    meta = _meta_changes(old, new)
    if _content_changed(old, new):
        if ot == "file":
            what = "content changed (%s -> %s bytes)" % (old.get("size", "?"), new.get("size", "?"))
        elif ot == "symlink":
            what = "symlink target %s -> %s" % (old.get("target", "?"), new.get("target", "?"))
        else:
            what = "replaced"
        return "modified", "; ".join([what] + meta)
    if meta:
        return "metadata", "; ".join(meta)
    return None
