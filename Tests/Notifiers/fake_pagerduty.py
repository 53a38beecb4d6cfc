"""A local stand-in for PagerDuty's Events API v2 (`POST /v2/enqueue`), for notifier tests.

It checks what PagerDuty documents it checks and answers as PagerDuty answers:

- 202 {"status":"success","message":"Event processed","dedup_key":KEY} for a valid event (a
  trigger without a dedup_key gets a generated one, as PagerDuty's);
- 400 {"status":"invalid event","message":"Event object is invalid","errors":[...]} for a body
  that is not JSON (or not sent as application/json), a routing_key that is not 32 letters and
  digits, an event_action outside trigger/acknowledge/resolve, a dedup_key over 255 characters or
  missing from an acknowledge/resolve, a trigger without payload.summary/source/severity, a
  summary over 1024 characters, a severity outside critical/error/warning/info, a timestamp that
  is not ISO 8601, links without href, images whose src is not https, or an event over 512 KB.
  The `errors` wording is PagerDuty's where it is known (routing_key), the fake's own otherwise;
- whatever `fail_next(status, k)` asked for, for the next k requests (429 and 500 by default with
  PagerDuty's bodies), before looking at them.

It also keeps PagerDuty's alert state per integration key and dedup_key (`alert(key)`): a trigger
opens an alert (or adds to the open one), acknowledge and resolve move it; acknowledge/resolve of
an alert that is not open — or sent with another routing_key than the trigger's — are accepted
(202) and dropped, as PagerDuty drops them; a trigger after a resolve opens a new alert. (PagerDuty
de-duplicates per service; the fake takes each routing_key for a service of its own.)

    fake = FakePagerDuty()
    url = fake.start()                 # http://127.0.0.1:PORT/v2/enqueue
    fake.fail_next(429, 2)             # the next two requests are answered 429
    fake.hold(); ...; fake.release()   # requests wait unanswered in between
    ...                                # point the notifier at url
    events = fake.wait_for_events(3)   # accepted events, in order (waits on a condition)
    assert fake.alert("INC-1")["status"] == "resolved"
    fake.stop()
"""
import datetime
import http.server
import json
import re
import threading
import uuid

SEVERITIES = ("critical", "error", "warning", "info")
ACTIONS = ("trigger", "acknowledge", "resolve")
MAX_BODY = 512 * 1024
_ROUTING_KEY_CHARS = re.compile(r"[A-Za-z0-9]*\Z")
_ISO8601 = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?\Z")

CANNED = {
    429: {"status": "throttle event", "message": "Requests for this service are arriving too quickly.  Please retry later."},
    500: {"status": "unrecognized object", "message": "Internal server error"},
    502: {"status": "unrecognized object", "message": "Bad gateway"},
    503: {"status": "unrecognized object", "message": "Service unavailable"},
}


