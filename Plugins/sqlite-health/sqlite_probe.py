"""One check of one SQLite database, strictly read-only: open it, run `PRAGMA quick_check` or
`PRAGMA integrity_check`, and say what was found.

How it opens, and why:
- The path is `lstat`ed and opened `O_RDONLY|O_NOFOLLOW|O_NONBLOCK` first, and the descriptor
  `fstat`ed: a symlink, something that is not a regular file (a FIFO is never waited on), a
  vanished file or one this uid cannot read is named without SQLite ever opening it, and the
  file must be the one `lstat` saw (device and inode). That descriptor stays open (*pinned*)
  until SQLite has opened the file, so the inode number cannot be reused meanwhile. The first
  100 bytes tell whether the file is in WAL mode.
- SQLite opens the path again by name (it cannot be handed a descriptor: given
  `/proc/self/fd/N` it reads the link back to a path and opens that), so the path can be swapped
  between the two opens. Hence: SQLite's open runs in a helper thread; if it has not returned
  within a second and the path is now a FIFO (SQLite's open waits for a writer, without
  O_NONBLOCK), the FIFO is opened for writing, non-blocking, through an `O_PATH|O_NOFOLLOW`
  descriptor of it, and closed: SQLite's open returns (when this uid may write the FIFO; an
  attacker's FIFO need not let it, which is what `open_limit` is for). Then the descriptor SQLite opened is
  found in `/proc/self/fd` (the one that was not there before) and must be the pinned file
  (device and inode); anything else is refused (`symlink` when the path is now a symlink, else
  `not_a_file`), closed, never checked. The pin is closed before the first query (closing any
  descriptor of a file drops the process's POSIX locks on it, SQLite's included; SQLite takes
  none while it opens). An open still blocked after `open_limit` (a FIFO this uid may not write,
  or moved away before it could be released) is abandoned: at most one per path and
  MAX_BLOCKED_OPENS in all, and that path is refused until it returns.
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
import threading
import time
import urllib.parse

MAX_LINE = 300  # characters of one problem line kept (in logs and the signal's detail)
HEADER = b"SQLite format 3\x00"
OPEN_LIMIT = 10.0  # seconds SQLite's open may take before it is abandoned
FIRST_RELEASE = 1.0  # seconds before a FIFO that blocks SQLite's open is released
MAX_BLOCKED_OPENS = 2  # abandoned opens (threads) at most; the sandbox allows 8 processes
FD_FOLDER = "/proc/self/fd"

_blocked = {}  # path -> the thread whose SQLite open of it is still blocked
_blocked_lock = threading.Lock()

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


class Refused(Exception):
    """The file SQLite opened, or would open, is not the one that was checked: `kind`, `detail`."""

    def __init__(self, kind, detail):
        Exception.__init__(self, detail)
        self.kind = kind
        self.detail = detail


class Pinned:
    """The database file held open (O_RDONLY|O_NOFOLLOW|O_NONBLOCK) while SQLite opens it."""

    def __init__(self, fd, st, wal):
        self.fd = fd
        self.identity = (st.st_dev, st.st_ino)
        self.size = st.st_size
        self.wal = wal

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _pin(path):
    """(Pinned, None) when `path` is a regular file this uid can open, else (None, failed Outcome)."""
    try:
        st = os.lstat(path)
    except OSError as error:
        return None, Outcome("failed", _os_kind(error), "%s: %s" % (path, error.strerror))
    if stat.S_ISLNK(st.st_mode):
        return None, Outcome("failed", "symlink", "%s is a symlink; not followed (watch the file it points to instead)" % path)
    if not stat.S_ISREG(st.st_mode):
        return None, Outcome("failed", "not_a_file", "%s is not a regular file (%s)" % (path, _type_name(st.st_mode)))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as error:
        return None, Outcome("failed", _os_kind(error), "%s: %s" % (path, error.strerror), size=st.st_size)
    try:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino) or not stat.S_ISREG(opened.st_mode):
            os.close(fd)
            return None, Outcome("failed", "not_a_file", "%s was replaced while it was opened (now %s); refused, not checked"
                                 % (path, _type_name(opened.st_mode)), size=st.st_size)
        header = os.pread(fd, 100, 0)
    except OSError as error:
        os.close(fd)
        return None, Outcome("failed", _os_kind(error), "%s: %s" % (path, error.strerror), size=st.st_size)
    wal = len(header) >= 20 and header.startswith(HEADER) and header[18] == 2 and header[19] == 2
    return Pinned(fd, opened, wal), None


def _type_name(mode):
    for test, name in ((stat.S_ISREG, "a regular file"), (stat.S_ISLNK, "a symlink"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISDIR, "a folder"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "of an unknown type"


def _now_there(path, identity):
    """(kind, what the path is now) when it is no longer the pinned file, else None."""
    try:
        st = os.lstat(path)
    except OSError as error:
        return _os_kind(error), "gone (%s)" % error.strerror
    if stat.S_ISLNK(st.st_mode):
        return "symlink", "a symlink (not followed)"
    if not stat.S_ISREG(st.st_mode):
        return "not_a_file", _type_name(st.st_mode)
    if (st.st_dev, st.st_ino) != identity:
        return "not_a_file", "another file (inode %d, the checked one is %d)" % (st.st_ino, identity[1])
    return None


def _open_files():
    """{(fd, device, inode, file type)} of this process's open descriptors, or None without /proc."""
    try:
        names = os.listdir(FD_FOLDER)
    except OSError:
        return None
    found = set()
    for name in names:
        try:
            st = os.stat("%s/%s" % (FD_FOLDER, name))
        except OSError:
            continue  # closed meanwhile (listdir's own descriptor among them)
        found.add((name, st.st_dev, st.st_ino, stat.S_IFMT(st.st_mode)))
    return found


