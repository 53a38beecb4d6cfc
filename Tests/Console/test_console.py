"""The web console (issue 19) in headless Chromium against a real vigild, written against the
routes and selectors of the console's contract (console-spec).

A detector plugin (plugins/console-probe) opens the incidents: the test drops a file in its
trigger folder and the rule console.probe (console-rules.yaml) turns its signal into a P1 "Data
corruption" incident, whose containment actions wait for approval and whose runbook has steps to
tick. Nothing here sleeps for a fixed time: every wait polls a condition with a deadline.

Run as root after building (make test-console): `cd Tests/Console && python3 -m unittest -v`.
VIGIL_CONSOLE_SCREENSHOTS=DIR keeps the screenshots there (make console-screenshots: Docs/console).
"""
import os
import re
import shutil
import signal
import sys
import tempfile
import unittest
import json
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import console_daemon  # noqa: E402
import webdriver  # noqa: E402
from console_browser import ConsoleBrowser, http_request  # noqa: E402
from console_daemon import ConsoleDaemon, eventually  # noqa: E402

SKIP = console_daemon.available() or webdriver.available()
# SIGTERM (a CI timeout, `kill`) ends the run like ^C, so the browsers and vigild are stopped at
# exit instead of being left running.
signal.signal(signal.SIGTERM, signal.default_int_handler)
PAGES = ["/console/incidents", "/console/oncall", "/console/plugins", "/console/bus", "/console/agents",
         "/console/silences", "/console/metrics"]
HOSTILE = """<script>alert("comment")</script> "double" 'single' & <img src=x onerror="alert('img')"> </textarea>"""
ATOM = "{http://www.w3.org/2005/Atom}"


def agent_call_in(base, token, spool="console-test-spool"):
    """A host agent calls in (POST /api/v1/agents/signals with no signals), as `vigild` with
    `agent:` does every call_in; its name is its token's person."""
    body = json.dumps({"version": 1, "spool": spool, "spooled": 0, "agent_version": "0.1.0", "signals": []}).encode()
    request = urllib.request.Request(base + "/api/v1/agents/signals", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, timeout=15) as answer:
        return json.loads(answer.read())


def session_cookie(base, token):
    """A console session made without a browser: the sign-in form's secret (GET /console/sign-in),
    then POST /console/sign-in; the vigil_session value."""
    status, headers, body = http_request(base, "GET", "/console/sign-in")
    form_cookie = re.search(r"vigil_signin=([^;]+)", headers.get("set-cookie", ""))
    secret = re.search(r'name="_csrf" value="([^"]*)"', body if isinstance(body, str) else body.decode())
    if status != 200 or not form_cookie or not secret:
        raise AssertionError("GET /console/sign-in: %s, no form secret" % status)
    status, headers, _ = http_request(base, "POST", "/console/sign-in", {"_csrf": secret.group(1), "token": token},
                                      headers={"Cookie": "vigil_signin=" + form_cookie.group(1)})
    match = re.search(r"vigil_session=([^;]+)", headers.get("set-cookie", ""))
    if status != 303 or not match:
        raise AssertionError("POST /console/sign-in: %s, Set-Cookie %r" % (status, headers.get("set-cookie")))
    return match.group(1)


def timeline(daemon, incident):
    return daemon.incident(incident)["timeline"]


def action_id(daemon, incident, name, timeout=30):
    """The id of the containment action `name` requested for `incident` (once it is requested)."""
    def find():
        for action in daemon.vigil("actions", "list", "--json"):
            if action["incident"] == incident and action["action"] == name:
                return action["id"]
        return None
    found = eventually(find, timeout)
    if found is None:
        raise AssertionError("incident %s has no action %s after %ss: %s" % (
            incident, name, timeout, daemon.vigil("actions", "list")))
    return found


class ConsoleCase(unittest.TestCase):
    """One real vigild for the class; a fresh browser (its own profile: no cookies) per use."""

    @classmethod
    def setUpClass(cls):
        cls.daemon = ConsoleDaemon()
        cls.daemon.__enter__()
        cls.addClassCleanup(cls.daemon.__exit__, None, None, None)
        cls.base = cls.daemon.url
        cls.tokens = {}

    @classmethod
    def token(cls, role, person):
        key = (role, person)
        if key not in cls.tokens:
            cls.tokens[key] = cls.daemon.token(role, person)
        return cls.tokens[key]

    def browser(self, width=1280, height=900):
        browser = ConsoleBrowser(self.base, width, height)
        self.addCleanup(browser.quit)
        browser.start()
        return browser

    def signed_in(self, role="responder", person="alice"):
        browser = self.browser()
        status = browser.sign_in(self.token(role, person))
        self.assertEqual(browser.path.split("?")[0], "/console/incidents",
                         "signing in as %s should lead to the incident list (status %s)" % (role, status))
        return browser

    def assertNoScriptRan(self, browser):
        self.assertEqual(browser.dialogs(), [], "a script from a stored value ran on %s" % browser.path)

    def assertPageWorks(self, browser, what):
        """A page shown by a GET says no error: no alert, no command the daemon did not know."""
        alerts = [t for t in browser.texts("[role=alert]") if t.strip()]
        self.assertEqual(alerts, [], "%s shows an error" % what)
        body = browser.text("body")
        if "unknown command" in body:
            self.fail("%s shows a command the daemon does not know: %s" % (
                what, body[body.find("unknown command"):].split(";")[0]))

    def assertFormsLabelled(self, browser, what):
        """Every visible field has a name a screen reader reads: a <label>, aria-label(ledby) or title."""
        unnamed = browser.execute("""
            return Array.from(document.querySelectorAll('input, select, textarea')).filter(function (e) {
              if (e.type === 'hidden' || e.type === 'submit' || e.type === 'button') { return false; }
              var named = (e.labels && e.labels.length) || e.getAttribute('aria-label') ||
                          e.getAttribute('aria-labelledby') || e.getAttribute('title');
              return !named;
            }).map(function (e) { return e.outerHTML.slice(0, 120); });""")
        self.assertEqual(unnamed, [], "%s has fields without a label" % what)

    def assertFormsCarryCsrf(self, browser, what):
        """Every change form (POST) carries the session's `_csrf`, or pressing it is refused. The
        sign-in form is the exception: there is no session yet."""
        tokens = browser.execute("""
            return Array.from(document.querySelectorAll('form')).filter(function (f) {
              return (f.getAttribute('method') || 'get').toLowerCase() === 'post' && f.id !== 'sign-in';
            }).map(function (f) {
              var t = f.querySelector('input[name=_csrf]');
              return [f.id || f.className || f.getAttribute('action'), t ? t.value : null];
            });""")
        session = browser.csrf()
        bad = [(name, token) for name, token in tokens if not token or token != session]
        self.assertEqual(bad, [], "%s: POST forms without the session's _csrf (%r)" % (what, session))

    def assertRefusedWithMessage(self, browser, status, what):
        self.assertIn(status, (400, 409, 413, 422), "%s: expected a refusal (400/409), got %s" % (what, status))
        errors = [t for t in browser.texts(".error[role=alert]") if t.strip()]
        self.assertTrue(errors, "%s: no .error[role=alert] message on the page (status %s):\n%s" % (
            what, status, browser.text()[:1500]))
        return errors[0]


