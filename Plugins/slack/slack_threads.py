"""Where each incident's Slack thread is, kept in the plugin's data folder so a restarted
plugin (or daemon) goes on replying in the same thread.

`threads.json` maps incident id → recipient → {channel, ts, notified}: `channel` is the
conversation id Slack answered (`C…`, or `D…` for a direct message to `U…`), `ts` the root
message's, `notified` the last notification ids already posted there (a notification vigild
retries after a partial failure is not posted twice). It is written atomically (a temporary file,
fsync, rename) after every change and bounded: beyond `max_incidents` the least recently used
incidents are dropped, each keeps at most `MAX_RECIPIENTS` threads and `MAX_NOTIFIED` ids.
"""
import contextlib
import json
import os
import threading
import time

VERSION = 1
MAX_RECIPIENTS = 32
MAX_NOTIFIED = 16
MAX_FILE_BYTES = 32 << 20


class KeyedLocks:
    """One lock per key (an incident), held only while used: two notifications of one incident
    are handled one after the other, so both cannot start a thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._held = {}  # key -> [lock, users]

    @contextlib.contextmanager
    def holding(self, key):
        with self._lock:
            entry = self._held.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._lock:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._held[key]


def _valid_thread(value):
    if not isinstance(value, dict):
        return None
    channel, ts = value.get("channel"), value.get("ts")
    if not (isinstance(channel, str) and 0 < len(channel) <= 64 and isinstance(ts, str) and 0 < len(ts) <= 40):
        return None
    notified = value.get("notified")
    notified = [n for n in notified if isinstance(n, str) and len(n) <= 40][-MAX_NOTIFIED:] if isinstance(notified, list) else []
    return {"channel": channel, "ts": ts, "notified": notified}


class ThreadBook:
    """Incident → recipient → thread, in memory and (with a data folder) on disk."""

    def __init__(self, directory, max_incidents=5000, log=None):
        self.path = os.path.join(directory, "threads.json") if directory else None
        self.max_incidents = max(1, int(max_incidents))
        self._log = log or (lambda message, level="warning": None)
        self._lock = threading.Lock()
        self._incidents = {}  # insertion order = least recently used first
        self.load_error = None
        self._save_error = None
        if self.path:
            self._load()

    # -- reading and changing --------------------------------------------------------------------

    def get(self, incident, recipient):
        with self._lock:
            threads = self._incidents.get(incident)
            entry = threads.get(recipient) if threads else None
            return dict(entry, notified=list(entry["notified"])) if entry else None

    def put(self, incident, recipient, entry):
        """Records (or replaces) the thread and writes the file."""
        with self._lock:
            threads = self._incidents.pop(incident, None) or {}
            threads.pop(recipient, None)
            threads[recipient] = {"channel": entry["channel"], "ts": entry["ts"],
                                  "notified": list(entry.get("notified", []))[-MAX_NOTIFIED:]}
            while len(threads) > MAX_RECIPIENTS:
                threads.pop(next(iter(threads)))
            self._incidents[incident] = threads
            while len(self._incidents) > self.max_incidents:
                self._incidents.pop(next(iter(self._incidents)))
            self._save_locked()

    def forget(self, incident, recipient):
        """Drops a thread whose root is gone (deleted in Slack): the next message starts a new one."""
        with self._lock:
            threads = self._incidents.get(incident)
            if threads and threads.pop(recipient, None) is not None:
                if not threads:
                    del self._incidents[incident]
                self._save_locked()

    def __len__(self):
        with self._lock:
            return len(self._incidents)

    # -- the file --------------------------------------------------------------------------------

    def _load(self):
        try:
            size = os.path.getsize(self.path)
        except FileNotFoundError:
            return
        except OSError as error:
            self.load_error = "cannot read %s: %s" % (self.path, error)
            self._log(self.load_error)
            return
        try:
            if size > MAX_FILE_BYTES:
                raise ValueError("%d bytes, more than the %d a thread book can be" % (size, MAX_FILE_BYTES))
            with open(self.path, "rb") as f:
                data = json.loads(f.read(MAX_FILE_BYTES + 1).decode("utf-8"))
            if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("incidents"), dict):
                raise ValueError("not a version %d thread book" % VERSION)
        except (OSError, ValueError, UnicodeDecodeError) as error:
            # Kept aside for a person to look at; threads start afresh rather than the plugin failing.
            self.load_error = "%s is unreadable (%s); set aside as threads.json.corrupt, threads start afresh" % (self.path, error)
            self._log(self.load_error)
            with contextlib.suppress(OSError):
                os.replace(self.path, self.path + ".corrupt")
            return
        for incident, threads in list(data["incidents"].items())[-self.max_incidents:]:
            if not isinstance(incident, str) or len(incident) > 200 or not isinstance(threads, dict):
                continue
            kept = {}
            for recipient, value in list(threads.items())[-MAX_RECIPIENTS:]:
                entry = _valid_thread(value)
                if isinstance(recipient, str) and len(recipient) <= 200 and entry:
                    kept[recipient] = entry
            if kept:
                self._incidents[incident] = kept

    def _save_locked(self):
        if not self.path:
            return
        data = json.dumps({"version": VERSION, "saved_at": time.time(), "incidents": self._incidents},
                          separators=(",", ":")).encode("utf-8")
        temporary = "%s.%d.tmp" % (self.path, os.getpid())
        try:
            with open(temporary, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, self.path)
            self._save_error = None
        except OSError as error:
            # A full data folder (ENOSPC) costs the threads' memory across a restart, not the message.
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            if str(error) != self._save_error:  # once per kind of failure, not once per message
                self._save_error = str(error)
                self._log("could not write %s: %s (threads are kept in memory only)" % (self.path, error))
