"""What a path is now, read without ever following a symlink.

Every path is reached from `/` one component at a time with `O_PATH | O_NOFOLLOW`: a folder on
the way that is (or became) a symlink stops the walk instead of leading elsewhere, and the last
component is examined with `lstat` and opened with `O_NOFOLLOW | O_NONBLOCK` (a FIFO planted in a
watched folder does not block the plugin; it is never opened for reading). Files are hashed in
fixed chunks up to `max_hash_bytes`, so a huge file costs time, never memory.

An entry is a plain dict (it is what the baseline stores):

    {"type": "file"|"directory"|"symlink"|"other"|"missing"|"inaccessible",
     "mode": 0o644, "uid": 0, "gid": 0, "size": 12, "mtime_ns": ..., "ctime_ns": ..., "ino": ...,
     "sha256": "hex" | None, "hashed": "full"|"partial"|"unreadable"|None, "target": "..." (symlinks),
     "error": "..." (inaccessible / unreadable: why)}
"""
import errno
import hashlib
import os
import stat

CHUNK = 1 << 20
MAX_TARGET = 4096

O_PATH_DIR = os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC
O_READ_DIR = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC
O_READ_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class WalkError(Exception):
    """The path cannot be reached: `kind` is "missing" or "inaccessible"."""

    def __init__(self, kind, reason):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def normalize(path):
    """`path` absolute and normalized without touching the filesystem (no `..` above `/`)."""
    if not path.startswith("/"):
        raise ValueError("not an absolute path: %r" % path[:200])
    parts = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise ValueError("climbs above /: %r" % path[:200])
            parts.pop()
        else:
            parts.append(part)
    return "/" + "/".join(parts)


def is_within(path, root):
    """True when `path` is `root` or lies below it (whole components)."""
    return path == root or root == "/" or path.startswith(root + "/")


def open_folder(path, flags=O_PATH_DIR):
    """A descriptor of the folder `path` reached without following any symlink (`flags` for
    the last component: O_PATH by default, O_READ_DIR to list it)."""
    components = [p for p in path.split("/") if p]
    fd = os.open("/", flags if not components else O_PATH_DIR)
    walked = ""
    try:
        for i, component in enumerate(components):
            walked += "/" + component
            try:
                nxt = os.open(component, flags if i == len(components) - 1 else O_PATH_DIR, dir_fd=fd)
            except OSError as error:
                raise _walk_error(error, walked)
            os.close(fd)
            fd = nxt
        return fd
    except BaseException:
        os.close(fd)
        raise


def _walk_error(error, walked):
    if error.errno == errno.ENOENT:
        return WalkError("missing", "%s does not exist" % walked)
    if error.errno in (errno.ENOTDIR, errno.ELOOP):
        return WalkError("inaccessible", "%s is not a folder (a symlink or a file on the way); not followed" % walked)
    return WalkError("inaccessible", "%s: %s" % (walked, os.strerror(error.errno or 0)))


