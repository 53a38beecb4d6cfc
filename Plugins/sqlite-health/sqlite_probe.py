"""One check of one SQLite database, strictly read-only: open it, run `PRAGMA quick_check` or
`PRAGMA integrity_check`, and say what was found.

How it opens, and why:
- The path is `lstat`ed and opened with `O_NOFOLLOW` first: a symlink, something that is not a
  regular file, a vanished file or one this uid cannot read is named without SQLite ever opening
  it. The first 100 bytes tell whether the file is in WAL mode.
- SQLite opens `file:PATH?mode=ro`: shared locks like any reader, the WAL and its `-shm` read
  when the application has them open. Nothing is created or written (`PRAGMA query_only` too).
- A WAL database whose `-shm` does not exist (the application is not running) cannot be opened
  `mode=ro` in a read-only folder (SQLite would have to create the `-shm`): SQLITE_CANTOPEN. Then,
  and only then, it is opened `immutable=1`: no locks, no `-shm`, the WAL ignored. With no writer
  that reads exactly the last checkpoint; a writer starting meanwhile could show a torn state,
  so such a check counts only when the file's inode, size and mtime and the absence of a `-wal`
  are the same before and after it (otherwise it is `unsettled` and retried later).
- `busy_timeout` waits for a locked database; a progress handler interrupts a check running
  longer than `time_limit`; at most `max_rows` problem lines are read.
"""
import errno
import os
import sqlite3
import stat
import time
import urllib.parse

MAX_LINE = 300  # characters of one problem line kept (in logs and the signal's detail)
HEADER = b"SQLite format 3\x00"

# SQLite's primary result codes → the `kind` label of sqlite_connection_failures.
KINDS = {
    "SQLITE_BUSY": "busy", "SQLITE_LOCKED": "locked", "SQLITE_IOERR": "io", "SQLITE_NOTADB": "notadb",
    "SQLITE_CANTOPEN": "cantopen", "SQLITE_PERM": "permission", "SQLITE_AUTH": "permission",
    "SQLITE_READONLY": "readonly", "SQLITE_NOMEM": "nomem", "SQLITE_FULL": "full", "SQLITE_PROTOCOL": "protocol",
}


class Outcome:
    """What a check found.

    `status` is one of: `ok`; `corrupt` (`problems` holds SQLite's words); `failed` (the database
    could not be opened or read: `kind` says why, one of KINDS' values or `missing`, `symlink`,
    `not_a_file`, `permission`, `io`, `other`); `interrupted` (over the time limit); `unsettled`
    (an `immutable=1` check whose file changed while it ran)."""

    def __init__(self, status, kind=None, detail="", problems=(), seconds=0.0, immutable=False, size=None):
        self.status = status
        self.kind = kind
        self.detail = detail
        self.problems = list(problems)
        self.seconds = seconds
        self.immutable = immutable
        self.size = size

    def __repr__(self):
        return "Outcome(%s, kind=%s, detail=%r, problems=%d)" % (self.status, self.kind, self.detail[:80], len(self.problems))


def _line(text):
    text = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return text if len(text) <= MAX_LINE else text[:MAX_LINE - 3] + "..."


def _os_kind(error):
    return {errno.ENOENT: "missing", errno.ENOTDIR: "missing", errno.ELOOP: "symlink", errno.EACCES: "permission",
            errno.EPERM: "permission", errno.EIO: "io"}.get(error.errno, "other")


