"""The systemd journal, through `journalctl --follow --output=json`.

Each output line is one JSON object; the fields used are MESSAGE (a string, or an array of byte
values when it is not UTF-8, or null when journalctl left a large field out), the program (below),
and __CURSOR, kept in the data folder so a restart resumes after the last record read
(`--after-cursor`), never counting a record twice.

The program is taken from the fields journald itself records about the process that wrote the
entry, never from what the entry says about itself: the file name of `_EXE` (the executable the
kernel ran, `/usr/sbin/sshd` → `sshd`; an interpreted script's is its interpreter's,
`python3.11`), else `_COMM` (the kernel's name of the process), else `kernel` for the kernel's own
messages (`_TRANSPORT=kernel`). Fields whose name begins with `_` are set by journald and cannot
be sent by a client. SYSLOG_IDENTIFIER is the client's own claim (`logger -t sshd ...` lets any
local user write one) and is not used: an entry without the trusted fields has no program, so no
pattern with `program:` counts it.

journalctl runs with `--merge` and the match `_MACHINE_ID=` this host's id (from /etc/machine-id),
not with its default local-only mode: when following, that mode reads the boot id from
/proc/sys/kernel/random/boot_id, which the sandbox's /proc (its own pids only) does not have
(systemd 252 exits: "Failed to get boot id: No such file or directory"), and it picks the
persistent journal's folder by /etc/machine-id. `_MACHINE_ID` is set by journald, so the match
keeps to this host's entries as local-only mode would (a log server's journals from other
machines, e.g. systemd-journal-remote's, are left out).
"""
import json
import os
import select
import subprocess

MAX_RECORD = 1 << 20  # journalctl leaves fields over 4 KiB out unless --all; a record is small
JOURNAL_DIRECTORIES = ("/run/log/journal", "/var/log/journal")
CURSOR_MAX = 512
MACHINE_ID_FILE = "/etc/machine-id"


def _field_text(value):
    if isinstance(value, str):
        return value
    if isinstance(value, list) and len(value) <= MAX_RECORD and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value).decode("utf-8", "replace")
    return None


def parse_record(line):
    """(program, message, cursor) of one line of `journalctl --output=json`; None when the line is
    not a journal record (then nothing else is wrong: the caller logs and goes on)."""
    if len(line) > MAX_RECORD:
        return None
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict):
        return None
    message = _field_text(record.get("MESSAGE"))
    cursor = record.get("__CURSOR")
    if not isinstance(cursor, str) or len(cursor) > CURSOR_MAX or not cursor.isprintable():
        cursor = None
    if message is None:
        return None, None, cursor
    return trusted_program(record), message, cursor


PROGRAM_MAX = 64
DELETED = " (deleted)"  # what /proc/PID/exe adds once the executable was replaced (an upgrade)


def trusted_program(record):
    """The program of a journal record from the fields journald sets (see above), or None."""
    exe = _field_text(record.get("_EXE"))
    if exe:
        if exe.endswith(DELETED):
            exe = exe[: -len(DELETED)]
        name = exe.rsplit("/", 1)[-1]
        if name:
            return name[:PROGRAM_MAX]
    comm = _field_text(record.get("_COMM"))
    if comm:
        return comm[:PROGRAM_MAX]
    if record.get("_TRANSPORT") == "kernel":
        return "kernel"
    return None


def machine_id(path=MACHINE_ID_FILE):
    """This host's machine id (32 lowercase hex digits), or None when it cannot be read."""
    try:
        with open(path, "rb") as f:
            text = f.read(64).strip().decode("ascii").lower()
    except (OSError, UnicodeDecodeError):
        return None
    return text if len(text) == 32 and all(c in "0123456789abcdef" for c in text) else None


def journal_present(directories=JOURNAL_DIRECTORIES):
    """The journal folder holding files, or None."""
    for directory in directories:
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        with os.scandir(entry.path) as inner:
                            if any(e.name.endswith((".journal", ".journal~")) for e in inner):
                                return directory
                    elif entry.name.endswith(".journal"):
                        return directory
        except OSError:
            continue
    return None