def _base(st):
    return {"mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}


def entry_from_stat(st):
    """An entry from an lstat result, without content."""
    mode = st.st_mode
    if stat.S_ISREG(mode):
        e = {"type": "file", "size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns,
             "ino": st.st_ino, "sha256": None, "hashed": None}
    elif stat.S_ISDIR(mode):
        e = {"type": "directory"}
    elif stat.S_ISLNK(mode):
        e = {"type": "symlink", "ctime_ns": st.st_ctime_ns, "ino": st.st_ino}
    else:
        e = {"type": "other", "format": stat.S_IFMT(mode), "ino": st.st_ino}
    e.update(_base(st))
    return e


def hash_open_file(fd, max_bytes):
    """(sha256 hex, "full"|"partial") of the regular file open as `fd`, read in chunks."""
    digest = hashlib.sha256()
    done = 0
    while True:
        want = CHUNK if max_bytes is None else min(CHUNK, max_bytes - done)
        if want <= 0:
            # Whether anything is left decides "partial": one byte more is enough to know.
            return digest.hexdigest(), ("partial" if os.read(fd, 1) else "full")
        chunk = os.read(fd, want)
        if not chunk:
            return digest.hexdigest(), "full"
        digest.update(chunk)
        done += len(chunk)


def examine(dir_fd, name, max_hash_bytes):
    """The entry of `name` in the folder open as `dir_fd` (content hashed for regular files)."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return {"type": "missing"}
    except OSError as error:
        return {"type": "inaccessible", "error": os.strerror(error.errno or 0)}
    entry = entry_from_stat(st)
    if entry["type"] == "symlink":
        try:
            target = os.readlink(name, dir_fd=dir_fd)
            entry["target"] = target[:MAX_TARGET]
        except OSError as error:
            entry["target"] = "(unreadable: %s)" % os.strerror(error.errno or 0)
    elif entry["type"] == "file":
        try:
            fd = os.open(name, O_READ_FILE, dir_fd=dir_fd)
        except OSError as error:
            if error.errno == errno.ELOOP:  # became a symlink between lstat and open
                return examine(dir_fd, name, max_hash_bytes)
            if error.errno == errno.ENOENT:
                return {"type": "missing"}
            entry["hashed"] = "unreadable"
            entry["error"] = os.strerror(error.errno or 0)
            return entry
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):  # replaced between lstat and open
                entry = entry_from_stat(st)
            elif st.st_nlink == 0:
                # Unlinked but still here: a file bound into the sandbox by itself and replaced or
                # deleted on the host. Its content is the old one's; not hashed as if it were new.
                entry = entry_from_stat(st)
                entry["detached"] = True
            else:
                entry = entry_from_stat(st)
                try:
                    entry["sha256"], entry["hashed"] = hash_open_file(fd, max_hash_bytes)
                except OSError as error:
                    entry["hashed"] = "unreadable"
                    entry["error"] = os.strerror(error.errno or 0)
        finally:
            os.close(fd)
    return entry


def examine_path(path, max_hash_bytes):
    """The entry of the absolute, normalized `path`."""
    if path == "/":
        return {"type": "directory", **_base(os.lstat("/"))}
    parent, name = path.rsplit("/", 1)
    try:
        fd = open_folder(parent or "/")
    except WalkError as error:
        return {"type": error.kind, "error": error.reason} if error.kind == "inaccessible" else {"type": "missing"}
    try:
        return examine(fd, name, max_hash_bytes)
    finally:
        os.close(fd)


class ScanBudget:
    """How many more entries and folders one scan may record (the plugin's bounds)."""

    def __init__(self, entries, folders, depth):
        self.entries = entries
        self.folders = folders
        self.depth = depth
        self.exhausted = []  # (path, what was left out there), for the log


def scan_tree(path, budget, max_hash_bytes, skip):
    """Every entry at and below `path` (no symlink followed, no other filesystem entered twice):
    (entries {path: entry}, folders [path], problems [(path, reason)]). `skip(name)` drops
    names (editor swap files); bounded by `budget`."""
    entries, folders, problems = {}, [], []
    root = examine_path(path, max_hash_bytes)
    entries[path] = root
    budget.entries -= 1
    if root.get("error"):
        problems.append((path, "cannot read: " + root["error"]))
    if root["type"] != "directory":
        return entries, folders, problems
    try:
        fd = open_folder(path, O_READ_DIR)
    except (WalkError, OSError) as error:
        root["unlisted"] = True
        problems.append((path, "cannot list: %s" % (error.reason if isinstance(error, WalkError) else os.strerror(error.errno or 0))))
        return entries, folders, problems
    _walk(fd, path, 0, budget, max_hash_bytes, skip, entries, folders, problems)
    return entries, folders, problems


def _walk(fd, path, depth, budget, max_hash_bytes, skip, entries, folders, problems):
    try:
        if budget.folders <= 0:
            budget.exhausted.append((path, "not watched below here: more folders than max_directories"))
            entries[path]["unlisted"] = True
            return
        budget.folders -= 1
        folders.append(path)
        try:
            names = sorted(e.name for e in os.scandir(fd))
        except OSError as error:
            entries[path]["unlisted"] = True
            problems.append((path, "cannot list: %s" % os.strerror(error.errno or 0)))
            return
        for name in names:
            if skip(name):
                continue
            if budget.entries <= 0:
                budget.exhausted.append((path, "partly watched: more entries than max_files"))
                entries[path]["unlisted"] = True
                return
            child = path.rstrip("/") + "/" + name
            entry = examine(fd, name, max_hash_bytes)
            if entry["type"] == "missing":
                continue  # gone while listing: the event for it follows
            budget.entries -= 1
            entries[child] = entry
            if entry.get("error"):
                problems.append((child, "cannot read: " + entry["error"]))
            if entry["type"] == "directory":
                if depth + 1 >= budget.depth:
                    budget.exhausted.append((child, "not watched below here: deeper than max_depth"))
                    entry["unlisted"] = True
                    continue
                try:
                    sub = os.open(name, O_READ_DIR, dir_fd=fd)
                except OSError as error:
                    entry["unlisted"] = True
                    problems.append((child, "cannot list: %s" % os.strerror(error.errno or 0)))
                    continue
                _walk(sub, child, depth + 1, budget, max_hash_bytes, skip, entries, folders, problems)
    finally:
        os.close(fd)
