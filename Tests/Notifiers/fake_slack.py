"""A local fake of Slack for tests: the Web API methods a notifier uses (`chat.postMessage`,
`chat.update`, `auth.test`), incoming webhooks, and the `response_url` of interactive messages,
built from Slack's documented request and response shapes and checking what Slack checks:

- the bearer token (`not_authed` without one, `invalid_auth` for another), the JSON content type
  (`missing_post_type`, `invalid_post_type`, `invalid_charset`; a missing charset is answered with
  Slack's `missing_charset` warning), a JSON object body (`invalid_json`);
- `channel` (a name, an id, or a user id for a direct message; `channel_not_found`,
  `not_in_channel`, `is_archived`), `text` or `blocks` (`no_text`), `text` length (`msg_too_long`);
- Block Kit: known block types, at most 50 blocks, text objects and their limits (header 150,
  section 3000, fields ten of 2000, context ten elements), buttons (text 75, `action_id` 255 and
  unique in its block, `value` 2000, `url` 3000, `style`, the `confirm` dialog's limits), unique
  `block_id`s, no unknown members (`invalid_blocks`, with Slack's `[ERROR] … [json-pointer:…]`);
- `thread_ts` must name a root message of that channel (`thread_not_found`: stricter than Slack,
  which may accept an unknown one, so that a notifier's threading mistakes show), and `chat.update`
  a message of that channel by id (`message_not_found`; a user id is `channel_not_found`).

It records every call (`requests`: time, method, status, error) and every accepted message
(`messages`, each with its current text and blocks after updates, and `history`), and can be told
to answer `429` with `Retry-After` for the next calls. Times are `time.monotonic()`.

    slack = FakeSlack()
    base = slack.start()                   # http://127.0.0.1:PORT
    slack.api_url                          # base + "/api", for the notifier's api_url
    slack.webhook_url                      # an incoming webhook posting to #incidents
    slack.set_rate_limit(retry_after=1, calls=1, methods=["chat.postMessage"])
    slack.wait_for(lambda: len(slack.messages) >= 2)
    status, body = slack.press(vigild_callback_url, signing_secret, slack.messages[0], "vigil_acknowledge", "U0ALICE")
    slack.stop()

`press` sends what Slack sends when someone presses a button: a `block_actions` payload,
form-encoded as `payload=…`, signed with `X-Slack-Signature` (v0 HMAC-SHA256 over
`v0:timestamp:body`) and `X-Slack-Request-Timestamp`.
"""
import hashlib
import hmac
import http.server
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_TOKEN = "xoxb-0000000000-fake-vigil-token"
MAX_BODY = 1 << 20
BLOCK_TYPES = {"section", "header", "divider", "context", "actions", "image", "rich_text", "markdown", "input",
               "file", "video"}


# -- Block Kit checks ---------------------------------------------------------------------------

