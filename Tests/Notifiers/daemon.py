"""The real vigild for the notifier tests that cross the daemon: the shipped configuration with
its paths made absolute, only the plugins a test names (copied from Plugins/, their manifests
adjusted), state in a scratch folder, the HTTP server on a free loopback port.

    with Daemon(plugins={"slack": {"config": {...}, "egress": ["127.0.0.1:%d" % port]}},
                extra_yaml="...", grants=["slack: { networks: [brokered], egress: ['*'] }"]) as d:
        d.vigil("incidents", "declare", "--title", "x", "--severity", "P1")

Needs root (plugins run in their sandbox) and the built binaries (.build/debug, or VIGIL_BIN_DIR).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("VIGIL_BIN_DIR") or os.path.join(ROOT, ".build", "debug")


def read(path):
    with open(path) as f:
        return f.read()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def available():
    """Why the daemon tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (the daemon's plugins run in their sandbox)"
    for name in ("vigild", "vigil", "vigil-sandbox"):
        if not os.access(os.path.join(BIN, name), os.X_OK):
            return "build the daemon first (swift build): %s/%s is missing" % (BIN, name)
    return None


def eventually(condition, timeout=20.0, interval=0.05):
    """Polls `condition` until it returns something true (returned) or `timeout` passes (None)."""
    end = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= end:
            return None
        time.sleep(interval)


def set_config(manifest, key, value):
    """`manifest` text with `config.KEY` set to `value` (as JSON, which YAML reads), replacing a
    line `  KEY: ...` under config: or appending one (config: is the last section of the bundled
    notifiers' manifests)."""
    line = "  %s: %s" % (key, json.dumps(value))
    pattern = re.compile(r"^  %s:.*$" % re.escape(key), re.M)
    head, sep, tail = manifest.partition("\nconfig:\n")
    assert sep, "the manifest has no config: section"
    if pattern.search(tail):
        tail = pattern.sub(lambda _m: line, tail, count=1)
    else:
        tail = tail.rstrip("\n") + "\n" + line + "\n"
    return head + sep + tail


def set_sandbox(manifest, key, value):
    """`manifest` text with `sandbox.KEY` set (a line `  KEY: ...` directly under sandbox:)."""
    line = "  %s: %s" % (key, json.dumps(value))
    head, sep, tail = manifest.partition("\nsandbox:\n")
    assert sep, "the manifest has no sandbox: section"
    body, rest = re.match(r"((?:(?:  .*)?\n)*)(.*)", tail, re.S).groups()
    pattern = re.compile(r"^  %s:.*$" % re.escape(key), re.M)
    if pattern.search(body):
        body = pattern.sub(lambda _m: line, body, count=1)
    else:
        body = line + "\n" + body
    return head + sep + body + rest


class Daemon:
    def __init__(self, plugins, extra_yaml="", grants=(), replace=(), wrap=()):
        """`plugins`: name → {"config": {key: value}, "sandbox": {key: value}} for each bundled
        plugin to load (with "source": FOLDER, a plugin kept elsewhere than Plugins/NAME); `extra_yaml` is appended to the configuration; `grants` are lines added
        under plugins.policy.grants; `replace` are (old, new) edits of the configuration text;
        `wrap` is an argv put before vigild's, which must end by exec'ing it (same pid), e.g.
        `unshare --mount` to run it in a mount namespace of the test's own."""
        self.plugins = plugins
        self.extra_yaml = extra_yaml
        self.grants = list(grants)
        self.replace = list(replace)
        self.wrap = list(wrap)

    def __enter__(self):
        self.root = tempfile.mkdtemp(prefix="vigil-e2e-", dir="/var/tmp")
        os.chmod(self.root, 0o755)
        self.plugin_dir = os.path.join(self.root, "plugins")
        self.state = os.path.join(self.root, "state")
        os.makedirs(self.plugin_dir)
        shutil.copytree(os.path.join(ROOT, "Plugins", "sdk"), os.path.join(self.plugin_dir, "sdk"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        for name, changes in self.plugins.items():
            target = os.path.join(self.plugin_dir, name)
            source = changes.get("source") or os.path.join(ROOT, "Plugins", name)
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
            path = os.path.join(target, "plugin.yaml")
            text = read(path)
            for key, value in (changes.get("sandbox") or {}).items():
                text = set_sandbox(text, key, value)
            for key, value in (changes.get("config") or {}).items():
                text = set_config(text, key, value)
            write(path, text)
        for dirpath, dirnames, filenames in os.walk(self.plugin_dir):
            os.chmod(dirpath, 0o755)
            for f in filenames:
                os.chmod(os.path.join(dirpath, f), 0o755)
        config = os.path.join(ROOT, "Config")
        text = read(os.path.join(config, "vigil.yaml"))
        for old, new in [
            ("files: [detection-rules.yaml, operator-rules.yaml]",
             "files: [%s/detection-rules.yaml, %s/operator-rules.yaml]" % (config, config)),
            ("file: containment-rules.yaml", "file: %s/containment-rules.yaml" % config),
            ("directory: templates", "directory: %s/templates" % config),
            ("directory: runbooks", "directory: %s/runbooks" % config),
            ("directories: [../Plugins]", "directories: [%s]" % self.plugin_dir),
            ("sandbox_profiles: ../Sandbox", "sandbox_profiles: %s/Sandbox" % ROOT),
            ("read_paths: [../Plugins/sdk]", "read_paths: [%s/sdk, %s/Plugins/sdk]" % (self.plugin_dir, ROOT)),
        ] + self.replace:
            assert old in text, "Config/vigil.yaml no longer contains %r" % old
            text = text.replace(old, new)
        if self.grants:
            anchor = "\n    grants:\n"
            assert anchor in text
            text = text.replace(anchor, anchor + "".join("      %s\n" % g for g in self.grants))
        self.config = os.path.join(self.root, "vigil.yaml")
        write(self.config, text + "\n" + self.extra_yaml)
        self.log_path = os.path.join(self.root, "vigild.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.wrap + [os.path.join(BIN, "vigild"), "--config", self.config, "--state-dir", self.state,
                                                  "--http-listen", "127.0.0.1:0"], stdout=self._log, stderr=self._log, cwd=ROOT)
        address = eventually(self._address, timeout=60)
        if not address:
            self.__exit__(None, None, None)
            raise RuntimeError("vigild did not start serving HTTP:\n" + self.log()[-4000:])
        self.url = "http://" + address
        return self

    def _address(self):
        if self.proc.poll() is not None:
            raise RuntimeError("vigild exited (%s):\n%s" % (self.proc.returncode, self.log()[-4000:]))
        try:
            text = read(os.path.join(self.state, "http.address"))
        except OSError:
            return None
        return text.strip() if text.endswith("\n") else None

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        if not os.environ.get("VIGIL_E2E_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)
        return False

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def vigil(self, *args, check=True):
        """Runs the `vigil` CLI against this daemon: its stdout (JSON parsed when `--json`)."""
        p = subprocess.run([os.path.join(BIN, "vigil")] + list(args) + ["--state-dir", self.state],
                           capture_output=True, text=True, cwd=ROOT, timeout=60)
        if check and p.returncode != 0:
            raise RuntimeError("vigil %s: exit %d\n%s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
        return json.loads(p.stdout) if "--json" in args else p.stdout

    def plugin_running(self, name):
        out = self.vigil("plugins", "list", check=False)
        return any(line.split()[:1] == [name] and "running" in line for line in out.splitlines())

    def incident(self, incident_id):
        return self.vigil("incidents", "show", incident_id, "--json")

    def post(self, path, body, headers=None):
        """POSTs bytes to the daemon's HTTP server: (status, body text)."""
        request = urllib.request.Request(self.url + path, data=body, headers=headers or {}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