def _fingerprint(path):
    """What must not change during an immutable check: the file's identity, size and mtime, and
    whether a -wal exists."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, os.path.lexists(path + "-wal"))


def _preflight(path):
    """(None, size, wal) when the file looks openable, else (failed Outcome, size, wal)."""
    try:
        st = os.lstat(path)
    except OSError as error:
        return Outcome("failed", _os_kind(error), "%s: %s" % (path, error.strerror)), None, False
    if stat.S_ISLNK(st.st_mode):
        return Outcome("failed", "symlink", "%s is a symlink; not followed (watch the file it points to instead)" % path), None, False
    if not stat.S_ISREG(st.st_mode):
        return Outcome("failed", "not_a_file", "%s is not a regular file" % path), None, False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as error:
        return Outcome("failed", _os_kind(error), "%s: %s" % (path, error.strerror), size=st.st_size), st.st_size, False
    try:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino) or not stat.S_ISREG(opened.st_mode):
            return Outcome("failed", "not_a_file", "%s was replaced while it was opened" % path), st.st_size, False
        header = os.pread(fd, 100, 0)
    except OSError as error:
        return Outcome("failed", _os_kind(error), "%s: %s" % (path, error.strerror), size=st.st_size), st.st_size, False
    finally:
        os.close(fd)
    wal = len(header) >= 20 and header.startswith(HEADER) and header[18] == 2 and header[19] == 2
    return None, st.st_size, wal


def _classify(error):
    name = getattr(error, "sqlite_errorname", None) or ""
    primary = "_".join(name.split("_")[:2]) if name.startswith("SQLITE_") else ""
    if primary == "SQLITE_CORRUPT":
        return "corrupt"
    if primary == "SQLITE_INTERRUPT":
        return "interrupted"
    if primary in KINDS:
        return KINDS[primary]
    text = str(error).lower()
    # Python's sqlite3 before 3.11 has no error names; fall back on SQLite's messages.
    for words, kind in (("malformed", "corrupt"), ("not a database", "notadb"), ("locked", "busy"),
                        ("disk i/o", "io"), ("unable to open", "cantopen"), ("interrupted", "interrupted")):
        if words in text:
            return kind
    return "other"


def _uri(path, immutable):
    return "file:%s?%s" % (urllib.parse.quote(path, safe="/"), "immutable=1" if immutable else "mode=ro")


def _run(path, check, busy_timeout, time_limit, max_rows, immutable, clock):
    """Opens and runs the pragma; returns (problems, None) or raises sqlite3.Error."""
    deadline = clock() + time_limit
    connection = sqlite3.connect(_uri(path, immutable), uri=True, timeout=busy_timeout,
                                 isolation_level=None, check_same_thread=False)
    try:
        connection.set_progress_handler(lambda: 1 if clock() > deadline else 0, 1000)
        connection.execute("PRAGMA query_only = 1")
        cursor = connection.execute("PRAGMA %s(%d)" % (check, max_rows))
        problems = []
        while len(problems) < max_rows:
            rows = cursor.fetchmany(16)
            if not rows:
                break
            for row in rows:
                for line in str(row[0] if row else "").splitlines():
                    if line and line != "ok" and not line.startswith("*** in database") and len(problems) < max_rows:
                        problems.append(_line(line))
        return problems
    finally:
        connection.close()


def check(path, check="quick_check", busy_timeout=2.0, time_limit=60.0, max_rows=20, clock=time.monotonic):
    """Checks the database at `path` (`check`: `quick_check` or `integrity_check`); an Outcome."""
    if check not in ("quick_check", "integrity_check"):
        raise ValueError("check must be quick_check or integrity_check")
    started = clock()
    failed, size, wal = _preflight(path)
    if failed is not None:
        failed.seconds = clock() - started
        return failed
    immutable = False
    before = None
    for attempt in range(2):
        try:
            problems = _run(path, check, busy_timeout, time_limit, max_rows, immutable, clock)
        except sqlite3.Error as error:
            kind = _classify(error)
            if kind == "cantopen" and not immutable and wal and not os.path.lexists(path + "-shm"):
                immutable, before = True, _fingerprint(path)
                continue
            if kind == "cantopen" and not os.access(path, os.R_OK):
                kind = "permission"
            seconds = clock() - started
            if kind == "corrupt":
                return Outcome("corrupt", "corrupt", _line(str(error)), [_line(str(error))], seconds, immutable, size)
            if kind == "interrupted":
                return Outcome("interrupted", None, "%s stopped after %.1f s (check_time_limit)" % (check, seconds),
                               seconds=seconds, immutable=immutable, size=size)
            return Outcome("failed", kind, _line("%s (%s)" % (error, getattr(error, "sqlite_errorname", "") or kind)),
                           seconds=seconds, immutable=immutable, size=size)
        seconds = clock() - started
        if immutable and _fingerprint(path) != before:
            return Outcome("unsettled", None, "%s changed during an immutable=1 check; checked again later" % path,
                           seconds=seconds, immutable=True, size=size)
        if problems:
            return Outcome("corrupt", "corrupt", problems[0], problems, seconds, immutable, size)
        return Outcome("ok", seconds=seconds, immutable=immutable, size=size)
    return Outcome("failed", "cantopen", "%s could not be opened" % path, seconds=clock() - started, size=size)