def validate(event):
    """PagerDuty's checks of one event: the list of errors (empty when it is valid)."""
    if not isinstance(event, dict):
        return ["Event object must be a JSON object"]
    errors = []
    key = event.get("routing_key")
    if not isinstance(key, str) or not key:
        errors.append("'routing_key' is missing or blank")
    else:
        if len(key) != 32:
            errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        if not _ROUTING_KEY_CHARS.match(key):
            errors.append("'routing_key' cannot contain non-alphanumeric characters.")
    action = event.get("event_action")
    if not isinstance(action, str) or not action:
        errors.append("'event_action' is missing or blank")
    elif action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of trigger, acknowledge, resolve)")
    dedup = event.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not (isinstance(dedup, str) and dedup):
        errors.append("'dedup_key' is missing or blank (required for %s)" % action)
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or not an object")
        else:
            for field in ("summary", "source", "severity"):
                value = payload.get(field)
                if not isinstance(value, str) or not value.strip():
                    errors.append("'payload.%s' is missing or blank" % field)
            summary = payload.get("summary")
            if isinstance(summary, str) and len(summary) > 1024:
                errors.append("'payload.summary' is too long (maximum is 1024 characters)")
            severity = payload.get("severity")
            if isinstance(severity, str) and severity and severity not in SEVERITIES:
                errors.append("'payload.severity' is invalid (must be one of critical, error, warning, info)")
            timestamp = payload.get("timestamp")
            if timestamp is not None and not (isinstance(timestamp, str) and _ISO8601.match(timestamp)):
                errors.append("'payload.timestamp' is not an ISO 8601 timestamp")
            for field in ("component", "group", "class"):
                if field in payload and not isinstance(payload[field], str):
                    errors.append("'payload.%s' must be a string" % field)
    links = event.get("links", [])
    if not isinstance(links, list) or not all(isinstance(l, dict) and isinstance(l.get("href"), str) and l["href"] for l in links):
        errors.append("'links' must be a list of objects with an href")
    images = event.get("images", [])
    if not isinstance(images, list) or not all(isinstance(i, dict) and isinstance(i.get("src"), str)
                                               and i["src"].startswith("https://") for i in images):
        errors.append("'images' must be a list of objects whose src is an https URL")
    for field in ("client", "client_url"):
        if field in event and not isinstance(event[field], str):
            errors.append("'%s' must be a string" % field)
    return errors


