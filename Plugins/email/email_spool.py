"""Transport `spool`: each message as a file in a Maildir per recipient, no network at all.

    DATA_DIR/maildir/<recipient>/{tmp,new,cur}/<unique name>

A message is written in tmp/, flushed to disk, then renamed into new/ (the Maildir delivery
protocol: a reader never sees half a message). Any Maildir reader (mutt -f, neomutt, Evolution,
`python3 -m mailbox`) opens the folder. Each recipient keeps at most `max_messages`
(new/ and cur/ together); past it the oldest are deleted, with a log line.
"""
import errno
import hashlib
import itertools
import os
import re
import socket
import threading
import time

_UNSAFE = re.compile(r"[^a-z0-9._@+-]")
_counter = itertools.count(1)
REPORT_INTERVAL = 60.0
_lock = threading.Lock()


class SpoolError(Exception):
    """The spool could not take the message; the text says why."""


def folder_name(recipient):
    """A safe folder name for a recipient: lower case, [a-z0-9._@+-] only, no leading dot, at most
    120 characters, with a hash of the address when anything had to change."""
    lowered = recipient.lower()
    safe = _UNSAFE.sub("_", lowered).lstrip(".")[:120]
    if safe != lowered or not safe:
        safe = safe[:111] + "-" + hashlib.sha256(recipient.encode("utf-8", "replace")).hexdigest()[:8]
    return safe


def _unique_name():
    now = time.time()
    host = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname())[:64] or "localhost"
    return "%d.M%06dP%dQ%d.%s" % (int(now), int((now % 1) * 1_000_000), os.getpid(), next(_counter), host)


class Spool:
    def __init__(self, data_dir, max_messages, log):
        self.root = os.path.join(data_dir, "maildir") if data_dir else None
        self.max_messages = max_messages
        self._log = log
        self._reported = {}     # recipient → when its last drop was logged
        self._unreported = {}   # recipient → messages dropped since

    def deliver(self, recipients, envelope_from, message_bytes):
        """Writes the message into each recipient's Maildir: (paths, dropped count)."""
        if not self.root:
            raise SpoolError("transport spool needs the plugin's data folder (VIGIL_DATA_DIR), and there is none")
        paths, dropped = [], 0
        with _lock:
            for recipient in recipients:
                folder = os.path.join(self.root, folder_name(recipient))
                try:
                    self._make(folder)
                    dropped += self._make_room(folder, recipient)
                    # Return-Path and Delivered-To, as a local delivery agent writes them: one
                    # file per recipient says whose it is.
                    head = ("Return-Path: <%s>\nDelivered-To: %s\n" % (envelope_from, recipient)).encode("ascii")
                    paths.append(self._write(folder, head + message_bytes))
                except OSError as error:
                    if error.errno in (errno.ENOSPC, errno.EDQUOT):
                        raise SpoolError("spool full: cannot write %s's message in %s (%s); lower "
                                         "spool_max_messages or raise sandbox.limits.data" % (recipient, folder, error.strerror))
                    raise SpoolError("cannot write %s's message in %s: %s" % (recipient, folder, error))
        return paths, dropped

    @staticmethod
    def _make(folder):
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(folder, sub), mode=0o700, exist_ok=True)

    def _make_room(self, folder, recipient):
        held = []
        for sub in ("new", "cur"):
            with os.scandir(os.path.join(folder, sub)) as entries:
                for entry in entries:
                    if entry.is_file(follow_symlinks=False):
                        held.append((entry.stat(follow_symlinks=False).st_mtime_ns, entry.name, entry.path))
        excess = len(held) - (self.max_messages - 1)
        if excess <= 0:
            return 0
        held.sort()
        for _mtime, name, path in held[:excess]:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass  # a reader moved or deleted it meanwhile
        # One line per recipient a minute at most: a storm into full spools must not flood the
        # daemon's log (a plugin that does is stopped).
        dropped = self._unreported.get(recipient, 0) + excess
        now = time.monotonic()
        if now - self._reported.get(recipient, -REPORT_INTERVAL) >= REPORT_INTERVAL:
            self._log("spool for %s holds %d message(s), at most %d: dropped the %d oldest (%s%s)"
                      % (recipient, len(held), self.max_messages, dropped, held[0][1], ", …" if dropped > 1 else ""),
                      "warning")
            self._reported[recipient], self._unreported[recipient] = now, 0
            if len(self._reported) > 10_000:
                self._reported.clear()
                self._unreported.clear()
        else:
            self._unreported[recipient] = dropped
        return excess

    @staticmethod
    def _write(folder, data):
        name = _unique_name()
        partial = os.path.join(folder, "tmp", name)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            os.unlink(partial)
            raise
        os.close(fd)
        final = os.path.join(folder, "new", name)
        os.rename(partial, final)
        return final
