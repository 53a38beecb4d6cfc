"""Shared pieces of the file-integrity tests: the plugin's modules on the path, a clock the test
moves by hand, and a Monitor watching a scratch folder with its reports and log lines kept."""
import hashlib
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PLUGIN = os.path.join(ROOT, "Plugins", "file-integrity")
if PLUGIN not in sys.path:
    sys.path.insert(0, PLUGIN)

import integrity_monitor  # noqa: E402
import integrity_settings  # noqa: E402


def sha(data):
    return hashlib.sha256(data).hexdigest()


def write(path, data, mode=0o644):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def save_by_rename(path, data):
    """How editors and `sed -i` save: a new file renamed over the old one."""
    temporary = os.path.join(os.path.dirname(path), ".tmp-" + os.path.basename(path) + "-x1")
    write(temporary, data)
    os.rename(temporary, path)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


class Scratch:
    """A scratch folder (under /var/tmp, mode 0755) with a data folder for the baseline."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="vigil-integrity-", dir="/var/tmp")
        os.chmod(self.root, 0o755)
        self.watch = os.path.join(self.root, "watched")
        self.data = os.path.join(self.root, "data")
        os.makedirs(self.watch)
        os.makedirs(self.data)
        os.chmod(self.watch, 0o755)

    def path(self, *parts):
        return os.path.join(self.watch, *parts)

    def remove(self):
        shutil.rmtree(self.root, ignore_errors=True)


class Watch:
    """A Monitor on `paths` with the test's clock; `reports` and `logs` collect what it says."""

    def __init__(self, scratch, paths, clock=None, inotify_factory=None, **config):
        config["paths"] = paths
        self.settings, self.problems = integrity_settings.parse(config, integrity_testkit_folder())
        self.clock = clock or Clock()
        self.reports = []
        self.logs = []
        kwargs = {"inotify_factory": inotify_factory} if inotify_factory else {}
        self.monitor = integrity_monitor.Monitor(self.settings, os.path.join(scratch.data, "baseline.json"),
                                                 self.reports.append, lambda level, m: self.logs.append((level, m)),
                                                 self.clock, **kwargs)

    def start(self):
        self.monitor.start()
        return self

    def settle(self, seconds=1.0):
        """Reads the queued events, lets the settle time pass, runs what is due: the new reports."""
        before = len(self.reports)
        self.monitor.read_events()
        self.clock.advance(seconds)
        self.monitor.run_due()
        return self.reports[before:]

    def log_text(self):
        return "\n".join("%s %s" % pair for pair in self.logs)

    def close(self):
        self.monitor.close()


def integrity_testkit_folder():
    return PLUGIN