class _Checker:
    def __init__(self):
        self.errors = []

    def error(self, pointer, message):
        if len(self.errors) < 20:
            self.errors.append("[ERROR] %s [json-pointer:%s]" % (message, pointer))

    def keys(self, value, pointer, allowed):
        for key in value:
            if key not in allowed:
                self.error(pointer + "/" + key, "unsupported field")

    def text(self, value, pointer, limit, plain_only=False):
        if not isinstance(value, dict):
            return self.error(pointer, "must be a text object")
        kind = value.get("type")
        if kind not in ("plain_text", "mrkdwn") or (plain_only and kind != "plain_text"):
            return self.error(pointer + "/type", "must be %s" % ("plain_text" if plain_only else "plain_text or mrkdwn"))
        self.keys(value, pointer, {"type", "text", "emoji"} if kind == "plain_text" else {"type", "text", "verbatim"})
        text = value.get("text")
        if not isinstance(text, str) or not text:
            return self.error(pointer + "/text", "must be a string of at least 1 character")
        if len(text) > limit:
            self.error(pointer + "/text", "must be less than %d characters" % (limit + 1))

    def short(self, value, pointer, limit, required=False):
        if value is None:
            if required:
                self.error(pointer, "is required")
            return
        if not isinstance(value, str) or not value:
            return self.error(pointer, "must be a non-empty string")
        if len(value) > limit:
            self.error(pointer, "must be less than %d characters" % (limit + 1))

    def button(self, b, pointer):
        self.keys(b, pointer, {"type", "text", "action_id", "url", "value", "style", "confirm", "accessibility_label"})
        self.text(b.get("text"), pointer + "/text", 75, plain_only=True)
        self.short(b.get("action_id"), pointer + "/action_id", 255)
        self.short(b.get("value"), pointer + "/value", 2000)
        self.short(b.get("url"), pointer + "/url", 3000)
        if "style" in b and b["style"] not in ("primary", "danger"):
            self.error(pointer + "/style", "must be primary or danger")
        confirm = b.get("confirm")
        if confirm is not None:
            p = pointer + "/confirm"
            if not isinstance(confirm, dict):
                return self.error(p, "must be a confirmation dialog object")
            self.keys(confirm, p, {"title", "text", "confirm", "deny", "style"})
            self.text(confirm.get("title"), p + "/title", 100, plain_only=True)
            self.text(confirm.get("text"), p + "/text", 300)
            self.text(confirm.get("confirm"), p + "/confirm", 30, plain_only=True)
            self.text(confirm.get("deny"), p + "/deny", 30, plain_only=True)
            if "style" in confirm and confirm["style"] not in ("primary", "danger"):
                self.error(p + "/style", "must be primary or danger")

    def element(self, e, pointer, action_ids):
        if not isinstance(e, dict) or not isinstance(e.get("type"), str):
            return self.error(pointer, "must be an element object")
        if e["type"] == "button":
            self.button(e, pointer)
        action_id = e.get("action_id")
        if isinstance(action_id, str):
            if action_id in action_ids:
                self.error(pointer + "/action_id", "must be unique within the block")
            action_ids.add(action_id)

    def block(self, b, pointer, block_ids):
        if not isinstance(b, dict):
            return self.error(pointer, "must be a block object")
        kind = b.get("type")
        if kind not in BLOCK_TYPES:
            return self.error(pointer + "/type", "unknown block type %r" % (kind,))
        block_id = b.get("block_id")
        if block_id is not None:
            self.short(block_id, pointer + "/block_id", 255)
            if block_id in block_ids:
                self.error(pointer + "/block_id", "must be unique within the message")
            block_ids.add(block_id)
        if kind == "header":
            self.keys(b, pointer, {"type", "text", "block_id"})
            self.text(b.get("text"), pointer + "/text", 150, plain_only=True)
        elif kind == "section":
            self.keys(b, pointer, {"type", "text", "fields", "accessory", "block_id", "expand"})
            if "text" not in b and "fields" not in b:
                self.error(pointer, "must have text or fields")
            if "text" in b:
                self.text(b["text"], pointer + "/text", 3000)
            if "fields" in b:
                fields = b["fields"]
                if not isinstance(fields, list) or not 1 <= len(fields) <= 10:
                    self.error(pointer + "/fields", "must be an array of 1 to 10 text objects")
                else:
                    for i, f in enumerate(fields):
                        self.text(f, "%s/fields/%d" % (pointer, i), 2000)
            if "accessory" in b:
                self.element(b["accessory"], pointer + "/accessory", set())
        elif kind == "divider":
            self.keys(b, pointer, {"type", "block_id"})
        elif kind == "context":
            self.keys(b, pointer, {"type", "elements", "block_id"})
            elements = b.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
                return self.error(pointer + "/elements", "must be an array of 1 to 10 elements")
            for i, e in enumerate(elements):
                p = "%s/elements/%d" % (pointer, i)
                if isinstance(e, dict) and e.get("type") == "image":
                    self.keys(e, p, {"type", "image_url", "alt_text"})
                    self.short(e.get("image_url"), p + "/image_url", 3000, required=True)
                    self.short(e.get("alt_text"), p + "/alt_text", 2000, required=True)
                else:
                    self.text(e, p, 3000)
        elif kind == "actions":
            self.keys(b, pointer, {"type", "elements", "block_id"})
            elements = b.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
                return self.error(pointer + "/elements", "must be an array of 1 to 25 elements")
            action_ids = set()
            for i, e in enumerate(elements):
                self.element(e, "%s/elements/%d" % (pointer, i), action_ids)
        elif kind == "image":
            self.keys(b, pointer, {"type", "image_url", "alt_text", "title", "block_id", "slack_file"})
            self.short(b.get("alt_text"), pointer + "/alt_text", 2000, required=True)