@unittest.skipIf(SKIP, SKIP or "")
class SignInTests(ConsoleCase):
    def test_every_page_sends_a_signed_out_visitor_to_sign_in(self):
        incident = self.daemon.trigger("sign-in-redirect")
        for path in PAGES + ["/console/incidents/%s" % incident, "/console/plugins/console-probe"]:
            status, headers, _ = http_request(self.base, "GET", path)
            self.assertEqual(status, 303, "GET %s signed out" % path)
            location = urllib.parse.urlsplit(headers.get("location", ""))
            self.assertEqual(location.path, "/console/sign-in", "GET %s: Location %s" % (path, headers.get("location")))
            self.assertEqual(urllib.parse.parse_qs(location.query).get("next"), [path],
                             "GET %s: the sign-in link should bring the visitor back (next=)" % path)
        status, _, _ = http_request(self.base, "GET", "/console/sign-in")
        self.assertEqual(status, 200)
        status, _, _ = http_request(self.base, "GET", "/status")
        self.assertEqual(status, 200, "the public status page needs no sign-in")

    def test_a_token_signs_in_with_a_strict_http_only_cookie_and_signing_out_ends_the_session(self):
        browser = self.browser()
        self.assertEqual(browser.open("/console/sign-in"), 200)
        field = browser.find("form#sign-in input#token")
        self.assertEqual(field.attribute("type"), "password")
        self.assertEqual(field.attribute("name"), "token")
        browser.find("form#sign-in button[type=submit]")
        # A bad token: 401 and a message a screen reader announces.
        status = browser.sign_in("vgl_000000000000_notarealtoken")
        self.assertEqual(status, 401, "a bad token")
        self.assertTrue([t for t in browser.texts(".error[role=alert]") if t.strip()],
                        "the bad-token page has no .error[role=alert] message")
        self.assertIsNone(browser.session_cookie(), "a bad token must not get a session")
        # The real one.
        status = browser.sign_in(self.token("responder", "alice"))
        self.assertEqual(status, 200)
        self.assertEqual(browser.path, "/console/incidents")
        cookie = browser.session_cookie()
        self.assertIsNotNone(cookie, "no vigil_session cookie after signing in: %s" % browser.cookies())
        self.assertTrue(cookie["httpOnly"], "vigil_session must be HttpOnly: %s" % cookie)
        self.assertEqual(cookie.get("sameSite"), "Strict", cookie)
        self.assertEqual(cookie.get("path"), "/", cookie)
        self.assertFalse(cookie.get("secure"), "plain HTTP: Secure would make the cookie unusable here")
        self.assertNotIn("vgl_", cookie["value"], "the session cookie must not be the API token")
        self.assertEqual(browser.text("span#whoami").strip(), "alice (responder)")
        links = {urllib.parse.urlsplit(a.attribute("href") or "").path for a in browser.find_all("nav#nav a")}
        for path in PAGES:
            self.assertIn(path, links, "nav#nav has no link to %s" % path)
        self.assertTrue(browser.exists("main#content"))
        # Signing out ends the session on the server, not only in this browser.
        status, _, _ = http_request(self.base, "GET", "/console/incidents", cookie=cookie["value"])
        self.assertEqual(status, 200, "the session cookie works outside the browser too")
        browser.submit("form:has(button#sign-out)", "button#sign-out")
        self.assertIsNone(browser.session_cookie(), "vigil_session still set after signing out")
        status, headers, _ = http_request(self.base, "GET", "/console/incidents", cookie=cookie["value"])
        self.assertEqual(status, 303, "the signed-out session still opens pages")
        self.assertTrue(headers.get("location", "").split("?")[0].endswith("/console/sign-in"))

    def test_signing_in_goes_back_to_the_page_asked_for_but_never_off_site(self):
        browser = self.browser()
        browser.sign_in(self.token("responder", "alice"), "/console/sign-in?next=%2Fconsole%2Foncall")
        self.assertEqual(browser.path, "/console/oncall", "next= was not followed")
        for hostile in ("https://evil.example/x", "//evil.example/x", "/\\evil.example/x", "javascript:alert(1)"):
            browser = self.browser()
            browser.sign_in(self.token("responder", "alice"), "/console/sign-in?next=" + urllib.parse.quote(hostile, safe=""))
            self.assertEqual(urllib.parse.urlsplit(browser.url).netloc, urllib.parse.urlsplit(self.base).netloc,
                             "next=%s led off the console: %s" % (hostile, browser.url))
            self.assertNoScriptRan(browser)


