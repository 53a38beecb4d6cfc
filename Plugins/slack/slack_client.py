"""Talking to Slack for Vigil's Slack notifier: the Web API (`chat.postMessage`, `chat.update`
with a bot token) and incoming webhooks, over connections vigild opens (brokered egress, see
Plugins/sdk/python/vigil_plugin.py), paced and rate-limited the way Slack asks.

- Slack allows about one message a second per channel: posts to one channel are spaced
  `pace_seconds` apart (they wait; they do not fail).
- A `429` names in `Retry-After` how long to wait; every call to that method (or webhook) waits
  it out, then the call is retried — unless the wait would pass the request's deadline, in which
  case the notification fails now (vigild retries later) instead of overrunning the deadline,
  which would get the plugin killed.
- Web API failures arrive as HTTP 200 `{"ok": false, "error": CODE}`: codes no retry can fix
  (bad token, unknown channel, not a member, invalid blocks) fail at once as permanent; others
  are retried with backoff within the deadline.
"""
import http.client
import json
import threading
import time
import urllib.parse

import vigil_plugin

MAX_ANSWER = 1 << 20
MAX_RETRY_AFTER = 3600.0

# Web API error codes that no retry can fix: the token, the channel or the message is wrong.
PERMANENT_ERRORS = frozenset({
    "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission",
    "missing_scope", "not_allowed_token_type", "team_access_not_granted", "two_factor_setup_required",
    "access_denied", "ekm_access_denied", "enterprise_is_restricted", "method_deprecated", "deprecated_endpoint",
    "channel_not_found", "not_in_channel", "is_archived", "is_inactive", "user_not_found",
    "restricted_action", "restricted_action_read_only_channel", "restricted_action_thread_only_channel",
    "restricted_action_non_threadable_channel", "cant_update_message", "edit_window_closed",
    "message_not_found", "thread_not_found", "invalid_blocks", "invalid_blocks_format", "msg_too_long",
    "msg_blocks_too_long", "no_text", "too_many_attachments", "invalid_arguments", "invalid_arg_name",
    "invalid_array_arg", "invalid_charset", "invalid_form_data", "invalid_post_type", "missing_post_type",
    "invalid_json", "json_not_object", "as_user_not_supported",
})


class SlackFailure(Exception):
    """A call that did not succeed. `permanent`: retrying the same request cannot help (vigild is
    told so in the evidence); `code`: Slack's error code or the HTTP status."""

    def __init__(self, detail, code=None, permanent=False, retry_after=None):
        super().__init__(detail)
        self.code = code
        self.permanent = permanent
        self.retry_after = retry_after


class Deadline:
    """When the answer to vigild is due (a margin before `deadline_ms`, so the answer is there in
    time: a request unanswered at its deadline gets the plugin killed)."""

    MARGIN = 0.5

    def __init__(self, deadline_ms, now=None):
        try:
            ms = float(deadline_ms)
        except (TypeError, ValueError):
            ms = 30000.0
        if not (ms == ms) or ms <= 0:  # NaN or nonsense: the protocol's default
            ms = 30000.0
        self.at = (now if now is not None else time.monotonic()) + min(ms, 3_600_000.0) / 1000.0 - self.MARGIN

    def left(self):
        return self.at - time.monotonic()