def check_blocks(blocks):
    """Slack's `[ERROR] …` lines for what is wrong with `blocks` (empty when valid)."""
    checker = _Checker()
    if not isinstance(blocks, list):
        checker.error("/blocks", "must be an array")
        return checker.errors
    if len(blocks) > 50:
        checker.error("/blocks", "must contain no more than 50 items")
    block_ids = set()
    for i, b in enumerate(blocks[:60]):
        checker.block(b, "/blocks/%d" % i, block_ids)
    return checker.errors


# -- the fake ------------------------------------------------------------------------------------

class SlackError(Exception):
    def __init__(self, code, status=200, messages=None):
        super().__init__(code)
        self.code, self.status, self.messages = code, status, messages or []


class FakeSlack:
    """Slack's Web API and incoming webhooks on 127.0.0.1. Channels: `#incidents` (C0INCIDENTS)
    with the bot a member; add more with `add_channel`. Any user id `U…`/`W…` gets a direct
    message channel `D…`."""

    def __init__(self, token=DEFAULT_TOKEN):
        self.tokens = {token}
        self.token = token
        self._cond = threading.Condition(threading.RLock())
        self.channels = {}        # id -> {"id", "name", "member", "archived"}
        self.webhooks = {}        # path -> channel id
        self.messages = []        # accepted messages, in order (current text/blocks after updates)
        self.updates = []         # accepted chat.update calls: {"time", "channel", "ts", "request"}
        self.requests = []        # every call: {"time", "method", "status", "error", "warnings"}
        self.responses = []       # what was posted to response_url
        self._limits = []         # [methods or None, retry_after, calls left]
        self._counter = 0
        self._base_ts = int(time.time())
        self.server = None
        self.add_channel("incidents", "C0INCIDENTS")
        self.webhook_url = None

    # -- set-up ------------------------------------------------------------------------------

    def start(self, port=0):
        """Starts serving; returns the base URL (`http://127.0.0.1:PORT`)."""
        fake = self

        class Handler(_Handler):
            slack = fake

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base_url = "http://127.0.0.1:%d" % self.port
        self.api_url = self.base_url + "/api"
        self.webhook_url = self.add_webhook("#incidents")
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self.base_url

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def add_channel(self, name, channel_id=None, member=True, archived=False):
        """A channel of the workspace; returns its id."""
        with self._cond:
            channel_id = channel_id or "C%08d" % (len(self.channels) + 1)
            self.channels[channel_id] = {"id": channel_id, "name": name.lstrip("#"), "member": member, "archived": archived}
            return channel_id

    def add_webhook(self, channel):
        """An incoming webhook posting to `channel` (a name or id); returns its URL."""
        with self._cond:
            channel_id = self._resolve(channel)
            path = "/services/T0VIGIL00/B%08d/%s" % (len(self.webhooks) + 1, "x" * 24)
            self.webhooks[path] = channel_id
        return (self.base_url if self.server else "") + path

    def set_rate_limit(self, retry_after=1, calls=1, methods=None):
        """The next `calls` calls (to `methods`, e.g. ["chat.postMessage", "webhook"]; None: any)
        are answered 429 with `Retry-After: retry_after`."""
        with self._cond:
            self._limits.append([set(methods) if methods else None, int(retry_after), int(calls)])

    # -- reading what happened ---------------------------------------------------------------

    def wait_for(self, predicate, timeout=10.0):
        """Waits until `predicate()` is true (checked after every call); raises on timeout."""
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise AssertionError("condition not met within %.1f s; requests: %s" % (timeout, self.requests[-5:]))

    def message(self, channel, ts):
        with self._cond:
            for m in self.messages:
                if m["channel"] == channel and m["ts"] == ts:
                    return m
        return None

    def calls(self, method):
        with self._cond:
            return [r for r in self.requests if r["method"] == method]

    # -- interactivity -----------------------------------------------------------------------

    def block_actions(self, message, action_id, user_id, team_id="T0VIGIL00"):
        """The `block_actions` payload Slack sends when `user_id` presses `action_id` on `message`."""
        for block in message.get("blocks") or []:
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element.get("action_id") == action_id:
                    action = {"type": element["type"], "action_id": action_id, "block_id": block.get("block_id", "b0"),
                              "text": element.get("text"), "action_ts": "%.6f" % time.time()}
                    if "value" in element:
                        action["value"] = element["value"]
                    break
            else:
                continue
            break
        else:
            raise ValueError("message %s has no button %s" % (message.get("ts"), action_id))
        with self._cond:
            self._counter += 1
            response_url = "%s/actions/T0VIGIL00/%d/%s" % (self.base_url, self._counter, "r" * 24)
        return {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
            "api_app_id": "A0VIGIL00", "token": "legacy-verification-token",
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": message["channel"],
                          "is_ephemeral": False},
            "trigger_id": "%d.%d.%s" % (self._counter, int(time.time()), "t" * 32),
            "team": {"id": team_id, "domain": "vigil-test"},
            "enterprise": None, "is_enterprise_install": False,
            "channel": {"id": message["channel"], "name": self._name(message["channel"])},
            "message": {"type": "message", "subtype": "bot_message", "text": message["text"], "ts": message["ts"],
                        "bot_id": "B0VIGIL00", "blocks": message.get("blocks") or []},
            "state": {"values": {}}, "response_url": response_url, "actions": [action],
        }

    @staticmethod
    def sign(signing_secret, timestamp, body):
        """`X-Slack-Signature` for `body` (bytes) sent at `timestamp` (epoch seconds)."""
        base = b"v0:" + str(int(timestamp)).encode() + b":" + body
        return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()

    def press(self, url, signing_secret, message, action_id, user_id, timestamp=None, payload=None):
        """POSTs a signed button press to `url` as Slack does; returns (status, body text)."""
        payload = payload or self.block_actions(message, action_id, user_id)
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        timestamp = int(time.time()) if timestamp is None else int(timestamp)
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": self.sign(signing_secret, timestamp, body)})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read(1 << 20).decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read(1 << 20).decode("utf-8", "replace")

    # -- the API (called by the handler, under the lock) ---------------------------------------

    def _name(self, channel_id):
        c = self.channels.get(channel_id)
        return c["name"] if c else "directmessage"

    def _resolve(self, channel, ids_only=False):
        if not isinstance(channel, str) or not channel:
            raise SlackError("channel_not_found")
        if channel in self.channels:
            return channel
        if re.match(r"^[UW][A-Z0-9]{2,}$", channel) and not ids_only:
            dm = "D" + channel[1:]
            self.channels.setdefault(dm, {"id": dm, "name": channel, "member": True, "archived": False, "user": channel})
            return dm
        if not ids_only:
            for c in self.channels.values():
                if c["name"] == channel.lstrip("#") and not c.get("user"):
                    return c["id"]
        raise SlackError("channel_not_found")

    def _limited(self, method):
        for limit in self._limits:
            if limit[2] > 0 and (limit[0] is None or method in limit[0]):
                limit[2] -= 1
                return limit[1]
        return None

    def _next_ts(self):
        self._counter += 1
        return "%d.%06d" % (self._base_ts, self._counter)

    def _content(self, body, pointer_root=""):
        text, blocks = body.get("text"), body.get("blocks")
        if isinstance(blocks, str):  # Slack accepts blocks as a JSON-encoded string too
            try:
                blocks = json.loads(blocks)
            except ValueError:
                raise SlackError("invalid_blocks_format")
        if (not isinstance(text, str) or not text) and not blocks:
            raise SlackError("no_text")
        if text is not None and not isinstance(text, str):
            raise SlackError("invalid_arguments", messages=["[ERROR] text must be a string [json-pointer:/text]"])
        if isinstance(text, str) and len(text) > 40000:
            raise SlackError("msg_too_long")
        if blocks is not None:
            errors = check_blocks(blocks)
            if errors:
                raise SlackError("invalid_blocks", messages=errors)
        return text or "", blocks

    def post_message(self, body, via="api", channel_id=None):
        channel_id = channel_id or self._resolve(body.get("channel"))
        channel = self.channels[channel_id]
        if channel["archived"]:
            raise SlackError("is_archived")
        if not channel["member"]:
            raise SlackError("not_in_channel")
        text, blocks = self._content(body)
        thread_ts = body.get("thread_ts")
        if thread_ts is not None:
            root = self.message(channel_id, str(thread_ts))
            if root is None or root["thread_ts"] is not None:
                raise SlackError("thread_not_found")
        record = {"via": via, "channel": channel_id, "ts": self._next_ts(), "thread_ts": thread_ts, "text": text,
                  "blocks": blocks, "reply_broadcast": bool(body.get("reply_broadcast")), "request": body,
                  "time": time.monotonic(), "history": []}
        self.messages.append(record)
        message = {"type": "message", "subtype": "bot_message", "bot_id": "B0VIGIL00", "text": text, "ts": record["ts"]}
        if blocks:
            message["blocks"] = blocks
        if thread_ts:
            message["thread_ts"] = thread_ts
        return {"ok": True, "channel": channel_id, "ts": record["ts"], "message": message}

    def update(self, body):
        channel_id = self._resolve(body.get("channel"), ids_only=True)
        record = self.message(channel_id, str(body.get("ts")))
        if record is None:
            raise SlackError("message_not_found")
        text, blocks = self._content(body)
        record["history"].append({"text": record["text"], "blocks": record["blocks"]})
        record["text"], record["blocks"] = text, blocks
        self.updates.append({"time": time.monotonic(), "channel": channel_id, "ts": record["ts"], "request": body})
        return {"ok": True, "channel": channel_id, "ts": record["ts"], "text": text,
                "message": {"type": "message", "text": text, "blocks": blocks or [], "bot_id": "B0VIGIL00"}}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    slack = None  # set by FakeSlack.start

    def log_message(self, *args):
        pass

    def _answer(self, status, body, content_type="application/json; charset=utf-8", headers=None):
        data = body if isinstance(body, bytes) else (json.dumps(body) if not isinstance(body, str) else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise SlackError("request_timeout", status=411)
        if int(length) > MAX_BODY:
            raise SlackError("request_too_large", status=413)
        return self.rfile.read(int(length))

    def _record(self, method, status, error=None, warnings=None):
        self.slack.requests.append({"time": time.monotonic(), "method": method, "status": status, "error": error,
                                    "warnings": warnings or []})
        self.slack._cond.notify_all()

    def do_GET(self):
        self._answer(405, {"ok": False, "error": "method_not_allowed"})

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        try:
            raw = self._body()
        except SlackError as error:
            self.close_connection = True
            return self._answer(error.status, {"ok": False, "error": error.code})
        if path.startswith("/api/"):
            self._api(path[len("/api/"):], raw)
        elif path.startswith("/services/"):
            self._webhook(path, raw)
        elif path.startswith("/actions/"):
            self._response_url(path, raw)
        else:
            self._answer(404, "no_service", "text/html")

    def _api(self, method, raw):
        slack, warnings = self.slack, []
        with slack._cond:
            retry_after = slack._limited(method)
            if retry_after is not None:
                self._record(method, 429, "ratelimited")
                return self._answer(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": str(retry_after)})
            try:
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Bearer ") or not auth[7:].strip():
                    raise SlackError("not_authed")
                if auth[7:].strip() not in slack.tokens:
                    raise SlackError("invalid_auth")
                content_type = self.headers.get("Content-Type")
                if not content_type:
                    raise SlackError("missing_post_type")
                media, _, params = content_type.partition(";")
                if media.strip().lower() != "application/json":
                    raise SlackError("invalid_post_type")
                charset = dict(p.strip().lower().split("=", 1) for p in params.split(";") if "=" in p).get("charset")
                if charset is None:
                    warnings.append("missing_charset")
                elif charset.strip('"') not in ("utf-8", "iso-8859-1"):
                    raise SlackError("invalid_charset")
                try:
                    body = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    raise SlackError("invalid_json")
                if not isinstance(body, dict):
                    raise SlackError("json_not_object")
                if method == "chat.postMessage":
                    if "channel" not in body:
                        raise SlackError("invalid_arguments", messages=["[ERROR] missing required field: channel"])
                    answer = slack.post_message(body)
                elif method == "chat.update":
                    if "channel" not in body or "ts" not in body:
                        raise SlackError("invalid_arguments", messages=["[ERROR] missing required field: channel or ts"])
                    answer = slack.update(body)
                elif method == "auth.test":
                    answer = {"ok": True, "url": "https://vigil-test.slack.com/", "team": "Vigil test", "user": "vigil",
                              "team_id": "T0VIGIL00", "user_id": "U0VIGILBOT", "bot_id": "B0VIGIL00"}
                else:
                    raise SlackError("unknown_method")
            except SlackError as error:
                self._record(method, error.status, error.code, warnings)
                answer = {"ok": False, "error": error.code}
                if error.messages:
                    answer["response_metadata"] = {"messages": error.messages}
                return self._answer(error.status, answer)
            if warnings:
                answer["warning"] = ",".join(warnings)
                answer["response_metadata"] = {"warnings": warnings}
            self._record(method, 200, None, warnings)
            self._answer(200, answer)

    def _webhook(self, path, raw):
        slack = self.slack
        with slack._cond:
            retry_after = slack._limited("webhook")
            if retry_after is not None:
                self._record("webhook", 429, "rate_limited")
                return self._answer(429, "rate_limited", "text/plain", headers={"Retry-After": str(retry_after)})
            try:
                if path not in slack.webhooks:
                    raise SlackError("no_service", status=404)
                media = (self.headers.get("Content-Type") or "").partition(";")[0].strip().lower()
                try:
                    if media == "application/x-www-form-urlencoded":
                        raw = urllib.parse.parse_qs(raw.decode("utf-8")).get("payload", [""])[0].encode()
                    elif media != "application/json":
                        raise ValueError(media)
                    body = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    raise SlackError("invalid_payload", status=400)
                if not isinstance(body, dict):
                    raise SlackError("invalid_payload", status=400)
                channel_id = slack.webhooks[path]
                if slack.channels[channel_id]["archived"]:
                    raise SlackError("channel_is_archived", status=410)
                try:
                    slack.post_message(body, via="webhook", channel_id=channel_id)
                except SlackError as error:
                    raise SlackError(error.code if error.code != "invalid_blocks_format" else "invalid_blocks", status=400)
            except SlackError as error:
                self._record("webhook", error.status, error.code)
                return self._answer(error.status, error.code, "text/plain")
            self._record("webhook", 200)
            self._answer(200, "ok", "text/plain")

    def _response_url(self, path, raw):
        slack = self.slack
        with slack._cond:
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                self._record("response_url", 400, "invalid_payload")
                return self._answer(400, "invalid_payload", "text/plain")
            slack.responses.append({"time": time.monotonic(), "path": path, "body": body})
            self._record("response_url", 200)
            self._answer(200, "ok", "text/plain")