class FakePagerDuty:
    def __init__(self):
        self._cond = threading.Condition()
        self._events = []        # accepted events, as sent
        self._requests = []      # every request: {"status", "body", "headers", "errors"}
        self._failures = []      # (status, body, headers) for the next requests
        self._alerts = {}        # (routing_key, dedup_key) → {"status", "routing_key", "events": [...], "opened": n}
        self._dropped = []       # accepted but dropped (see the module's docstring)
        self._arrived = 0        # requests read, answered or not
        self._gate = threading.Event()
        self._gate.set()
        self._server = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, port=0, host="127.0.0.1"):
        """Listens on `host`:`port` (0: a free port); returns the enqueue URL."""
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"   # keep-alive, as the notifier's pooled connections expect

            def do_POST(self):
                fake._handle(self)

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        # A short poll: stop() waits for the loop to notice, and tests start and stop many fakes.
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        self.host, self.port = self._server.server_address[:2]
        self.url = "http://%s:%d/v2/enqueue" % (self.host, self.port)
        return self.url

    def stop(self):
        self._gate.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- what tests read and steer -------------------------------------------------------------

    @property
    def events(self):
        """Accepted events (202), in the order they arrived."""
        with self._cond:
            return list(self._events)

    @property
    def requests(self):
        """Every request, answered or not: dicts with status, body (bytes), headers, errors."""
        with self._cond:
            return list(self._requests)

    @property
    def dropped(self):
        """Events answered 202 that PagerDuty would drop (ack/resolve of no open alert, another routing_key)."""
        with self._cond:
            return list(self._dropped)

    def alert(self, dedup_key, routing_key=None):
        """PagerDuty's alert for the key: {"status": triggered|acknowledged|resolved, "routing_key",
        "events", "opened" (how many alerts this key has opened)}, or None. `routing_key` is needed
        only when several integration keys have used this dedup_key."""
        with self._cond:
            found = [a for (key, dedup), a in self._alerts.items()
                     if dedup == dedup_key and routing_key in (None, key)]
            if len(found) > 1:
                raise ValueError("%d alerts have dedup_key %r: name the routing_key" % (len(found), dedup_key))
            return dict(found[0], events=list(found[0]["events"])) if found else None

    def hold(self):
        """Requests wait, unanswered, until `release()` (a PagerDuty that is slow to answer)."""
        self._gate.clear()

    def release(self):
        self._gate.set()

    def wait_for_arrivals(self, count, timeout=10):
        """Waits until `count` requests have been read (answered or held)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._arrived >= count, timeout):
                raise TimeoutError("%d request(s) arrived after %ss, expected %d" % (self._arrived, timeout, count))

    def fail_next(self, status, k=1, body=None, headers=None):
        """The next `k` requests are answered `status` (with PagerDuty's body for it unless given)."""
        canned = body if body is not None else CANNED.get(status, {"status": "error", "message": "HTTP %d" % status})
        with self._cond:
            self._failures.extend([(status, canned, dict(headers or {}))] * k)

    def wait_for_requests(self, count, timeout=10):
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._requests) >= count, timeout):
                raise TimeoutError("%d request(s) after %ss, expected %d" % (len(self._requests), timeout, count))
            return list(self._requests)

    def wait_for_events(self, count, timeout=10):
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._events) >= count, timeout):
                raise TimeoutError("%d accepted event(s) after %ss, expected %d" % (len(self._events), timeout, count))
            return list(self._events)

    # -- the server ----------------------------------------------------------------------------

    def _reply(self, handler, status, body, headers=None):
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _handle(self, handler):
        try:
            length = int(handler.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if handler.path != "/v2/enqueue":
            handler.rfile.read(max(0, min(length, MAX_BODY + 1)))
            self._record(handler, 404, b"", ["no such endpoint %s" % handler.path])
            return self._reply(handler, 404, {"status": "not found", "message": "Not Found"})
        if length < 0 or length > MAX_BODY:
            handler.close_connection = True
            self._record(handler, 400, b"", ["Event is larger than 512 KB"])
            return self._reply(handler, 400, self._invalid(["Event is larger than 512 KB"]))
        body = handler.rfile.read(length)
        with self._cond:
            self._arrived += 1
            self._cond.notify_all()
        self._gate.wait(30)
        with self._cond:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            self._record(handler, failure[0], body, [])
            return self._reply(handler, failure[0], failure[1], failure[2])
        content_type = (handler.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            event = json.loads(body.decode("utf-8")) if content_type == "application/json" else None
            errors = validate(event) if content_type == "application/json" else ["Content-Type must be application/json"]
        except (ValueError, UnicodeDecodeError):
            event, errors = None, ["Event object is not valid JSON"]
        if errors:
            self._record(handler, 400, body, errors)
            return self._reply(handler, 400, self._invalid(errors))
        if event["event_action"] == "trigger" and not event.get("dedup_key"):
            event["dedup_key"] = uuid.uuid4().hex
        self._record(handler, 202, body, [])
        self._apply(event)
        self._reply(handler, 202, {"status": "success", "message": "Event processed", "dedup_key": event["dedup_key"]})

    @staticmethod
    def _invalid(errors):
        return {"status": "invalid event", "message": "Event object is invalid", "errors": errors}

    def _record(self, handler, status, body, errors):
        with self._cond:
            self._requests.append({"status": status, "body": body, "headers": dict(handler.headers.items()),
                                   "errors": errors, "at": datetime.datetime.now(datetime.timezone.utc).isoformat()})
            self._cond.notify_all()

    def _apply(self, event):
        """PagerDuty's de-duplication rules (developer docs, "Alert De-Duplication")."""
        key, action = (event["routing_key"], event["dedup_key"]), event["event_action"]
        with self._cond:
            alert = self._alerts.get(key)
            open_alert = alert is not None and alert["status"] != "resolved"
            if action == "trigger":
                if not open_alert:
                    opened = (alert or {}).get("opened", 0) + 1
                    alert = self._alerts[key] = {"status": "triggered", "routing_key": event["routing_key"],
                                                 "events": [], "opened": opened}
                alert["events"].append(event)
                self._events.append(event)
            elif not open_alert:
                self._dropped.append(event)
                self._events.append(event)
            else:
                alert["status"] = "acknowledged" if action == "acknowledge" else "resolved"
                alert["events"].append(event)
                self._events.append(event)
            self._cond.notify_all()
