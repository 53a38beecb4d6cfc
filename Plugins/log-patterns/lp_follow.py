"""Following one log file the way `tail -F` does, with its place kept across restarts.

- A file seen for the first time is read from its end (`start_at_end`) or its start; a file that
  appears later (it did not exist, or was rotated while the plugin was down) from its start.
- Rotation by rename (logrotate's default `create`): the path names another inode. The old file
  is read to its end, kept open for `rotation_grace` seconds more (the writer may still be
  writing to it until it is told to reopen), then closed; the new file is read from its start.
- Truncation (`copytruncate`, `> file`): the size falls below the position: read from 0.
- The place is (device, inode, offset) of the end of the last complete line, saved by the caller
  in the data folder: after a restart the same inode resumes there, another starts at 0.
- Only regular files, opened with O_NOFOLLOW: a log replaced by a symlink (to /etc/shadow, say)
  or a FIFO is refused with one log line, and followed again once it is a regular file.
- Lines longer than `max_line_bytes` are skipped to their end, never held in memory.
"""
import errno
import os
import stat

BLOCK = 1 << 20


class Followed:
    """An open file being read: its identity, the bytes read, and the unfinished last line."""

    __slots__ = ("fd", "dev", "ino", "offset", "pending", "skipping", "deadline")

    def __init__(self, fd, dev, ino, offset, skipping=False):
        self.fd = fd
        self.dev = dev
        self.ino = ino
        self.offset = offset  # bytes read from the file
        self.pending = b""  # the start of a line not yet ended
        self.skipping = skipping  # inside an over-long line: drop up to the next newline
        self.deadline = None  # when a rotated-away file is closed

    @property
    def committed(self):
        """The offset just after the last complete line (where a restart resumes)."""
        return self.offset - len(self.pending)