class RateGate:
    """Per-channel pacing and per-endpoint `Retry-After` blocks, shared by all worker threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._next = {}       # pace key -> monotonic time of its next free slot
        self._blocked = {}    # endpoint -> monotonic time until which Slack asked us to wait

    def reserve(self, key, interval, deadline):
        """Waits for `key`'s next slot (at most one message per `interval` seconds)."""
        with self._lock:
            now = time.monotonic()
            if len(self._next) > 4096:
                self._next = {k: t for k, t in self._next.items() if t > now}
            slot = max(now, self._next.get(key, 0.0))
            if slot > deadline.at:
                raise SlackFailure("pacing %s to one message per %.1f s would pass this request's deadline "
                                   "(next slot in %.1f s, %.1f s left); vigild will retry"
                                   % (key, interval, slot - now, max(0.0, deadline.left())), code="paced")
            self._next[key] = slot + interval
        if slot > now:
            time.sleep(slot - now)

    def alias(self, name, channel_id):
        """`name` (`#incidents`) turned out to be `channel_id`: its reserved slots carry over, so
        posts by name and by id share one pace."""
        with self._lock:
            if name in self._next:
                self._next[channel_id] = max(self._next.get(channel_id, 0.0), self._next[name])

    def block(self, endpoint, seconds):
        with self._lock:
            until = time.monotonic() + seconds
            self._blocked[endpoint] = max(until, self._blocked.get(endpoint, 0.0))

    def wait_unblocked(self, endpoint, deadline):
        with self._lock:
            until = self._blocked.get(endpoint, 0.0)
        wait = until - time.monotonic()
        if wait <= 0:
            return
        if until > deadline.at:
            raise SlackFailure("Slack rate-limited %s (Retry-After) for %.1f s more, past this request's deadline "
                               "(%.1f s left); vigild will retry" % (endpoint, wait, max(0.0, deadline.left())),
                               code="rate_limited", retry_after=round(wait, 3))
        time.sleep(wait)


class Transport:
    """POSTs over one kept connection per worker thread and destination; each new connection is
    opened by vigild (brokered egress) — or by the plugin itself when run without a broker."""

    def __init__(self):
        self._local = threading.local()

    def _drop(self):
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()

    def post(self, url, body, headers, timeout):
        """(status, lower-cased headers, body bytes ≤ 1 MiB)."""
        parts = urllib.parse.urlsplit(url)
        key = (parts.scheme, parts.hostname, parts.port)
        for _ in range(2):
            reused = getattr(self._local, "connection", None) is not None and self._local.key == key
            if not reused:
                self._drop()
                self._local.connection, path = vigil_plugin.http_connection(url, timeout)
                self._local.key = key
            else:
                path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
            connection = self._local.connection
            connection.timeout = timeout
            if connection.sock is not None:
                connection.sock.settimeout(timeout)
            try:
                connection.request("POST", path, body=body, headers=headers)
                answer = connection.getresponse()
                data = answer.read(MAX_ANSWER + 1)
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected,
                    http.client.CannotSendRequest):
                self._drop()
                if reused:
                    continue  # Slack closed the idle connection: once more, on a new one
                raise
            except BaseException:
                self._drop()
                raise
            if answer.will_close or len(data) > MAX_ANSWER or not answer.isclosed():
                self._drop()
            return answer.status, {k.lower(): v for k, v in answer.getheaders()}, data[:MAX_ANSWER]
        raise http.client.HTTPException("connection closed twice")


def _retry_after(headers):
    try:
        seconds = float(headers.get("retry-after", "1"))
    except ValueError:
        seconds = 1.0
    if not (seconds == seconds) or seconds < 0:
        seconds = 1.0
    return min(seconds, MAX_RETRY_AFTER)


