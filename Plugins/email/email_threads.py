"""Which recipients already hold an incident's thread root.

The first message about an incident carries the root Message-ID; every later one gets an id of
its own and points at the root. Two messages with the same Message-ID in one mailbox are one
message to many clients (Gmail drops the second), so the root goes to each recipient once: this
store remembers, per thread, which notification gave each recipient the root. A retried
notification keeps its decision; a failed one gives its claim back.

Kept in the plugin's data folder when there is one, so a restart does not send a second root:
`threads.log`, one JSON line per change (appending costs the same at the thousandth incident as
at the first), rewritten compactly when it holds four times more lines than the memory. Bounded
to `capacity` threads, the least recently used dropped first.
"""
import json
import os
import threading

MAX_RECIPIENTS_PER_THREAD = 500
MAX_LOG_BYTES = 64 * 1024 * 1024


class ThreadStore:
    def __init__(self, path=None, capacity=5000, log=None):
        self.path = path
        self.capacity = capacity
        self._log = log or (lambda message, level="info": None)
        self._lock = threading.Lock()
        self._threads = {}
        self._lines = 0
        self._fd = None
        self._failed = False
        if path:
            self._load()
            self._compact()

    def claim(self, root, recipients, notification):
        """True when this notification is the root for `recipients` (none of them got the root from
        another notification); the claim is recorded at once, so two concurrent messages to one
        person never both carry the root."""
        with self._lock:
            entry = self._threads.pop(root, None) or {}
            self._threads[root] = entry  # most recently used last
            is_root = all(entry.get(r) in (None, notification) for r in recipients)
            if is_root:
                for r in recipients:
                    if r not in entry:
                        entry[r] = notification
                        self._append(["claim", root, r, notification])
                while len(entry) > MAX_RECIPIENTS_PER_THREAD:
                    entry.pop(next(iter(entry)))
            while len(self._threads) > self.capacity:
                self._threads.pop(next(iter(self._threads)))
            return is_root

    def release(self, root, recipients, notification):
        """Gives back a root claim whose message was not delivered."""
        with self._lock:
            entry = self._threads.get(root)
            for r in recipients:
                if entry is not None and entry.get(r) == notification:
                    del entry[r]
                    self._append(["release", root, r, notification])

    # -- the file ------------------------------------------------------------------------------

    def _load(self):
        try:
            with open(self.path, "r", encoding="utf-8", errors="replace") as f:
                data = f.read(MAX_LOG_BYTES)
        except FileNotFoundError:
            return
        except OSError as error:
            self._log("thread memory %s unreadable (%s): starting afresh" % (self.path, error), "warning")
            return
        bad = 0
        for line in data.splitlines():
            try:
                op, root, recipient, notification = json.loads(line)
                if not all(isinstance(v, str) for v in (op, root, recipient, notification)):
                    raise ValueError
            except ValueError:
                bad += 1  # a line cut by a crash, or damage: the rest still counts
                continue
            entry = self._threads.pop(root, None) or {}
            self._threads[root] = entry
            if op == "claim":
                entry[recipient] = notification
            elif op == "release" and entry.get(recipient) == notification:
                del entry[recipient]
            while len(self._threads) > self.capacity:
                self._threads.pop(next(iter(self._threads)))
        if bad:
            self._log("thread memory %s: %d unreadable line(s) skipped" % (self.path, bad), "warning")

    def _append(self, change):
        if not self.path:
            return
        if self._lines % 256 == 255 and self._lines > 4 * (sum(len(e) for e in self._threads.values()) + 1000):
            self._compact()
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            os.write(self._fd, (json.dumps(change, separators=(",", ":")) + "\n").encode("utf-8"))
            self._lines += 1
            self._recovered()
        except OSError as error:
            self._failing(error)

    def _compact(self):
        partial = self.path + ".tmp"
        try:
            with open(partial, "w", encoding="utf-8") as f:
                for root, entry in self._threads.items():
                    for recipient, notification in entry.items():
                        f.write(json.dumps(["claim", root, recipient, notification], separators=(",", ":")) + "\n")
            os.replace(partial, self.path)
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self._lines = sum(len(e) for e in self._threads.values())
            self._recovered()
        except OSError as error:
            self._failing(error)

    def _failing(self, error):
        # A full data folder must not stop pages: the memory goes on in this process.
        if not self._failed:
            self._log("cannot write thread memory %s: %s; kept in memory only" % (self.path, error), "warning")
        self._failed = True

    def _recovered(self):
        if self._failed:
            self._log("thread memory %s written again" % self.path)
        self._failed = False