@unittest.skipIf(SKIP, SKIP or "")
class ResponderTests(ConsoleCase):
    def test_a_responder_works_a_detector_incident_from_the_browser(self):
        d = self.daemon
        browser = self.signed_in()
        # The list is live: the detector's incident appears without a reload.
        browser.wait_stream()
        browser.execute("window.__noReload = 1")
        case = "orders-db"
        incident = d.trigger(case)
        row_css = 'table#incidents tr[data-incident-id="%s"]' % incident
        browser.wait_for(lambda: browser.count(row_css), 15,
                         message=lambda: "%s did not appear on the list without a reload; rows: %s" % (
                             incident, browser.execute("return Array.from(document.querySelectorAll("
                                                       "'table#incidents tr[data-incident-id]'), function (r) {"
                                                       " return r.dataset.incidentId; })")))
        self.assertEqual(browser.execute("return window.__noReload"), 1, "the list reloaded the page")
        self.assertIn("detector", browser.texts(row_css)[0], "the row shows the incident's title")
        # Its page, through the row's link (found again: the live list may have re-rendered).
        browser.follow(row_css + ' a[href="/console/incidents/%s"]' % incident)
        self.assertEqual(browser.path, "/console/incidents/%s" % incident)
        self.assertEqual(browser.status(), 200)
        self.assertIn("detector", browser.text("h1"))
        self.assertIn("P1", browser.text("#severity"))
        self.assertTrue(browser.text("#state").strip())
        for css in ("#roles", "#escalation", "ol#timeline", "table#notifications", "table#actions", "ol#runbook",
                    "#evidence", "#alerts"):
            self.assertTrue(browser.exists(css), "the incident page has no %s" % css)
        # Whoever the rotation makes commander this week, as the daemon says.
        commander = d.incident(incident)["roles"]["incident_commander"]
        self.assertIn(commander, browser.text("#roles").lower(), "#roles should name the incident commander, %s" % commander)
        self.assertFormsCarryCsrf(browser, "the incident page")
        deadline = browser.attribute("#sla-clock", "data-deadline")
        self.assertEqual(deadline, d.incident(incident)["sla"]["deadline"], "#sla-clock data-deadline")
        first = browser.text("#sla-clock")
        browser.wait_for(lambda: browser.text("#sla-clock") != first, 5,
                         message="#sla-clock did not count down (stayed %r)" % first)

        # Acknowledge: the timeline shows who.
        status = browser.submit("form#ack", "button#ack-button")
        self.assertEqual((status, browser.page), (200, "/console/incidents/%s" % incident), "after acknowledging")
        entries = browser.texts("ol#timeline li")
        self.assertTrue(any("cknowledged" in t and "alice" in t for t in entries),
                        "no acknowledgement by alice in the timeline:\n%s" % "\n".join(entries[-8:]))
        acked = [e for e in timeline(d, incident) if e["kind"] == "acknowledged"]
        self.assertEqual([e["actor"] for e in acked], ["alice"], "the acknowledgement was not attributed to alice")

        # Its post-mortem, drafted and edited from the browser; an action item added and moved.
        self.assertEqual(browser.open("/console/incidents/%s/postmortem" % incident), 200)
        status = browser.submit("form#pm-draft")
        self.assertEqual((status, browser.page), (200, "/console/incidents/%s/postmortem" % incident), "after drafting")
        self.assertIn("cknowledged", browser.text("#section-timeline"), "the drafted timeline retells the acknowledgement")
        browser.type("textarea#pm-went_well", "Paged within seconds; the replica was fenced quickly.")
        browser.type("input#pm-note-went_well", "went well")
        status = browser.submit("form#edit-went_well")
        self.assertEqual(status, 200, "after editing the post-mortem")
        pm = d.vigil("postmortem", "show", incident, "--json")
        sections = {s["key"]: s for s in pm["sections"]}
        self.assertEqual(sections["went_well"]["text"], "Paged within seconds; the replica was fenced quickly.")
        self.assertTrue(sections["timeline"]["drafted"], "an untouched drafted section must stay Vigil's")
        self.assertEqual((pm["version"], pm["author"]), (2, "alice"))
        browser.type("form#add-item input[name=title]", "Fence replicas automatically")
        browser.type("form#add-item input[name=owner]", "bob")
        browser.type("form#add-item input[name=due]", "in 14 days")
        status = browser.submit("form#add-item")
        self.assertEqual(status, 200, "after adding an action item")
        items = d.vigil("action-items", "list", "--incident", incident, "--json")
        added = [i for i in items if i["title"] == "Fence replicas automatically"]
        self.assertEqual(len(added), 1, "the action item was not stored once: %s" % items)
        row = 'table#action-items tr[data-item="%s"]' % added[0]["id"]
        browser.open("/console/incidents/%s/postmortem" % incident)
        browser.fill(row + " select[name=state]", "in-progress")
        status = browser.submit(row + " form")
        self.assertEqual(status, 200, "after moving the action item")
        moved = [i for i in d.vigil("action-items", "list", "--incident", incident, "--json") if i["id"] == added[0]["id"]]
        self.assertEqual((moved[0]["state"], moved[0].get("updated_by")), ("in-progress", "alice"), moved[0])
        browser.open("/console/incidents/%s" % incident)

        # The timeline is live too.
        browser.wait_stream()
        browser.execute("window.__noReload = 1")
        d.vigil("incidents", "comment", incident, "Replica lag checked from the CLI", "--as", "bob")
        browser.wait_for(lambda: any("Replica lag checked from the CLI" in t for t in browser.texts("ol#timeline li")), 15,
                         message="a comment made elsewhere did not show in ol#timeline without a reload")
        self.assertEqual(browser.execute("return window.__noReload"), 1, "the incident page reloaded")

        # Approve the containment action waiting for it.
        waiting = action_id(d, incident, "isolate_affected_storage")
        self.assertEqual(d.vigil("actions", "show", str(waiting), "--json")["state"], "awaiting-approval")
        row_css = 'table#actions tr[data-action-id="%s"]' % waiting
        self.assertTrue(browser.exists(row_css + " form.deny button.deny"), "a waiting action offers deny")
        status = browser.submit(row_css + " form.approve", row_css + " button.approve")
        self.assertEqual((status, browser.page), (200, "/console/incidents/%s" % incident), "after approving")
        state = eventually(lambda: (lambda s: s if s not in ("awaiting-approval", "queued", "running") else None)(
            d.vigil("actions", "show", str(waiting), "--json")["state"]), 30)
        self.assertEqual(state, "succeeded", "the approved isolate_affected_storage did not run")
        self.assertTrue(any(e["kind"] == "action" and "approved by alice" in e["message"] for e in timeline(d, incident)),
                        "the approval was not attributed to alice")
        self.assertFalse(browser.exists(row_css + " form.approve"), "an approved action still offers approve")

        # Tick a runbook step: it stays ticked across a reload.
        step_css = 'ol#runbook li[data-step="3"] button.tick'
        self.assertEqual(browser.attribute(step_css, "aria-pressed"), "false")
        status = browser.submit('ol#runbook li[data-step="3"] form', step_css)
        self.assertEqual((status, browser.page), (200, "/console/incidents/%s" % incident), "after ticking")
        browser.refresh()
        self.assertEqual(browser.attribute(step_css, "aria-pressed"), "true", "step 3 is not ticked after a reload")
        self.assertEqual(browser.attribute('ol#runbook li[data-step="4"] button.tick', "aria-pressed"), "false")
        step = d.vigil("runbooks", "show", "--incident", incident, "--json")["steps"][2]
        self.assertEqual((step["done"], step.get("by")), (True, "alice"))

        # A public comment reaches the status page; an internal one does not.
        browser.type("form#comment textarea[name=message]", "Restoring the orders table from the last good backup")
        browser.find("form#comment input[name=status_update]").click()  # a status update is public
        status = browser.submit("form#comment")
        self.assertEqual((status, browser.page), (200, "/console/incidents/%s" % incident), "after commenting")
        self.assertTrue(any("Restoring the orders table" in t for t in browser.texts("ol#timeline li")))

        # A silence from the silences page, with its preview.
        self.assertEqual(browser.open("/console/silences"), 200)
        matchers = 'case="%s"' % case
        browser.type("form#silence input[name=matchers]", matchers)
        browser.wait_for(lambda: incident in "".join(browser.texts("#silence-preview")), 10,
                         message=lambda: "#silence-preview does not name %s: %r" % (
                             incident, browser.texts("#silence-preview")))
        status, fragment = browser.fetch("GET", "/console/silences/preview?" + urllib.parse.urlencode({"matchers": matchers}))
        self.assertEqual(status, 200)
        self.assertIn(incident, fragment, "the preview fragment does not name the incident it would mute")
        browser.type("form#silence input[name=duration]", "2h")
        browser.type("form#silence input[name=comment]", "Quiet while the orders table is restored")
        status = browser.submit("form#silence")
        self.assertEqual(status, 200, "after creating a silence")
        silences = [s for s in d.vigil("silences", "list", "--json")["silences"]
                    if s["comment"] == "Quiet while the orders table is restored"]
        self.assertEqual(len(silences), 1, "the silence was not stored once")
        silence = silences[0]
        self.assertEqual(silence["createdBy"], "alice")
        self.assertEqual([(m["name"], m["value"], m["isEqual"], m["isRegex"]) for m in silence["matchers"]],
                         [("case", case, True, False)])
        browser.open("/console/silences")
        self.assertIn("Quiet while the orders table is restored",
                      "".join(browser.texts('table#silences tr[data-silence-id="%s"]' % silence["id"])))
        self.assertTrue(any("Silenced by %s" % silence["id"] in e["message"] for e in timeline(d, incident)),
                        "the silence did not reach the incident's timeline")
        # A second one, expired from its row.
        other = d.vigil("silences", "add", 'case="nothing-here"', "--comment", "to expire", "--json")["silenceID"]
        browser.open("/console/silences")
        expire_css = 'table#silences tr[data-silence-id="%s"] form.expire' % other
        self.assertFormsCarryCsrf(browser, "/console/silences")
        status = browser.submit(expire_css)
        self.assertEqual((status, browser.page), (200, "/console/silences"), "after expiring a silence")
        self.assertNotIn(other, [s["id"] for s in d.vigil("silences", "list", "--json")["silences"]],
                         "the silence expired from the page is still pending or active")
        self.assertIn(silence["id"], [s["id"] for s in d.vigil("silences", "list", "--json")["silences"]])

        # The public status page, signed out, shows the incident and the public update only.
        # (The page may be a few seconds old: it is rendered at most every few seconds.)
        public = self.browser()
        article_css = 'section#active article[data-incident-id="%s"]' % incident

        def shows_update():
            self.assertEqual(public.open("/status"), 200)
            return "Restoring the orders table from the last good backup" in " ".join(public.texts(article_css))
        public.wait_for(shows_update, 20, interval=0.5,
                        message=lambda: "the status page does not show %s with its public update: %s" % (
                            incident, public.texts("section#active")))
        self.assertEqual(public.path, "/status", "the status page must not ask for sign-in")
        self.assertTrue(public.find_all("ul#components li"), "ul#components lists no component")
        self.assertTrue(public.exists("#history"), "no #history (the last 90 days)")
        self.assertNotIn("Replica lag checked from the CLI", public.text(), "an internal comment is public")
        self.assertIsNone(public.session_cookie())
        def feed_entries():
            status, headers, body = http_request(self.base, "GET", "/status/feed.atom")
            self.assertEqual(status, 200)
            self.assertIn("atom", headers.get("content-type", ""), headers.get("content-type"))
            feed = ElementTree.fromstring(body)
            self.assertEqual(feed.tag, ATOM + "feed")
            entries = [ElementTree.tostring(e, encoding="unicode") for e in feed.findall(ATOM + "entry")]
            return entries if any("Restoring the orders table" in e for e in entries) else None
        entries = webdriver.wait_for(feed_entries, 20, interval=0.5, message="the feed lacks the public update")
        self.assertFalse(any("Replica lag checked" in e for e in entries), "the feed shows an internal comment")

    def test_signing_in_and_acknowledging_with_the_keyboard_alone(self):
        d = self.daemon
        incident = d.trigger("keyboard-probe")
        browser = self.browser()
        browser.open("/console/sign-in")

        def tab_to(css, most):
            for _ in range(most):
                browser.press(browser.TAB)
                if browser.execute("return document.activeElement && document.activeElement.matches(arguments[0])", css):
                    return
            self.fail("%d presses of Tab never reached %s (last focus: %s)" % (most, css, browser.focused()))
        browser.press(browser.TAB)
        self.assertIn("skip", browser.focused() or "", "the first Tab should reach the skip link")
        tab_to("input#token", 10)
        browser.press(self.token("responder", "alice"))
        browser.mark()
        browser.press(browser.ENTER)
        browser.wait_new_page()
        self.assertEqual(browser.page, "/console/incidents", "Enter in the token field did not sign in")
        browser.open("/console/incidents/%s" % incident)
        tab_to("button#ack-button", 300)
        browser.mark()
        browser.press(browser.ENTER)
        browser.wait_new_page()
        self.assertEqual([e["actor"] for e in timeline(d, incident) if e["kind"] == "acknowledged"], ["alice"],
                         "Enter on the focused Acknowledge button did not acknowledge")

    def test_the_list_filters_and_pages_through_incidents(self):
        d = self.daemon
        for n in range(53):
            d.vigil("incidents", "declare", "--title", "Paging probe %02d" % n, "--severity", "P4",
                    "--component", "paging-probe", "--json")
        detector = d.trigger("filter-probe")
        browser = self.signed_in()

        def ids():
            return browser.execute("return Array.from(document.querySelectorAll("
                                   "'table#incidents tr[data-incident-id]'), function (r) { return r.dataset.incidentId; })")
        # Two words in the list's own filter form, as a person types them (the browser sends q=Paging+probe).
        browser.fill("form [name=state]", "all")
        browser.type("form [name=q]", "Paging probe")
        browser.submit("form:has([name=q])")
        first = ids()
        self.assertEqual(len(first), 50, "the first page should hold 50 of the 53 incidents matching %s" % browser.path)
        self.assertFalse(browser.exists("a[rel=prev]"))
        self.assertEqual(browser.find("form [name=q]").prop("value"), "Paging probe", "the filter box changed the text")
        browser.follow("a[rel=next]")
        second = ids()
        self.assertEqual(len(second), 3, "the second page: %s" % browser.path)
        self.assertEqual(urllib.parse.parse_qs(urllib.parse.urlsplit(browser.url).query).get("q"), ["Paging probe"],
                         "the next page lost the query: %s" % browser.url)
        self.assertTrue(browser.exists("a[rel=prev]"))
        self.assertFalse(browser.exists("a[rel=next]"))
        self.assertEqual(len(set(first) | set(second)), 53, "pages overlap or miss incidents")
        # Filters: severity, component, text.
        browser.open("/console/incidents?state=all&severity=P1")
        listed = set(ids())
        self.assertIn(detector, listed)
        self.assertFalse(listed & set(first + second), "severity=P1 lists P4 incidents")
        browser.open("/console/incidents?state=all&component=paging-probe&q=probe%2007")
        listed = browser.texts("table#incidents tr[data-incident-id]")
        self.assertEqual(len(listed), 1, listed)
        self.assertIn("Paging probe 07", listed[0])

    def test_who_is_on_call_for_14_days_and_an_override_made_from_the_page(self):
        d = self.daemon
        browser = self.signed_in()
        self.assertEqual(browser.open("/console/oncall"), 200)
        self.assertPageWorks(browser, "/console/oncall")
        now = " ".join(browser.texts("table#oncall-now tbody tr"))
        for person in ("Carol Diaz", "Erin Walsh", "Frank Moreau"):  # the one-person rotations
            self.assertIn(person, now, "table#oncall-now does not name %s" % person)
        days = [cells for cells in browser.execute(
            "return Array.from(document.querySelectorAll('table#oncall-14d tbody tr'), function (r) {"
            " return r.cells.length; })")]
        self.assertTrue(days and all(n >= 3 for n in days), "table#oncall-14d has no schedule rows: %s" %
                        browser.texts("table#oncall-14d tbody tr")[:3])
        # Bob covers the primary rotation tomorrow from 10:00 to 12:00 UTC.
        day = d.vigil("oncall", "--at", "+1 day", "--json")["at"][:10]
        browser.fill("form#override [name=rotation]", "primary")
        browser.fill("form#override [name=person]", "bob")
        browser.fill("form#override [name=from]", day + "T10:00")
        browser.fill("form#override [name=until]", day + "T12:00")
        if browser.exists("form#override [name=reason]"):  # not in the spec; the daemon asks why
            browser.fill("form#override [name=reason]", "Covering for Alice's dentist appointment")
        status = browser.submit("form#override")
        self.assertEqual((status, browser.page), (200, "/console/oncall"), "after adding an override: %s" %
                         browser.texts("[role=alert]"))
        self.assertIn("bob", " ".join(browser.texts("table#overrides tbody tr")).lower())
        self.assertFormsCarryCsrf(browser, "/console/oncall with an override")
        shifts = d.vigil("oncall", "--at", day + "T11:00:00Z", "--json")["shifts"]
        self.assertIn(("primary", "bob"), [(s["rotation"], s["person"]) for s in shifts],
                      "vigil oncall at 11:00 does not see bob's override")

    def test_the_agents_page_lists_the_host_agents_live(self):
        d = self.daemon
        browser = self.signed_in()
        self.assertEqual(browser.open("/console/agents"), 200)
        self.assertPageWorks(browser, "/console/agents")
        browser.wait_stream()  # the table is live: an agent calling in appears without a reload
        answer = agent_call_in(self.base, self.token("agent", "db-07"))
        self.assertEqual(answer["agent"], "db-07")
        self.assertTrue(eventually(lambda: "db-07" in " ".join(browser.texts("table#agents tbody tr")), 20),
                        "the agent that called in did not appear on /console/agents without a reload")
        row = " ".join(browser.texts('table#agents tbody tr[data-agent="db-07"]'))
        self.assertIn("ok", row)
        self.assertIn("0.1.0", row)

    def test_the_bus_plugins_and_metrics_pages(self):
        d = self.daemon
        d.trigger("metrics-probe")
        browser = self.signed_in()
        self.assertEqual(browser.open("/console/bus"), 200)
        self.assertPageWorks(browser, "/console/bus")
        lanes = " ".join(browser.texts("table#lanes tbody tr"))
        for lane in ("security", "incident", "telemetry"):
            self.assertIn(lane, lanes, "table#lanes has no %s lane" % lane)
        browser.wait_stream()  # the lanes are live
        self.assertEqual(browser.open("/console/plugins"), 200)
        self.assertPageWorks(browser, "/console/plugins")
        listed = " ".join(browser.texts("main#content"))
        self.assertIn("console-probe", listed)
        self.assertIn("email", listed)
        self.assertEqual(browser.follow('main#content a[href="/console/plugins/console-probe"]'), 200)
        page = browser.text("main#content")
        for word in ("console-probe", "detector", "running", "detector"):  # name, kind, state, sandbox profile
            self.assertIn(word, page, "the plugin page does not say %r" % word)
        self.assertEqual(browser.open("/console/metrics"), 200)
        self.assertPageWorks(browser, "/console/metrics")
        charts = browser.execute("return Array.from(document.querySelectorAll('main#content svg[role=img]'),"
                                 " function (s) { var t = s.querySelector('title'); return t ? t.textContent : ''; })")
        self.assertTrue(charts, "/console/metrics draws no svg[role=img] chart")
        self.assertTrue(all(t.strip() for t in charts), "a chart has no <title>: %s" % charts)
        self.assertTrue(browser.count("main#content table"), "no table beside the charts")

    def test_only_an_admin_may_enable_or_disable_plugins(self):
        responder = self.signed_in()
        responder.open("/console/plugins/console-probe")
        self.assertFalse(responder.exists("form.enable") or responder.exists("form.disable"),
                         "a responder is offered enable/disable")
        admin = self.signed_in("admin", "erin")
        self.assertEqual(admin.text("span#whoami").strip(), "erin (admin)")
        admin.open("/console/plugins/console-probe")
        self.assertTrue(admin.exists("form.disable"), "an admin is not offered to disable a running plugin")
        self.assertFormsCarryCsrf(admin, "/console/plugins/console-probe for an admin")


