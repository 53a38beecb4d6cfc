"""What the console tests do in a browser, on top of webdriver.Browser: sign in, submit a form and
wait for the page it leads to, read the answer's status code, know when the page's live stream is
open, and tell whether any script the page was given ran.
"""
import http.client
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webdriver import Browser, StaleElement, WebDriverError  # noqa: E402

# Runs before any script of every page (DevTools' addScriptToEvaluateOnNewDocument, which a page's
# Content-Security-Policy does not stop): dialogs are recorded instead of shown, so a hostile value
# that ran is seen (window.__dialogs), and each EventSource/WebSocket the page opens is kept, so the
# test knows when the live stream is connected before it makes something happen.
INSTRUMENT = r"""
(function () {
  window.__dialogs = [];
  window.__confirms = [];
  window.alert = function (m) { window.__dialogs.push('alert:' + String(m)); };
  window.prompt = function (m) { window.__dialogs.push('prompt:' + String(m)); return null; };
  window.confirm = function (m) { window.__confirms.push(String(m)); return true; };
  window.__streams = [];
  ['EventSource', 'WebSocket'].forEach(function (name) {
    var Native = window[name];
    if (!Native) { return; }
    var Kept = function (url, options) {
      var s = options === undefined ? new Native(url) : new Native(url, options);
      window.__streams.push({kind: name, url: String(url), stream: s});
      return s;
    };
    Kept.prototype = Native.prototype;
    ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'].forEach(function (k) { if (k in Native) { Kept[k] = Native[k]; } });
    window[name] = Kept;
  });
})();
"""

PAGE_LOADED = "return window.__vigilPage === undefined && document.readyState === 'complete'"