def _release_fifo(path):
    """When `path` is a FIFO, opens it for writing (non-blocking) and closes it: a reader blocked
    opening it (SQLite) then returns. The FIFO is reached with O_PATH|O_NOFOLLOW and reopened
    through /proc/self/fd, so what is opened for writing is that FIFO, whatever the path names
    by then, and never a regular file."""
    try:
        fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
        writer = os.open("%s/%d" % (FD_FOLDER, fd), os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        os.close(writer)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _still_blocked(path):
    """A Refused when an earlier open of `path` is still blocked, or too many opens are."""
    with _blocked_lock:
        for other in [p for p, thread in _blocked.items() if not thread.is_alive()]:
            del _blocked[other]
        thread = _blocked.get(path)
        count = len(_blocked)
    if thread is not None:
        _release_fifo(path)
        thread.join(0.2)
        if thread.is_alive():
            return Refused("not_a_file", "an earlier open of %s by SQLite is still blocked (a FIFO was swapped in for "
                                         "the file and moved away); refused until it returns" % path)
        with _blocked_lock:
            _blocked.pop(path, None)
    elif count >= MAX_BLOCKED_OPENS:
        return Refused("other", "%d earlier SQLite opens (of other databases) are still blocked; %s is not "
                                "opened until they return" % (count, path))
    return None


def _connect(path, pinned, immutable, busy_timeout, open_limit):
    """SQLite's connection to the pinned file at `path`, or Refused when it opened something else
    (or its open stays blocked); sqlite3.Error as SQLite raised it."""
    refusal = _still_blocked(path)
    if refusal:
        raise refusal
    before = _open_files()
    box = {}

    def opener():
        try:
            box["connection"] = sqlite3.connect(_uri(path, immutable), uri=True, timeout=busy_timeout,
                                                isolation_level=None, check_same_thread=False)
        except BaseException as error:  # handed to the caller's thread
            box["error"] = error

    thread = threading.Thread(target=opener, name="sqlite-open", daemon=True)
    try:
        thread.start()
    except RuntimeError as error:
        raise Refused("other", "cannot start the thread that opens %s: %s" % (path, error))
    waited = min(FIRST_RELEASE, open_limit)
    thread.join(waited)
    while thread.is_alive() and waited < open_limit:
        _release_fifo(path)  # only when the path is a FIFO: see there
        step = min(0.25, open_limit - waited)
        thread.join(step)
        waited += step
    if thread.is_alive():
        with _blocked_lock:
            _blocked[path] = thread
        now = _now_there(path, pinned.identity)
        raise Refused("not_a_file", "SQLite's open of %s has not returned after %.1f s%s; abandoned, refused until "
                                    "it returns" % (path, open_limit, ": the path is now %s" % now[1] if now else ""))
    if "error" in box:
        now = _now_there(path, pinned.identity)
        if now:  # swapped while SQLite opened it: say so, not what SQLite made of the impostor
            raise Refused(now[0], "%s was replaced while SQLite opened it: the path is now %s; refused, not checked"
                          % (path, now[1]))
        raise box["error"]
    connection = box["connection"]
    try:
        _verify(path, pinned, before)
    except BaseException:
        connection.close()
        raise
    return connection


def _verify(path, pinned, before):
    """Refused unless the descriptor SQLite opened is the pinned file (device and inode)."""
    after = _open_files() if before is not None else None
    if after is None:
        # No /proc: the best left is the path, looked at again now that SQLite has it open.
        now = _now_there(path, pinned.identity)
        if now:
            raise Refused(now[0], "%s was replaced while SQLite opened it: the path is now %s; refused, not checked" % (path, now[1]))
        return
    # New descriptors (a socket another thread made is not SQLite's: open() cannot open one).
    opened = {entry for entry in after - before if entry[3] != stat.S_IFSOCK}
    if any((dev, ino) == pinned.identity for _fd, dev, ino, _fmt in opened):
        return
    if (not opened and any((dev, ino) == pinned.identity and fd != str(pinned.fd) for fd, dev, ino, _fmt in before)
            and _now_there(path, pinned.identity) is None):
        # SQLite reused a descriptor it kept for that inode (another connection of this process
        # holds locks on it); it looks for one only by the inode the path has as it opens.
        return
    now = _now_there(path, pinned.identity)
    kinds = sorted({_type_name(fmt) for _fd, _dev, _ino, fmt in opened}) or ["nothing new"]
    raise Refused(now[0] if now else "not_a_file",
                  "%s was replaced while SQLite opened it (SQLite opened %s, not the checked file)%s; refused, not checked"
                  % (path, " or ".join(kinds), ": the path is now %s" % now[1] if now else ""))


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


def _run(path, pinned, check, busy_timeout, time_limit, max_rows, immutable, clock, open_limit):
    """Opens the pinned file and runs the pragma; returns problems, or raises sqlite3.Error or
    Refused."""
    deadline = clock() + time_limit
    connection = _connect(path, pinned, immutable, busy_timeout, open_limit)
    pinned.close()  # before any query: see the module's docstring (POSIX locks)
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


def check(path, check="quick_check", busy_timeout=2.0, time_limit=60.0, max_rows=20, clock=time.monotonic,
          open_limit=OPEN_LIMIT):
    """Checks the database at `path` (`check`: `quick_check` or `integrity_check`); an Outcome."""
    if check not in ("quick_check", "integrity_check"):
        raise ValueError("check must be quick_check or integrity_check")
    started = clock()
    pinned, failed = _pin(path)
    if failed is not None:
        failed.seconds = clock() - started
        return failed
    identity, size, wal = pinned.identity, pinned.size, pinned.wal
    immutable = False
    before = None
    try:
        for attempt in range(2):
            if pinned is None:  # the immutable=1 attempt: the same file, pinned again
                pinned, failed = _pin(path)
                if failed is not None:
                    failed.seconds = clock() - started
                    return failed
                if pinned.identity != identity:
                    return Outcome("unsettled", None, "%s was replaced between two opens; checked again later" % path,
                                   seconds=clock() - started, size=size)
            try:
                problems = _run(path, pinned, check, busy_timeout, time_limit, max_rows, immutable, clock, open_limit)
            except Refused as refusal:
                return Outcome("failed", refusal.kind, _line(refusal.detail), seconds=clock() - started,
                               immutable=immutable, size=size)
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
            finally:
                pinned.close()
                pinned = None
            seconds = clock() - started
            if immutable and _fingerprint(path) != before:
                return Outcome("unsettled", None, "%s changed during an immutable=1 check; checked again later" % path,
                               seconds=seconds, immutable=True, size=size)
            if problems:
                return Outcome("corrupt", "corrupt", problems[0], problems, seconds, immutable, size)
            return Outcome("ok", seconds=seconds, immutable=immutable, size=size)
        return Outcome("failed", "cantopen", "%s could not be opened" % path, seconds=clock() - started, size=size)
    finally:
        if pinned is not None:
            pinned.close()