@unittest.skipIf(SKIP, SKIP or "")
class ViewerTests(ConsoleCase):
    def snapshot(self, incident):
        d = self.daemon
        shown = d.incident(incident)
        people_kinds = {"acknowledged", "comment", "status-update", "runbook", "assigned", "escalated", "classified",
                        "resolved", "reopened"}
        return {
            "incident": {k: shown.get(k) for k in ("state", "severity", "roles", "acknowledged_at", "escalation_level",
                                                   "title")},
            "entries": sorted((e["sequence"], e["kind"], e["actor"]) for e in shown["timeline"] if e["kind"] in people_kinds),
            "actions": sorted((a["id"], a["state"]) for a in d.vigil("actions", "list", "--json")
                              if a["incident"] == incident and a["state"] == "awaiting-approval"),
            "runbook": [s["done"] for s in d.vigil("runbooks", "show", "--incident", incident, "--json")["steps"]],
            "silences": sorted(s["id"] for s in d.vigil("silences", "list", "--json")["silences"]),
            "plugins": sorted((p["name"], p["state"]) for p in d.vigil("plugins", "list", "--json")),
        }

    def test_a_viewer_sees_every_page_but_no_form_and_every_post_is_refused(self):
        d = self.daemon
        incident = d.trigger("viewer-probe")
        waiting = action_id(d, incident, "stop_write_operations")
        eventually(lambda: d.vigil("actions", "show", str(waiting), "--json")["state"] == "awaiting-approval", 20)
        browser = self.signed_in("viewer", "vera")
        self.assertEqual(browser.text("span#whoami").strip(), "vera (viewer)")
        change_forms = ("form:not(:has(button#sign-out))")
        for path in PAGES + ["/console/incidents/%s" % incident, "/console/plugins/console-probe"]:
            with self.subTest(page=path):
                self.assertEqual(browser.open(path), 200, "a viewer opens %s" % path)
                forms = [f.attribute("id") or f.attribute("class") or f.attribute("action")
                         for f in browser.find_all(change_forms)
                         if (f.attribute("method") or "get").lower() == "post"]
                self.assertEqual(forms, [], "a viewer is offered change forms on %s" % path)
                self.assertPageWorks(browser, "%s for a viewer" % path)
        browser.open("/console/incidents/%s" % incident)
        for css in ("button#ack-button", "button.approve", "button.deny", "button.tick", "form#comment", "form#assign"):
            self.assertFalse(browser.exists(css), "a viewer sees %s on the incident page" % css)
        self.assertTrue(browser.find_all("ol#runbook li[data-step]"), "the viewer should still see the runbook")
        self.assertTrue(browser.exists('table#actions tr[data-action-id="%s"]' % waiting))

        before = self.snapshot(incident)
        csrf = browser.csrf()
        self.assertTrue(csrf, "the viewer's page carries no _csrf (the sign-out form should)")
        posts = [
            ("/console/incidents/%s/ack" % incident, {}),
            ("/console/incidents/%s/comment" % incident, {"message": "viewer was here", "public": "on"}),
            ("/console/incidents/%s/assign" % incident, {"role": "incident_commander", "person": "bob"}),
            ("/console/incidents/%s/escalate" % incident, {"reason": "viewer"}),
            ("/console/incidents/%s/transition" % incident, {"state": "investigating", "reason": "viewer"}),
            ("/console/incidents/%s/resolve" % incident, {"summary": "viewer", "verification": "viewer"}),
            ("/console/incidents/%s/reopen" % incident, {"reason": "viewer"}),
            ("/console/incidents/%s/dismiss" % incident, {"reason": "viewer"}),
            ("/console/incidents/%s/classify" % incident, {"severity": "P4", "reason": "viewer"}),
            ("/console/incidents/%s/runbook/3" % incident, {"done": "true"}),
            ("/console/actions/%s/approve" % waiting, {"note": "viewer"}),
            ("/console/actions/%s/deny" % waiting, {"reason": "viewer"}),
            ("/console/actions/%s/undo" % waiting, {}),
            ("/console/oncall/overrides", {"rotation": "primary", "person": "bob", "from": "2026-01-01T00:00:00Z",
                                           "until": "2030-01-01T00:00:00Z"}),
            ("/console/silences", {"matchers": 'case="viewer-probe"', "duration": "2h", "comment": "viewer"}),
        ]
        # The plugin's disable form, as an admin is given it.
        admin = session_cookie(self.base, self.token("admin", "erin"))
        _, _, page = http_request(self.base, "GET", "/console/plugins/console-probe", cookie=admin)
        disable = re.search(r'<form[^>]*class="[^"]*\bdisable\b[^"]*"[^>]*>', page) or \
            re.search(r'<form[^>]*action="[^"]*"[^>]*class="[^"]*\bdisable\b', page)
        if disable and re.search(r'action="([^"]+)"', disable.group(0)):
            posts.append((re.search(r'action="([^"]+)"', disable.group(0)).group(1).replace("&amp;", "&"), {}))
        else:
            self.fail("the admin's plugin page has no form.disable with an action")

        cookie = browser.session_cookie()["value"]
        refused = {}
        for path, fields in posts:
            status, body = browser.fetch("POST", path, dict(fields, _csrf=csrf))
            status_without, _, _ = http_request(self.base, "POST", path, fields, cookie=cookie)
            refused[path] = (status, status_without)
        self.assertEqual({p: s for p, s in refused.items() if s != (403, 403)}, {},
                         "POSTs with a viewer's session should all be 403 (with its _csrf, and without)")
        self.assertEqual(self.snapshot(incident), before, "a viewer's POST changed something")
        self.assertFalse(any("vera" in e["actor"] or "vera" in e["message"] for e in timeline(d, incident)))


