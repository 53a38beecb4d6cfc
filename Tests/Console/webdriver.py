"""A small W3C WebDriver client over urllib, driving Debian's headless Chromium through its
`chromedriver` (packages `chromium` and `chromium-driver`). Standard library only.

    with Browser(width=1280, height=900) as browser:
        browser.get("http://127.0.0.1:9093/console/sign-in")
        browser.find("input#token").send_keys("vgl_...")
        browser.find("form#sign-in button[type=submit]").click()
        browser.wait_for(lambda: browser.find_all("table#incidents tr[data-incident-id]"))

Each Browser starts its own chromedriver on a free loopback port with its own scratch profile
(`--user-data-dir`), so sessions share no cookies. Leaving the `with` block (or `quit()`, also
run at interpreter exit) ends the session, stops chromedriver and kills, by pid, any process
still running with that profile: no Chromium is left behind, even when a test fails.
"""
import atexit
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

CHROMEDRIVER = os.environ.get("VIGIL_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM = os.environ.get("VIGIL_CHROMIUM", "/usr/bin/chromium")
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C key of an element reference
# chromedriver is on loopback: never through an http_proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def available():
    """Why a browser cannot be driven here, or None."""
    for path in (CHROMEDRIVER, CHROMIUM):
        if not os.access(path, os.X_OK):
            return "%s is missing (apt-get install chromium chromium-driver; make deps does)" % path
    return None


class WebDriverError(Exception):
    """An error answered by the driver: `error` is the W3C error code ("no such element", ...)."""

    def __init__(self, error, message, command=""):
        super().__init__("%s: %s (%s)" % (error, message if command == "find" else (message.splitlines() or [""])[0],
                                          command))
        self.error = error
        self.message = message


class NoSuchElement(WebDriverError):
    pass


class StaleElement(WebDriverError):
    pass


class TimedOut(AssertionError):
    """A `wait_for` whose condition never held; an AssertionError so unittest reports a failure."""


def _error(error, message, command):
    kind = {"no such element": NoSuchElement, "stale element reference": StaleElement}.get(error, WebDriverError)
    return kind(error, message, command)


def _start_time(pid):
    """The process's start time (field 22 of /proc/PID/stat), to tell it from a reused pid."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return None if fields[0] in ("Z", "X") else int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _processes():
    """{pid: (parent pid, start time, command line bytes)} of every process we can see."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmdline = f.read()
        except (OSError, IndexError):
            continue
        table[int(entry)] = (int(fields[1]), int(fields[19]), cmdline)
    return table


def _ours(root_pid, marker):
    """{pid: start time} of `root_pid`'s descendants and of every process whose command line
    contains `marker` (our unique profile folder), with their descendants."""
    table = _processes()
    found = {pid for pid, (_, _, cmdline) in table.items() if marker.encode() in cmdline and pid != os.getpid()}
    if root_pid in table:
        found.add(root_pid)
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _, _) in table.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    found.discard(root_pid)
    return {pid: table[pid][1] for pid in found}


def wait_for(condition, timeout=10.0, interval=0.05, message=None):
    """Polls `condition()` until it returns something true, and returns that. A condition that
    raises NoSuchElement or StaleElement counts as not yet. Raises TimedOut after `timeout`
    seconds, with `message` (a string, or a callable giving one, e.g. the page's text)."""
    end = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except (NoSuchElement, StaleElement) as error:
            last = error
        if time.monotonic() >= end:
            text = message() if callable(message) else message
            raise TimedOut("condition not met within %.1f s%s%s" % (
                timeout, ": " + text if text else "", " (last: %s)" % last if last else ""))
        time.sleep(interval)


class Element:
    """A reference to an element of the current page."""

    def __init__(self, browser, element_id, css=""):
        self.browser = browser
        self.id = element_id
        self.css = css

    def __repr__(self):
        return "<Element %s %s>" % (self.css, self.id[:8])

    def _path(self, suffix=""):
        return "/element/%s%s" % (self.id, suffix)

    def find(self, css):
        """The first descendant matching `css` (raises NoSuchElement)."""
        value = self.browser._command("POST", self._path("/element"), {"using": "css selector", "value": css})
        return Element(self.browser, value[ELEMENT], css)

    def find_all(self, css):
        value = self.browser._command("POST", self._path("/elements"), {"using": "css selector", "value": css})
        return [Element(self.browser, v[ELEMENT], css) for v in value]

    def click(self):
        self.browser._command("POST", self._path("/click"), {})
        return self

    def clear(self):
        self.browser._command("POST", self._path("/clear"), {})
        return self

    def send_keys(self, text):
        self.browser._command("POST", self._path("/value"), {"text": text})
        return self

    @property
    def text(self):
        """The rendered text (what a person sees, whitespace collapsed)."""
        return self.browser._command("GET", self._path("/text"))

    def attribute(self, name):
        """The attribute as written in the HTML, or None."""
        return self.browser._command("GET", self._path("/attribute/%s" % name))

    def prop(self, name):
        """The DOM property (e.g. `textContent`, `value`, `checked`)."""
        return self.browser._command("GET", self._path("/property/%s" % name))

    @property
    def tag_name(self):
        return self.browser._command("GET", self._path("/name"))

    @property
    def displayed(self):
        return self.browser._command("GET", self._path("/displayed"))


