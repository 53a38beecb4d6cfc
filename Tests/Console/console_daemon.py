"""The real vigild the console tests drive, built on Tests/Notifiers/daemon.py: the shipped
configuration, state in a scratch folder, HTTP on a free loopback port, and two plugins — the
bundled email notifier (pages land in its local spool, so no "Notification failure" incident
joins the list) and this folder's `console-probe` detector, which the test triggers on demand.

    with ConsoleDaemon() as d:
        secret = d.token("responder", "alice")
        incident = d.trigger("disk-7")      # the detector fires; returns the incident it opened
        d.url                                # http://127.0.0.1:PORT (from STATE/http.address)
"""
import atexit
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Notifiers"))
import daemon as vigild  # noqa: E402  (Tests/Notifiers/daemon.py)
from daemon import ROOT, Daemon, eventually  # noqa: E402,F401

PROBE = os.path.join(HERE, "plugins", "console-probe")
RULES = os.path.join(HERE, "console-rules.yaml")


def available():
    """Why the console's daemon cannot run here, or None."""
    return vigild.available()


class ConsoleDaemon(Daemon):
    def __init__(self, extra_yaml="", replace=(), grants=()):
        # The trigger folder lives outside the daemon's state (a plugin may not read that) and
        # is bound read-only into the detector's view: the folder, not a file, so new files show.
        self.triggers = tempfile.mkdtemp(prefix="vigil-console-triggers-", dir="/var/tmp")
        os.chmod(self.triggers, 0o755)
        config = os.path.join(ROOT, "Config")
        super().__init__(
            plugins={
                "email": {},
                "console-probe": {"source": PROBE, "config": {"triggers": self.triggers},
                                  "sandbox": {"read_paths": ["../sdk/python", self.triggers]}},
            },
            extra_yaml=extra_yaml,
            grants=["console-probe: { read_paths: [%s], emits: [console_probe] }" % json.dumps(self.triggers)]
            + list(grants),
            replace=[("%s/operator-rules.yaml]" % config, "%s/operator-rules.yaml, %s]" % (config, RULES))]
            + list(replace))

    def __enter__(self):
        # Also stopped at interpreter exit: an interrupted run (^C, SIGTERM) skips unittest's
        # cleanups but not atexit, and must not leave a vigild and its plugins running.
        atexit.register(self.__exit__, None, None, None)
        try:
            super().__enter__()
            if not eventually(lambda: self.plugin_running("console-probe"), 60):
                raise RuntimeError("console-probe did not start:\n%s\n%s" % (
                    self.vigil("plugins", "show", "console-probe", check=False), self.log()[-4000:]))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        atexit.unregister(self.__exit__)
        try:
            if getattr(self, "proc", None) is not None:
                return super().__exit__(*exc)
            return False
        finally:
            self._cleanup_triggers()

    def _cleanup_triggers(self):
        shutil.rmtree(self.triggers, ignore_errors=True)

    @property
    def address(self):
        """HOST:PORT the HTTP server (and so the console) listens on, from STATE/http.address."""
        with open(os.path.join(self.state, "http.address")) as f:
            return f.read().strip()

    def token(self, role, person):
        """A new API token's secret (`vigil tokens create --role ROLE --person PERSON`)."""
        created = self.vigil("tokens", "create", "--role", role, "--person", person, "--json")
        return created["secret"]

    def incidents(self):
        return self.vigil("incidents", "list", "--json")

    def trigger(self, case, timeout=30):
        """Drops the file `case` into the detector's trigger folder and returns the id of the
        incident its signal opened (the incident whose labels say case=CASE)."""
        path = os.path.join(self.triggers, case)
        with open(path, "w") as f:
            f.write("trigger\n")
        os.chmod(path, 0o644)
        return self.wait_incident(case, timeout)

    def find_incident(self, case):
        for incident in _items(self.incidents()):
            if (incident.get("labels") or {}).get("case") == case:
                return incident["id"]
        return None

    def wait_incident(self, case, timeout=30):
        found = eventually(lambda: self.find_incident(case), timeout)
        if not found:
            raise AssertionError("no incident for case %r within %ss:\n%s" % (case, timeout, self.log()[-3000:]))
        return found


def _items(listing):
    """The incidents of `vigil incidents list --json`, whether a list or an object holding one."""
    if isinstance(listing, dict):
        for key in ("incidents", "items"):
            if isinstance(listing.get(key), list):
                return listing[key]
        return []
    return listing