class SlackClient:
    def __init__(self, settings, transport=None, gate=None):
        self.settings = settings
        self.transport = transport or Transport()
        self.gate = gate or RateGate()

    # -- the two kinds of call ---------------------------------------------------------------

    def api(self, method, payload, deadline, pace_key=None):
        """Calls a Web API method with a JSON body; the answer's JSON when `ok`."""
        url = self.settings.api_url.rstrip("/") + "/" + method
        body = json.dumps(payload, separators=(",", ":")).encode("ascii")

        def read(status, data):
            if status >= 500:
                raise SlackFailure("%s: HTTP %d from Slack" % (method, status), code="http_%d" % status)
            if status != 200:
                raise SlackFailure("%s: HTTP %d from Slack" % (method, status), code="http_%d" % status,
                                   permanent=400 <= status < 500)
            try:
                answer = json.loads(data.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise SlackFailure("%s: Slack's answer is not JSON (%d bytes)" % (method, len(data)), code="bad_answer")
            if not isinstance(answer, dict):
                raise SlackFailure("%s: Slack's answer is not a JSON object" % method, code="bad_answer")
            if answer.get("ok") is True:
                return answer
            code = str(answer.get("error") or "unknown_error")[:100]
            detail = "%s: Slack answered %s" % (method, code)
            meta = answer.get("response_metadata")
            messages = meta.get("messages") if isinstance(meta, dict) else None
            if isinstance(messages, list) and messages:
                detail += " (%s)" % "; ".join(str(m)[:200] for m in messages[:3])
            raise SlackFailure(detail, code=code, permanent=code in PERMANENT_ERRORS)

        headers = {"Authorization": "Bearer " + self.settings.token(),
                   "Content-Type": "application/json; charset=utf-8", "User-Agent": "vigil-slack/1.0"}
        return self._call(method, url, body, headers, deadline, read, pace_key)

    def webhook(self, payload, deadline):
        """POSTs a message to the incoming webhook; Slack answers `ok` (HTTP 200) or an error."""
        url = self.settings.webhook_url
        body = json.dumps(payload, separators=(",", ":")).encode("ascii")

        def read(status, data):
            text = data.decode("utf-8", "replace").strip()[:200]
            if status == 200:
                return text
            code = text or "http_%d" % status
            # Slack's webhook errors are 4xx (invalid_payload, no_text, no_service, channel_is_archived,
            # action_prohibited, …): the URL or the message is wrong. 5xx and anything odd may pass.
            raise SlackFailure("incoming webhook: HTTP %d %s" % (status, code), code=code,
                               permanent=400 <= status < 500)

        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "vigil-slack/1.0"}
        return self._call("incoming webhook", url, body, headers, deadline, read, pace_key="webhook")

    # -- retries ---------------------------------------------------------------------------------

    def _call(self, endpoint, url, body, headers, deadline, read, pace_key):
        s = self.settings
        if pace_key is not None and s.pace_seconds > 0:
            self.gate.reserve(pace_key, s.pace_seconds, deadline)
        failures = 0
        while True:
            self.gate.wait_unblocked(endpoint, deadline)
            left = deadline.left()
            if left < 0.1:
                raise SlackFailure("%s: no time left before this request's deadline" % endpoint, code="deadline")
            try:
                status, answer_headers, data = self.transport.post(url, body, headers, min(s.timeout_seconds, left))
            except vigil_plugin.EgressRefused as error:
                # vigild refused the destination (not declared under egress): no retry can change that.
                raise SlackFailure("%s: %s" % (endpoint, error), code="egress_refused", permanent=True)
            except (OSError, http.client.HTTPException) as error:
                failure = SlackFailure("%s: %s" % (endpoint, str(error) or type(error).__name__), code="network")
            else:
                if status == 429:
                    wait = _retry_after(answer_headers)
                    self.gate.block(endpoint, wait)
                    if time.monotonic() + wait > deadline.at:
                        raise SlackFailure("%s: Slack rate-limited us (HTTP 429, Retry-After %g s), more than the "
                                           "%.1f s left before this request's deadline; vigild will retry"
                                           % (endpoint, wait, max(0.0, deadline.left())),
                                           code="rate_limited", retry_after=wait)
                    continue  # wait_unblocked sleeps it out
                try:
                    return read(status, data)
                except SlackFailure as error:
                    if error.permanent:
                        raise
                    failure = error
            failures += 1
            pause = s.backoff_seconds * (2 ** (failures - 1))
            if failures > s.retries or time.monotonic() + pause >= deadline.at:
                failure.args = ("%s (after %d attempt(s))" % (failure.args[0], failures),)
                raise failure
            time.sleep(pause)