class FileFollower:
    """Follows `path`; `poll(scan)` hands every block of complete lines to `scan(block, path)`."""

    def __init__(self, path, log, saved=None, start_at_end=True, max_line_bytes=65536,
                 rotation_grace=5.0, budget=16 * BLOCK, clock=None):
        self.path = path
        self.log = log
        self.saved = saved  # {"dev", "ino", "offset", "skipping"} from the last run, or None
        self.start_at_end = start_at_end and saved is None
        self.max_line_bytes = max_line_bytes
        self.rotation_grace = rotation_grace
        self.budget = budget
        self.clock = clock
        self.current = None
        self.draining = []
        self.problem = None  # the last reason the path could not be followed, logged once
        self.first_look = True

    # -- state -----------------------------------------------------------------------------

    def position(self):
        """What to save: {"dev", "ino", "offset", "skipping"} of the current file, or the last saved."""
        c = self.current
        if c is None:
            return self.saved
        return {"dev": c.dev, "ino": c.ino, "offset": c.committed, "skipping": c.skipping and not c.pending}

    def close(self):
        for f in [self.current] + self.draining:
            if f is not None:
                _close(f.fd)
        self.current = None
        self.draining = []

    # -- the work --------------------------------------------------------------------------

    def poll(self, scan, now):
        """Reads what is new; True when it stopped at its budget with more to read."""
        more = False
        for old in list(self.draining):
            try:
                more |= self._read(old, scan)
            except OSError:
                old.deadline = now
            if now >= old.deadline:
                _close(old.fd)
                self.draining.remove(old)
        if self.current is None:
            self._open(now)
            if self.current is None:
                return more
        c = self.current
        try:
            st = os.fstat(c.fd)
        except OSError as error:
            self._lost("cannot stat %s: %s" % (self.path, error.strerror))
            return more
        if st.st_size < c.offset:
            self.log("%s was truncated (size %d below position %d): reading it from the start"
                     % (self.path, st.st_size, c.offset))
            c.offset = 0
            c.pending = b""
            c.skipping = False
            os.lseek(c.fd, 0, os.SEEK_SET)
        try:
            more |= self._read(c, scan)
        except OSError as error:
            self._lost("cannot read %s: %s" % (self.path, error.strerror))
            return more
        if not more:
            self._check_rotation(now, scan)
        return more

    def _check_rotation(self, now, scan):
        c = self.current
        try:
            st = os.stat(self.path, follow_symlinks=False)
            same = (st.st_dev, st.st_ino) == (c.dev, c.ino)
        except FileNotFoundError:
            same = False
            st = None
        except OSError:
            return  # EACCES on the folder and such: keep reading what is open
        if same:
            return
        # Renamed or removed: finish the old inode, keep it a little for late writes, and let the
        # next poll open whatever now has the name.
        try:
            self._read(c, scan)
        except OSError:
            pass
        c.deadline = now + self.rotation_grace
        self.draining.append(c)
        self.current = None
        self.saved = None
        self.log("%s was rotated (%s): reading the new file from its start"
                 % (self.path, "renamed or removed" if st is None else "now inode %d" % st.st_ino))
        self._open(now)

    def _open(self, now):
        first = self.first_look
        self.first_look = False
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
        except OSError as error:
            if error.errno == errno.ENOENT:
                self._problem("waiting for %s: it does not exist yet" % self.path, level="info")
            elif error.errno == errno.ELOOP:
                self._problem("refusing %s: it is a symbolic link (a log is read only as a regular file)" % self.path)
            elif error.errno == errno.EACCES:
                self._problem("cannot read %s: permission denied for this plugin's uid %d (on Debian the "
                              "auth log is root:adm 0640: give the plugin the group adm under sandbox.groups and in its grant)"
                              % (self.path, os.getuid()))
            else:
                self._problem("cannot open %s: %s" % (self.path, error.strerror))
            return
        try:
            st = os.fstat(fd)
        except OSError as error:
            _close(fd)
            self._problem("cannot stat %s: %s" % (self.path, error.strerror))
            return
        if not stat.S_ISREG(st.st_mode):
            _close(fd)
            self._problem("refusing %s: not a regular file" % self.path)
            return
        saved = self.saved
        offset, skipping = 0, False
        if saved and (saved.get("dev"), saved.get("ino")) == (st.st_dev, st.st_ino):
            offset = saved.get("offset", 0)
            skipping = bool(saved.get("skipping"))
            if offset > st.st_size:
                self.log("%s is shorter than where the last run stopped: reading it from the start" % self.path)
                offset, skipping = 0, False
            how = "resuming at byte %d" % offset
        elif first and self.start_at_end:
            offset = st.st_size
            how = "from its end (byte %d)" % offset
        else:
            how = "from its start"
        try:
            os.lseek(fd, offset, os.SEEK_SET)
        except OSError:
            offset = 0
        # Any later file under this name is new: read it whole.
        self.start_at_end = False
        self.current = Followed(fd, st.st_dev, st.st_ino, offset, skipping)
        if self.problem is not None or first:
            self.log("following %s %s" % (self.path, how))
        self.problem = None

    def _read(self, f, scan):
        """Reads `f` up to its end or the budget; True if stopped by the budget (OSError: a read failed)."""
        read = 0
        limit = self.max_line_bytes
        while read < self.budget:
            try:
                chunk = os.read(f.fd, BLOCK)
            except BlockingIOError:
                return False
            if not chunk:
                return False
            read += len(chunk)
            f.offset += len(chunk)
            if f.skipping:
                end = chunk.find(b"\n")
                if end == -1:
                    continue
                chunk = chunk[end + 1:]
                f.skipping = False
            data = f.pending + chunk if f.pending else chunk
            last = data.rfind(b"\n")
            if last == -1:
                f.pending = data
            else:
                if last + 1 < len(data):
                    f.pending = data[last + 1:]
                    data = data[: last + 1]
                else:
                    f.pending = b""
                scan(data, self.path)
            if len(f.pending) > limit:
                self.log("%s: a line longer than %d bytes at byte %d: skipped to its end"
                         % (self.path, limit, f.offset - len(f.pending)), "warning", key="long:" + self.path)
                f.pending = b""
                f.skipping = True
        return True

    def _lost(self, message):
        self.log(message, "warning")
        if self.current is not None:
            _close(self.current.fd)
            self.current = None

    def _problem(self, message, level="warning"):
        if message != self.problem:
            self.problem = message
            self.log(message, level)


def _close(fd):
    try:
        os.close(fd)
    except OSError:
        pass