@unittest.skipIf(SKIP, SKIP or "")
class BadInputTests(ConsoleCase):
    def test_a_form_without_the_right_csrf_token_is_refused(self):
        d = self.daemon
        incident = d.trigger("csrf-probe")
        browser = self.signed_in()
        browser.open("/console/incidents/%s" % incident)
        cookie = browser.session_cookie()["value"]
        csrf = browser.csrf()
        self.assertTrue(csrf)
        path = "/console/incidents/%s/comment" % incident
        for fields in ({"message": "no token"}, {"message": "wrong token", "_csrf": "x" + csrf[1:]},
                       {"message": "empty token", "_csrf": ""}):
            status, _, _ = http_request(self.base, "POST", path, fields, cookie=cookie)
            self.assertEqual(status, 403, "a POST with %r" % fields)
        # Another session's token does not fit this session.
        other = self.signed_in("responder", "bob")
        other.open("/console/incidents/%s" % incident)
        status, _, _ = http_request(self.base, "POST", path, {"message": "borrowed token", "_csrf": other.csrf()},
                                    cookie=cookie)
        self.assertEqual(status, 403, "a CSRF token of another session was accepted")
        self.assertFalse([e for e in timeline(d, incident) if e["kind"] == "comment" and "token" in e["message"]])
        # The same POST with the right one works (so the refusals above were about the token).
        status, headers, _ = http_request(self.base, "POST", path, {"message": "right token", "_csrf": csrf}, cookie=cookie)
        self.assertEqual(status, 303, "a POST with the session's own token")
        self.assertTrue([e for e in timeline(d, incident) if e["kind"] == "comment" and e["message"] == "right token"])

    def test_a_hostile_comment_is_stored_and_shown_as_text(self):
        d = self.daemon
        incident = d.trigger("hostile-comment")
        browser = self.signed_in()
        browser.open("/console/incidents/%s" % incident)
        browser.fill("form#comment textarea[name=message]", HOSTILE)
        status = browser.submit("form#comment")
        self.assertEqual((status, browser.page), (200, "/console/incidents/%s" % incident))
        stored = [e["message"] for e in timeline(d, incident) if e["kind"] == "comment" and e["actor"] == "alice"]
        self.assertEqual(stored, [HOSTILE], "the comment was not stored as written")

        def shown():
            return [t for t in browser.contents("ol#timeline li") if HOSTILE in t]
        self.assertTrue(shown(), "the comment does not read as written in ol#timeline:\n%s" % browser.text("ol#timeline"))
        self.assertEqual(browser.find_all("ol#timeline script, ol#timeline img, ol#timeline textarea"), [],
                         "the comment's markup became elements")
        self.assertNoScriptRan(browser)
        # Again after a live re-fetch of the timeline.
        browser.wait_stream()
        d.vigil("incidents", "comment", incident, "after the hostile one")
        browser.wait_for(lambda: "after the hostile one" in "".join(browser.texts("ol#timeline")), 15,
                         message="the timeline did not update live")
        self.assertTrue(shown())
        self.assertEqual(browser.find_all("ol#timeline script, ol#timeline img"), [])
        self.assertNoScriptRan(browser)

    def test_missing_and_oversized_values_get_a_clear_message_and_store_nothing(self):
        d = self.daemon
        incident = d.trigger("oversized-probe")
        browser = self.signed_in()
        page = "/console/incidents/%s" % incident

        def comments():
            return [e for e in timeline(d, incident) if e["kind"] in ("comment", "status-update") and e["actor"] == "alice"]
        cases = [
            ("an empty comment", "form#comment", {"form#comment textarea[name=message]": ""}),
            ("a comment of 20,000 characters", "form#comment", {"form#comment textarea[name=message]": "x" * 20000}),
            ("a comment of 100,000 characters", "form#comment", {"form#comment textarea[name=message]": "y" * 100000}),
            ("a 5,000-character person", "form#assign", {"form#assign input[name=person]": "p" * 5000}),
            ("an unknown, hostile person", "form#assign",
             {"form#assign input[name=person]": '"><script>alert("assign")</script>'}),
        ]
        roles_before = d.incident(incident)["roles"]
        for what, form, values in cases:
            browser.open(page)
            for css, value in values.items():
                browser.fill(css, value)
            status = browser.submit(form, validate=False)
            message = self.assertRefusedWithMessage(browser, status, what)
            self.assertLess(len(message), 2000, "%s: the message repeats the whole value" % what)
            self.assertNoScriptRan(browser)
            self.assertEqual(comments(), [], "%s: something was stored" % what)
            self.assertEqual(d.incident(incident)["roles"], roles_before, "%s: a role changed" % what)
        # A silence without matchers, and one with a nonsense duration.
        for what, fields in (("a silence without matchers", {"matchers": "", "duration": "2h", "comment": "c"}),
                             ("a silence lasting 'forever'", {"matchers": 'case="x"', "duration": "forever",
                                                              "comment": "c"}),
                             ("a silence with a 10,000-character comment", {"matchers": 'case="x"', "duration": "2h",
                                                                             "comment": "z" * 10000})):
            before = d.vigil("silences", "list", "--json")["silences"]
            browser.open("/console/silences")
            for name, value in fields.items():
                browser.fill("form#silence input[name=%s]" % name, value)
            status = browser.submit("form#silence", validate=False)
            self.assertRefusedWithMessage(browser, status, what)
            self.assertEqual(d.vigil("silences", "list", "--json")["silences"], before, "%s was stored" % what)

    def test_an_incident_titled_with_markup_renders_as_text(self):
        d = self.daemon
        title = """<script>alert("title")</script><img src=x onerror="alert('title-img')"> & "Checkout" 'down'"""
        browser = self.signed_in()
        browser.wait_stream()
        incident = d.vigil("incidents", "declare", "--title", title, "--severity", "P3", "--json")["id"]
        row_css = 'table#incidents tr[data-incident-id="%s"]' % incident
        for how in ("inserted live", "on a fresh load"):
            browser.wait_for(lambda: browser.count(row_css), 15, message="%s not listed (%s)" % (incident, how))
            self.assertIn(title, browser.contents(row_css)[0], "the title does not read as written (%s)" % how)
            self.assertEqual(browser.count(row_css + " script, " + row_css + " img"), 0,
                             "the title became elements (%s)" % how)
            self.assertNoScriptRan(browser)
            browser.refresh()
        browser.open("/console/incidents/%s" % incident)
        self.assertIn(title, browser.contents("h1")[0], "the incident page's h1 does not read as the title")
        self.assertEqual(browser.find_all("main#content h1 script, main#content h1 img"), [])
        self.assertNoScriptRan(browser)
        public = self.browser()
        public.open("/status")
        self.assertNoScriptRan(public)