class ConsoleBrowser(Browser):
    """A Browser that knows the console's conventions (the selectors of console-spec.md)."""

    def __init__(self, base_url, width=1280, height=900):
        super().__init__(width=width, height=height)
        self.base_url = base_url

    def start(self):
        super().start()
        self.cdp("Page.addScriptToEvaluateOnNewDocument", {"source": INSTRUMENT})
        return self

    def open(self, path):
        """Loads base_url + path; returns the answer's status code."""
        self.get(self.base_url + path)
        return self.status()

    @property
    def path(self):
        """The current URL's path and query."""
        parts = urllib.parse.urlsplit(self.url)
        return parts.path + ("?" + parts.query if parts.query else "")

    @property
    def page(self):
        """The current URL's path alone (a page may add `?done=...` after a change)."""
        return urllib.parse.urlsplit(self.url).path

    def texts(self, css):
        """The rendered text of every element matching `css`, read at once (live parts of a page
        are replaced while the test reads them, so element references would go stale)."""
        return self.execute("return Array.from(document.querySelectorAll(arguments[0]), function (e) {"
                            " return e.innerText; })", css)

    def contents(self, css):
        """The textContent of every element matching `css`, read at once."""
        return self.execute("return Array.from(document.querySelectorAll(arguments[0]), function (e) {"
                            " return e.textContent; })", css)

    def count(self, css):
        return self.execute("return document.querySelectorAll(arguments[0]).length", css)

    def status(self):
        """The HTTP status of the answer the current document came from (Navigation Timing)."""
        return self.execute("var n = performance.getEntriesByType('navigation')[0];"
                            "return n ? n.responseStatus : null")

    def sign_in(self, token, path="/console/sign-in"):
        """Fills form#sign-in with `token` and submits it; returns the status of the page reached."""
        self.open(path)
        self.find("form#sign-in input#token").send_keys(token)
        return self.submit("form#sign-in")

    def mark(self):
        """Marks the current document, so that a new one can be told from it."""
        self.execute("window.__vigilPage = 1")

    def wait_new_page(self, timeout=15):
        def loaded():
            try:
                return self.execute(PAGE_LOADED)
            except WebDriverError:  # the old document went away under the script
                return False
        self.wait_for(loaded, timeout, message=lambda: "no new page loaded; " + self._describe())
        return self.status()

    def follow(self, css, timeout=10):
        """Clicks the link `css` and waits for the page it leads to; returns its status. A link
        the live page re-rendered meanwhile is found again."""
        self.mark()

        def click():
            try:
                self.find(css).click()
                return True
            except StaleElement:
                return False
        self.wait_for(click, timeout)
        return self.wait_new_page()

    def submit(self, form_css, button_css=None, validate=True, timeout=10):
        """Clicks the submit button of `form_css` (or `button_css`) as a person would and waits
        for the page the answer leads to; returns its status code. `validate=False` turns the
        browser's own checks (required, maxlength) off, so the server is what judges. A form the
        live page re-rendered meanwhile is found again."""
        def press():
            try:
                form = self.find(form_css)
                if not validate:
                    self.execute("arguments[0].noValidate = true", form)
                if button_css:
                    button = self.find(button_css)
                else:
                    button = self.execute("return arguments[0].querySelector("
                                          "'button[type=submit], input[type=submit], button:not([type])')", form)
                    if button is None:
                        raise AssertionError("%s has no submit button" % form_css)
                self.mark()
                button.click()
                return True
            except StaleElement:
                return False
        self.wait_for(press, timeout)
        return self.wait_new_page()

    def fill(self, css, value):
        """Sets a field's value (long values, selects) and fires input/change like typing would."""
        element = self.find(css)
        self.execute("var e = arguments[0]; e.value = arguments[1];"
                     "e.dispatchEvent(new Event('input', {bubbles: true}));"
                     "e.dispatchEvent(new Event('change', {bubbles: true}));", element, value)
        return element

    def type(self, css, text):
        """Types `text` into a field, replacing what it held."""
        element = self.find(css)
        element.clear()
        element.send_keys(text)
        return element

    def wait_stream(self, timeout=10):
        """Waits until the page's live stream (EventSource, or a WebSocket) is open."""
        def is_open():
            return self.execute("return window.__streams.some(function (s) { return s.stream.readyState === 1; })")
        return self.wait_for(is_open, timeout, message=lambda: "no open EventSource/WebSocket on %s; streams: %s" % (
            self.path, self.execute("return JSON.stringify(window.__streams.map(function (s) {"
                                    " return [s.kind, s.url, s.stream.readyState]; }))")))

    def streams(self):
        return self.execute("return window.__streams.map(function (s) { return [s.kind, s.url, s.stream.readyState]; })")

    def dialogs(self):
        """What scripts on the page tried to show with alert() or prompt(): a script that ran."""
        return self.execute("return window.__dialogs || []")

    def csrf(self):
        """The `_csrf` value of the first form on the page that carries one, or None."""
        return self.execute("var i = document.querySelector('input[name=_csrf]'); return i ? i.value : null")

    def fetch(self, method, path, fields=None):
        """Sends a request from the page (its cookies, same origin), not following redirects:
        (status, body text); a redirect answers status 0 (an opaque redirect)."""
        script = """
            var done = arguments[arguments.length - 1];
            var body = arguments[2] === null ? undefined : new URLSearchParams(arguments[2]);
            fetch(arguments[1], {method: arguments[0], body: body, redirect: 'manual', credentials: 'same-origin'})
              .then(function (r) { return r.text().then(function (t) { done([r.status, t]); }); })
              .catch(function (e) { done([-1, String(e)]); });
        """
        status, text = self.execute_async(script, method, path, fields)
        return status, text

    def session_cookie(self):
        return self.cookie("vigil_session")


def http_request(base_url, method, path, fields=None, cookie=None, headers=None):
    """One request without following redirects: (status, headers dict (lower-case names), body text).
    `fields` are sent form-encoded; `cookie` is the value of vigil_session."""
    parts = urllib.parse.urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    send = dict(headers or {})
    body = None
    if fields is not None:
        body = urllib.parse.urlencode(fields).encode()
        send.setdefault("Content-Type", "application/x-www-form-urlencoded")
    if cookie:
        send["Cookie"] = "vigil_session=%s" % cookie
    try:
        connection.request(method, path, body=body, headers=send)
        answer = connection.getresponse()
        received = {}
        for name, value in answer.getheaders():  # Set-Cookie may come more than once
            received[name.lower()] = received[name.lower()] + "\n" + value if name.lower() in received else value
        return answer.status, received, answer.read().decode(errors="replace")
    finally:
        connection.close()