class JournalFollower:
    """Runs journalctl and hands each record to `record(program, message)`."""

    def __init__(self, log, command="/usr/bin/journalctl", cursor=None, clock=None, machine=None):
        self.log = log
        self.command = command
        self.cursor = cursor
        self.machine = machine  # this host's machine id: only its entries (see above)
        self.process = None
        self.buffer = b""
        self.skipping = False
        self.retry_at = 0.0
        self.backoff = 1.0
        self.disabled = None  # why the journal is off for good in this run
        self.records_this_run = 0

    def argv(self):
        argv = [self.command, "--follow", "--output=json", "--no-pager", "--merge"]
        if self.cursor:
            argv.append("--after-cursor=" + self.cursor)
        else:
            argv.append("--lines=0")
        if self.machine:
            argv.append("_MACHINE_ID=" + self.machine)
        return argv

    def start(self, now):
        try:
            self.process = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, close_fds=True)
        except PermissionError as error:
            self.disabled = ("cannot run %s in the sandbox (%s): list it under sandbox.executables in plugin.yaml "
                             "and in the plugin's grant; following files only" % (self.command, error.strerror))
            self.log("journal: " + self.disabled, "warning")
            return
        except OSError as error:
            self.disabled = "cannot run %s: %s; following files only" % (self.command, error.strerror)
            self.log("journal: " + self.disabled, "warning")
            return
        os.set_blocking(self.process.stdout.fileno(), False)
        os.set_blocking(self.process.stderr.fileno(), False)
        self.records_this_run = 0
        self.log("journal: following with %s" % " ".join(self.argv()[1:]))

    def poll(self, record, now, timeout=0.0):
        """Reads what journalctl wrote; returns the records' count."""
        if self.disabled:
            return 0
        if self.process is None:
            if now < self.retry_at:
                return 0
            self.start(now)
            if self.process is None:
                return 0
        out = self.process.stdout.fileno()
        err = self.process.stderr.fileno()
        count = 0
        try:
            ready, _, _ = select.select([out, err], [], [], timeout)
        except (OSError, ValueError):
            ready = []
        if err in ready:
            try:
                text = os.read(err, 4096).decode("utf-8", "replace")
            except OSError:
                text = ""
            for line in text.splitlines():
                line = " ".join(line.split())[:300]
                if line:
                    self.log("journal: journalctl says: " + line, "warning", key="journal-stderr")
        if out in ready:
            for _ in range(16):
                try:
                    chunk = os.read(out, 1 << 20)
                except BlockingIOError:
                    break
                except OSError:
                    chunk = b""
                if not chunk:
                    self._ended(now)
                    break
                count += self._feed(chunk, record)
        if self.process is not None and self.process.poll() is not None:
            self._ended(now)
        return count

    def _feed(self, chunk, record):
        count = 0
        data = self.buffer + chunk
        lines = data.split(b"\n")
        self.buffer = lines.pop()
        if self.skipping and lines:
            lines.pop(0)
            self.skipping = False
        for line in lines:
            if not line:
                continue
            parsed = parse_record(line)
            if parsed is None:
                self.log("journal: a line of journalctl output is not a JSON record: skipped", "warning", key="journal-json")
                continue
            program, message, cursor = parsed
            if message is not None:
                record(program, message)
                count += 1
                self.records_this_run += 1
            if cursor:
                self.cursor = cursor
        if len(self.buffer) > MAX_RECORD:
            self.log("journal: a record longer than %d bytes: skipped" % MAX_RECORD, "warning", key="journal-long")
            self.buffer = b""
            self.skipping = True
        return count

    def _ended(self, now):
        process, self.process = self.process, None
        if process is None:
            return
        try:
            process.kill()
        except OSError:
            pass
        try:
            err = process.stderr.read(4096) or b""
        except (OSError, ValueError):
            err = b""
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (process.stdout, process.stderr):
            try:
                stream.close()
            except OSError:
                pass
        text = " ".join(err.decode("utf-8", "replace").split())[:300]
        self.buffer = b""
        if self.records_this_run:
            self.backoff = 1.0
        elif self.cursor and process.returncode:
            # A cursor the journal no longer has (vacuumed, another machine's) fails every start.
            self.log("journal: journalctl failed at the saved cursor: starting from the end of the journal", "warning")
            self.cursor = None
        self.retry_at = now + self.backoff
        self.log("journal: journalctl ended (status %s)%s; starting it again in %d s"
                 % (process.returncode, ": " + text if text else "", self.backoff), "warning", key="journal-ended")
        self.backoff = min(60.0, self.backoff * 2)

    def stop(self):
        process, self.process = self.process, None
        if process is not None:
            try:
                process.kill()
                process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            for stream in (process.stdout, process.stderr):
                try:
                    stream.close()
                except OSError:
                    pass