SCREENS = [  # (name, path or None for the incident page, "/postmortem" for its post-mortem, signed in)
    ("sign-in", "/console/sign-in", False),
    ("incidents", "/console/incidents", True),
    ("incident", None, True),
    ("postmortem", "/postmortem", True),
    ("oncall", "/console/oncall", True),
    ("plugins", "/console/plugins", True),
    ("plugin", "/console/plugins/console-probe", True),
    ("bus", "/console/bus", True),
    ("agents", "/console/agents", True),
    ("silences", "/console/silences", True),
    ("metrics", "/console/metrics", True),
    ("status", "/status", False),
]
SIZES = [("desktop", 1280, 900), ("phone", 375, 812)]


@unittest.skipIf(SKIP, SKIP or "")
class ScreenshotTests(ConsoleCase):
    """Every page at desktop and phone width, on a daemon of its own with a small, plausible story
    (what Docs/console shows): a detector incident being worked, a declared one, an acknowledged
    one, a silence."""

    def story(self):
        d = self.daemon
        alice = self.token("responder", "alice")

        def as_alice(*args):
            return d.vigil(*args, "--url", self.base, "--token", alice)
        incident = d.trigger("orders-db")
        as_alice("incidents", "ack", incident, "--note", "Looking at the orders database")
        as_alice("incidents", "comment", incident, "Checksums differ on 3 pages of the orders table; restoring them",
                 "--status-update")
        as_alice("runbooks", "step", incident, "3", "--note", "3 pages of orders, since 04:10")
        as_alice("actions", "approve", str(action_id(d, incident, "isolate_affected_storage")), "--note", "go")
        declared = d.vigil("incidents", "declare", "--title", "Checkout returns 502 for some users", "--severity", "P2",
                           "--component", "api", "--summary", "support reports", "--json")["id"]
        d.vigil("incidents", "comment", declared, "Seen from two regions", "--as", "dave")
        d.vigil("incidents", "declare", "--title", "Status emails arrive late", "--severity", "P4", "--json")
        d.vigil("silences", "add", 'case="orders-db"', "--comment", "Quiet while the orders table is restored",
                "--duration", "2h", "--author", "alice", "--json")
        for host in ("db-07", "web-01"):
            agent_call_in(self.base, self.token("agent", host), spool="spool-" + host)
        return incident

    def test_every_page_at_desktop_and_phone_width(self):
        folder = os.environ.get("VIGIL_CONSOLE_SCREENSHOTS")
        if not folder:
            folder = tempfile.mkdtemp(prefix="vigil-console-screenshots-")
            if not os.environ.get("VIGIL_CONSOLE_KEEP"):
                self.addCleanup(shutil.rmtree, folder, True)
        os.makedirs(folder, exist_ok=True)
        incident = self.story()
        # Its post-mortem drafted and written in, and an action item, for the post-mortem page.
        self.daemon.vigil("postmortem", "edit", incident, "--section", "went_well=Paged within seconds.",
                          "--section", "lessons=Fence replicas automatically.", "--note", "first pass", "--as", "alice")
        self.daemon.vigil("action-items", "add", incident, "--title", "Fence replicas automatically", "--owner", "bob",
                          "--due", "in 14 days", "--category", "prevent", "--success-criteria", "no split brain in a drill",
                          "--as", "alice")
        token = self.token("responder", "alice")
        too_wide = {}
        for size, width, height in SIZES:
            signed_out = self.browser(width, height)
            signed_in = self.browser(width, height)
            signed_in.sign_in(token)
            for name, path, needs_session in SCREENS:
                browser = signed_in if needs_session else signed_out
                if path is None or path.startswith("/postmortem"):
                    path = "/console/incidents/%s%s" % (incident, path or "")
                with self.subTest(page=name, size=size):
                    self.assertEqual(browser.open(path), 200, "%s at %s" % (path, size))
                    self.assertEqual(browser.path, path, "%s redirected" % path)
                    self.assertEqual(browser.viewport(), (width, height))
                    browser.execute("return document.fonts ? document.fonts.ready.then(function () { return 1; }) : 1")
                    browser.screenshot(os.path.join(folder, "%s-%s.png" % (name, size)))
                    self.assertPageWorks(browser, "%s at %s" % (path, size))
                    self.assertFormsLabelled(browser, path)
                    self.assertFormsCarryCsrf(browser, path)
                    if size == "phone":
                        scroll = browser.execute("return document.documentElement.scrollWidth")
                        if scroll > width:
                            too_wide[name] = (scroll, self.widest(browser, width))
                    self.assertNoScriptRan(browser)
        written = sorted(f for f in os.listdir(folder) if f.endswith(".png"))
        expected = sorted("%s-%s.png" % (n, s) for n, _, _ in SCREENS for s, _, _ in SIZES)
        self.assertEqual([f for f in expected if f not in written], [])
        self.assertEqual(too_wide, {}, "pages wider than a 375-pixel phone (scrollWidth, widest elements)")

    @staticmethod
    def widest(browser, width):
        """The elements that stick out past `width`, to say what makes a page scroll sideways."""
        return browser.execute("""
            var out = [], w = arguments[0];
            document.querySelectorAll('body *').forEach(function (e) {
              var r = e.getBoundingClientRect();
              if (r.right > w + 1 && out.length < 5) {
                out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                         (e.className && e.className.baseVal === undefined ? '.' + String(e.className).split(' ').join('.') : '') +
                         ' right=' + Math.round(r.right));
              }
            });
            return out;""", width)


if __name__ == "__main__":
    unittest.main()