class Browser:
    """A WebDriver session with its own chromedriver and headless Chromium."""

    def __init__(self, width=1280, height=900, args=(), timeout=60):
        self.width, self.height = width, height
        self.extra_args = list(args)
        self.timeout = timeout
        self.driver = None
        self.session = None
        self.profile = None
        self.base = None

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.quit()
            raise
        return self

    def __exit__(self, *exc):
        self.quit()
        return False

    def start(self):
        self.profile = tempfile.mkdtemp(prefix="vigil-chromium-")
        self.marker = self.profile  # in the command line of every process Chromium starts for us
        self.log_path = os.path.join(self.profile, "chromedriver.log")
        self._log = open(self.log_path, "ab")
        # --port=0: chromedriver binds a free port itself and says which in its output (here a
        # file: a pipe would be inherited by Chromium and outlive chromedriver), so no other
        # process can take a port picked for it in between.
        # HOME and XDG folders inside the profile: Chromium writes nothing of root's (crash
        # reports, caches) and every helper it starts names our folder, so quit() finds it.
        home = os.path.join(self.profile, "home")
        os.makedirs(home)
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
                   XDG_CACHE_HOME=os.path.join(home, ".cache"))
        self.driver = subprocess.Popen([CHROMEDRIVER, "--port=0", "--allowed-ips=127.0.0.1"],
                                       stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, env=env)
        atexit.register(self.quit)

        def port():
            if self.driver.poll() is not None:
                raise RuntimeError("chromedriver exited (%s) before listening:\n%s" % (self.driver.returncode, self.log()))
            match = re.search(r"started successfully on port (\d+)", self.log())
            return int(match.group(1)) if match else None
        self.base = "http://127.0.0.1:%d" % wait_for(port, 30, message=lambda: "chromedriver did not say its port")
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=%d,%d" % (max(self.width, 500), self.height),
                "--user-data-dir=%s" % os.path.join(self.profile, "p"),
                "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-crash-reporter",
                "--disable-background-networking", "--disable-sync", "--disable-component-update",
                "--hide-scrollbars", "--force-device-scale-factor=1", "--lang=en-US"] + self.extra_args
        capabilities = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            "timeouts": {"implicit": 0, "pageLoad": 30000, "script": 10000},
        }}}
        value = self._request("POST", "/session", capabilities, timeout=self.timeout)
        self.session = value["sessionId"]
        self.set_window_size(self.width, self.height)
        return self

    def quit(self):
        """Ends the session, stops chromedriver and kills whatever it started that still runs
        (by pid, checked against its start time): nothing is left behind. Safe to call twice."""
        atexit.unregister(self.quit)
        if self.profile is None:
            return
        ours = _ours(self.driver.pid, self.marker) if self.driver is not None else {}
        if self.session:
            try:
                self._request("DELETE", "/session/%s" % self.session, timeout=15)
            except Exception:  # noqa: BLE001 - the kill below makes sure
                pass
            self.session = None
        if self.driver is not None:
            if self.driver.poll() is None:
                self.driver.terminate()
                try:
                    self.driver.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.driver.kill()
                    self.driver.wait()
            self.driver = None
        end = time.monotonic() + 10
        while True:
            ours.update(_ours(-1, self.marker))
            alive = {pid: t for pid, t in ours.items() if _start_time(pid) == t}
            if not alive:
                break
            hard = time.monotonic() > end - 5
            for pid in alive:
                try:
                    os.kill(pid, signal.SIGKILL if hard else signal.SIGTERM)
                except ProcessLookupError:
                    pass
            if time.monotonic() >= end:
                break
            time.sleep(0.05)
        self._log.close()
        if not os.environ.get("VIGIL_CONSOLE_KEEP"):
            shutil.rmtree(self.profile, ignore_errors=True)
        self.profile = None

    def log(self):
        """chromedriver's own log (stderr and stdout)."""
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    # -- transport --------------------------------------------------------------------------

    def _request(self, method, path, body=None, timeout=60):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with _OPENER.open(request, timeout=timeout) as answer:
                payload = json.loads(answer.read().decode() or "{}")
        except urllib.error.HTTPError as error:
            try:
                payload = json.loads(error.read().decode() or "{}")
            except ValueError:
                raise WebDriverError("http %d" % error.code, "", "%s %s" % (method, path)) from None
            value = payload.get("value") or {}
            raise _error(value.get("error", "http %d" % error.code), value.get("message", ""),
                         "%s %s" % (method, path)) from None
        return payload.get("value")

    def _command(self, method, path, body=None, timeout=60):
        if not self.session:
            raise WebDriverError("invalid session id", "the browser is not started", path)
        return self._request(method, "/session/%s%s" % (self.session, path), body, timeout)

    # -- navigation and elements -------------------------------------------------------------

    def get(self, url):
        self._command("POST", "/url", {"url": url})
        return self

    @property
    def url(self):
        return self._command("GET", "/url")

    @property
    def title(self):
        return self._command("GET", "/title")

    @property
    def source(self):
        return self._command("GET", "/source")

    def refresh(self):
        self._command("POST", "/refresh", {})
        return self

    def back(self):
        self._command("POST", "/back", {})
        return self

    def find(self, css):
        """The first element matching `css` (raises NoSuchElement, saying which page lacked it)."""
        try:
            value = self._command("POST", "/element", {"using": "css selector", "value": css})
        except NoSuchElement as error:
            raise NoSuchElement(error.error, "no element matches %s %s" % (css, self._describe()),
                                "find") from None
        return Element(self, value[ELEMENT], css)

    def find_all(self, css):
        """Every element matching `css` (possibly none)."""
        value = self._command("POST", "/elements", {"using": "css selector", "value": css})
        return [Element(self, v[ELEMENT], css) for v in value]

    def exists(self, css):
        return bool(self.find_all(css))

    def click(self, css):
        return self.find(css).click()

    def send_keys(self, css, text):
        return self.find(css).send_keys(text)

    def text(self, css="body"):
        return self.find(css).text

    def attribute(self, css, name):
        return self.find(css).attribute(name)

    def execute(self, script, *args):
        """Runs `script` (a function body: use `return`, `arguments[0]`…) in the page."""
        args = [{ELEMENT: a.id} if isinstance(a, Element) else a for a in args]
        value = self._command("POST", "/execute/sync", {"script": script, "args": list(args)})
        return self._unwrap(value)

    def execute_async(self, script, *args):
        """Runs `script`, which calls `arguments[arguments.length - 1](result)` when done."""
        args = [{ELEMENT: a.id} if isinstance(a, Element) else a for a in args]
        return self._unwrap(self._command("POST", "/execute/async", {"script": script, "args": list(args)}))

    def _unwrap(self, value):
        if isinstance(value, dict) and ELEMENT in value:
            return Element(self, value[ELEMENT])
        if isinstance(value, list):
            return [self._unwrap(v) for v in value]
        return value

    TAB, ENTER, SPACE, ESCAPE = "\ue004", "\ue007", " ", "\ue00c"

    def press(self, *keys):
        """Presses keys on whatever has the focus, as a keyboard would (W3C Actions): each
        argument is one key, e.g. browser.press(Browser.TAB, Browser.ENTER), or text to type."""
        steps = []
        for key in keys:
            for char in key:  # a special key (TAB, ENTER) is one character of Unicode's private use area
                steps += [{"type": "keyDown", "value": char}, {"type": "keyUp", "value": char}]
        self._command("POST", "/actions", {"actions": [{"type": "key", "id": "keyboard", "actions": steps}]})
        self._command("DELETE", "/actions")
        return self

    def focused(self):
        """A short description of the focused element: tag, #id, .classes."""
        return self.execute("var e = document.activeElement; if (!e) { return null; }"
                            "return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +"
                            " (e.className ? '.' + String(e.className).trim().split(/\\s+/).join('.') : '')")

    def wait_for(self, condition, timeout=10.0, interval=0.05, message=None):
        """Polls `condition()` (see the module's wait_for); by default the failure message ends
        with the page's URL and the start of its text."""
        if message is None:
            message = self._describe
        return wait_for(condition, timeout, interval, message)

    def _describe(self):
        """Where the browser is and the start of what it shows, for failure messages."""
        try:
            return "at %s: %r" % (self.url, self.execute(
                "return document.body ? document.body.innerText.slice(0, 1500) : document.documentElement.outerHTML.slice(0, 1500)"))
        except WebDriverError as error:
            return "(page unreadable: %s)" % error

    # -- window, screenshots, cookies ---------------------------------------------------------

    def set_window_size(self, width, height):
        """Sets the viewport to width × height CSS pixels. Headless Chromium's window is its
        viewport, but a window cannot be narrower than ~500 px, so narrow (phone) sizes are
        emulated through DevTools, as a phone's layout viewport would be."""
        self.width, self.height = width, height
        self._command("POST", "/window/rect", {"width": max(width, 500), "height": height})
        self.cdp("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500})
        return self

    def viewport(self):
        return tuple(self.execute("return [window.innerWidth, window.innerHeight]"))

    def cdp(self, command, params=None):
        """A Chrome DevTools Protocol command through chromedriver."""
        return self._command("POST", "/goog/cdp/execute", {"cmd": command, "params": params or {}})

    def screenshot(self, path):
        """Writes a PNG of the viewport to `path` and returns the path."""
        data = base64.b64decode(self._command("GET", "/screenshot"))
        assert data[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG"
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def cookies(self):
        """The cookies visible to the current page, as W3C cookie dicts (name, value, httpOnly,
        sameSite, secure, path, ...)."""
        return self._command("GET", "/cookie")

    def cookie(self, name):
        return next((c for c in self.cookies() if c.get("name") == name), None)

    def add_cookie(self, cookie):
        self._command("POST", "/cookie", {"cookie": cookie})

    def delete_cookies(self):
        self._command("DELETE", "/cookie")
