#!/usr/bin/env python3
"""Vigil's PagerDuty notifier: mirrors each incident onto PagerDuty through the Events API v2.

Every `notify` on the `pagerduty` channel sends the event that matches the incident now (see
pagerduty_event.py): `trigger` while open and unacknowledged, `acknowledge` once acknowledged,
`resolve` once resolved, with `dedup_key` = the incident id. PagerDuty's answers:
- 202 {"status":"success","dedup_key":...}: delivered;
- 400 {"status":"invalid event","errors":[...]}: a permanent failure carrying PagerDuty's errors
  (`permanent: ` in the detail, `"permanent": true` in the evidence: sending it again cannot help);
- 429 and 5xx, or no answer: retried with exponential backoff and jitter (a `Retry-After` is
  honoured) while the request's `deadline_ms` allows, then a failure the outbox retries later.

A view of the incident older than the last one sent for its dedup_key (a late retry of an early
page) is not sent: it would re-trigger an alert already acknowledged or resolved. A view already
sent and accepted is not sent twice (three people paged at once are one PagerDuty event).

Its TCP connections come from vigil_plugin.http_connection: under `network: brokered` vigild
opens them, only to the destinations plugin.yaml declares. Each worker thread keeps one
keep-alive connection, so a TLS handshake is not paid per event.
"""
import collections
import http.client
import json
import math
import os
import random
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.environ.get("VIGIL_SDK") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk", "python"))
import vigil_plugin  # noqa: E402
import pagerduty_event  # noqa: E402  (beside this file)

DEFAULT_URL = "https://events.pagerduty.com/v2/enqueue"
MAX_ANSWER = 65536
MAX_KEY_FILE = 4096
RETRYABLE = frozenset([408, 429])

plugin = vigil_plugin.Plugin("pagerduty", "1.0", workers=4)


class SentViews:
    """The last view of each incident sent to each integration key (bounded, in memory): late,
    older views are not sent, a view already accepted is not sent again, and the keys an incident
    was triggered on are known when it is acknowledged or resolved."""

    def __init__(self, capacity=10000):
        self.capacity = capacity
        self._lock = threading.Lock()
        self._sent = collections.OrderedDict()

    def keys_for(self, dedup_key):
        """The integration keys this incident was sent to and not yet resolved on."""
        with self._lock:
            return [key for (key, dedup), (_, action) in self._sent.items() if dedup == dedup_key and action != "resolve"]

    @staticmethod
    def moment(incident):
        # Vigil writes every time as YYYY-MM-DDTHH:MM:SS.mmmZ, so the text orders as the time does.
        value = incident.get("updatedAt")
        return value if isinstance(value, str) and len(value) == 24 and value.endswith("Z") else None

    def verdict(self, key, moment, action):
        """None to send, else why not."""
        if moment is None:
            return None
        with self._lock:
            last = self._sent.get(key)
        if last is None:
            return None
        if moment < last[0]:
            return "stale: a newer view of the incident (%s, %s) was already sent" % last
        if moment == last[0] and action == last[1]:
            return "already sent: PagerDuty accepted this %s for this view of the incident" % action
        return None

    def record(self, key, moment, action):
        if moment is None:
            return
        with self._lock:
            last = self._sent.get(key)
            if last is None or moment >= last[0]:
                self._sent[key] = (moment, action)
                self._sent.move_to_end(key)
            while len(self._sent) > self.capacity:
                self._sent.popitem(last=False)


sent_views = SentViews()


class KeyLocks:
    """One delivery at a time per (integration key, dedup_key): the pages of three people arrive
    together, and the second must see that the first was accepted, not send it again; and a
    trigger cannot overtake the resolve sent just before it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._held = {}   # key → [lock, users]

    def acquire(self, key, timeout):
        with self._lock:
            entry = self._held.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        if entry[0].acquire(timeout=max(0.0, timeout)):
            return True
        self._leave(key, entry)
        return False

    def release(self, key):
        with self._lock:
            entry = self._held[key]
        entry[0].release()
        self._leave(key, entry)

    def _leave(self, key, entry):
        with self._lock:
            entry[1] -= 1
            if entry[1] == 0:
                del self._held[key]


key_locks = KeyLocks()


def post(url, body, timeout, pooled_timeout):
    """POSTs the event: (status, answer bytes (at most 64 KiB), Retry-After or None). On this
    worker's kept connection unless the deadline shortened the timeout (vigil_plugin.post)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "vigil-pagerduty/1.0"}
    status, data, answer = vigil_plugin.post(url, body, headers, timeout, kept_timeout=pooled_timeout, max_answer=MAX_ANSWER)
    return status, data, answer.getheader("Retry-After")


def _answer(data):
    try:
        answer = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}
    return answer if isinstance(answer, dict) else {}


def _errors(answer, data):
    errors = answer.get("errors")
    if isinstance(errors, list) and errors:
        return "; ".join(pagerduty_event.text(str(e), 300) for e in errors[:10])
    return pagerduty_event.text(str(answer.get("message") or data[:300].decode("utf-8", "replace")), 300)


def _pause(attempt, backoff, retry_after):
    pause = min(backoff * (2 ** (attempt - 1)), 60.0) * random.uniform(0.8, 1.2)
    try:
        if retry_after is not None:
            pause = max(pause, min(float(retry_after), 300.0))
    except ValueError:
        pass
    return pause


def send(url, event, settings, deadline):
    """Sends one event, retrying what PagerDuty says to retry: (ok, detail, evidence)."""
    body = pagerduty_event.encode(event)
    evidence = {"event_action": event["event_action"], "dedup_key": event["dedup_key"],
                "routing_key": "\u2026" + event["routing_key"][-4:]}
    attempt, last = 0, "not attempted"
    while True:
        attempt += 1
        evidence["attempts"] = attempt
        try:
            remaining = max(0.1, min(settings["timeout"], deadline - time.monotonic()))
            status, data, retry_after = post(url, body, remaining, settings["timeout"])
        except vigil_plugin.EgressRefused as refused:
            evidence.update(permanent=True, last_error=str(refused))
            return False, "permanent: %s (declare it under egress: in plugin.yaml)" % refused, evidence
        except (OSError, http.client.HTTPException) as error:
            status, data, retry_after = None, b"", None
            last = str(error) or type(error).__name__
        if status is not None:
            answer = _answer(data)
            evidence["status"] = status
            if 200 <= status < 300:
                evidence["pagerduty_status"] = pagerduty_event.text(answer.get("status"), 64) or None
                if isinstance(answer.get("dedup_key"), str):
                    evidence["dedup_key"] = answer["dedup_key"][:pagerduty_event.MAX_DEDUP_KEY]
                return True, "PagerDuty accepted %s of %s (HTTP %d)" % (
                    event["event_action"], event["dedup_key"], status), evidence
            last = "HTTP %d: %s" % (status, _errors(answer, data))
            if status not in RETRYABLE and status < 500:
                evidence.update(permanent=True, last_error=last)
                return False, "permanent: PagerDuty refused the %s event (%s)" % (event["event_action"], last), evidence
        pause = _pause(attempt, settings["backoff"], retry_after)
        if attempt > settings["retries"] or time.monotonic() + pause >= deadline:
            evidence.update(permanent=False, last_error=last)
            return False, "giving up on the %s event after %d attempt(s): %s" % (
                event["event_action"], attempt, last), evidence
        time.sleep(pause)


def _read_key_file(path):
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_KEY_FILE).decode("utf-8", "replace")
    except OSError as error:
        raise pagerduty_event.ConfigError("config.routing_key_file %s cannot be read: %s" % (path[:256], error.strerror))


def _settings(config):
    url = config.get("url", DEFAULT_URL)
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or not urllib.parse.urlsplit(url).hostname:
        raise pagerduty_event.ConfigError("config.url must start with https:// (or http:// for a test server), found %r" % str(url)[:200])
    purposes = config.get("purposes")
    if purposes is not None and not (isinstance(purposes, list) and all(isinstance(p, str) for p in purposes)):
        raise pagerduty_event.ConfigError("config.purposes must be a list of purposes like [page, escalation, resolution]")
    try:
        settings = {"url": url, "purposes": purposes, "retries": int(config.get("retries", 6)),
                    "backoff": float(config.get("backoff_seconds", 1.0)), "timeout": float(config.get("timeout_seconds", 10))}
    except (TypeError, ValueError) as error:
        raise pagerduty_event.ConfigError("config.retries, backoff_seconds and timeout_seconds must be numbers: %s" % error)
    if not (0 <= settings["backoff"] <= 300 and 0 < settings["timeout"] <= 300):
        raise pagerduty_event.ConfigError("config.backoff_seconds must be from 0 to 300 and timeout_seconds above 0 up to 300")
    return settings


def deliver(request):
    config = plugin.config if isinstance(plugin.config, dict) else {}
    incident = request.get("incident")
    if not isinstance(incident, dict):
        return False, "permanent: the notification carries no incident, so there is nothing to mirror on PagerDuty", {"permanent": True}
    try:
        deadline_ms = float(request.get("deadline_ms", 30000))
    except (TypeError, ValueError):
        deadline_ms = 30000.0
    if not math.isfinite(deadline_ms) or deadline_ms <= 0:
        deadline_ms = 30000.0
    deadline = time.monotonic() + deadline_ms / 1000.0 - 0.2
    try:
        settings = _settings(config)
        keys = pagerduty_event.routing_keys(incident, config, _read_key_file)
        if pagerduty_event.action_for(incident) != "trigger":
            # PagerDuty drops an acknowledge or resolve sent with another key than the trigger's,
            # and the resolution notice may reach someone else than the page did: every key the
            # incident was triggered on hears of it.
            keys += [k for k in sent_views.keys_for(incident.get("id")) if k not in keys]
        events = [pagerduty_event.event_for(incident, request.get("message"), config, key) for key in keys]
    except ValueError as error:  # ConfigError included: neither changes by trying again
        return False, "permanent: %s" % error, {"permanent": True}
    purpose = incident.get("purpose")
    if settings["purposes"] is not None and isinstance(purpose, str) and purpose not in settings["purposes"]:
        return True, "not sent: purpose %s is not in config.purposes" % pagerduty_event.text(purpose, 64), {
            "skipped": "purpose", "event_action": events[0]["event_action"], "dedup_key": events[0]["dedup_key"]}
    moment = SentViews.moment(incident)
    outcomes = []
    for event in events:
        view_key = (event["routing_key"], event["dedup_key"])
        if not key_locks.acquire(view_key, deadline - time.monotonic()):
            outcomes.append((False, "another delivery about %s was still in progress at the deadline" % event["dedup_key"], {
                "event_action": event["event_action"], "dedup_key": event["dedup_key"], "permanent": False}))
            continue
        try:
            why_not = sent_views.verdict(view_key, moment, event["event_action"])
            if why_not:
                outcomes.append((True, "not sent: " + why_not, {
                    "skipped": why_not.split(":")[0], "event_action": event["event_action"], "dedup_key": event["dedup_key"]}))
                continue
            ok, detail, evidence = send(settings["url"], event, settings, deadline)
            if ok:
                sent_views.record(view_key, moment, event["event_action"])
            outcomes.append((ok, detail, evidence))
        finally:
            key_locks.release(view_key)
    if len(outcomes) == 1:
        return outcomes[0]
    failed = [o for o in outcomes if not o[0]]
    evidence = dict(outcomes[0][2], deliveries=[o[2] for o in outcomes])
    evidence.pop("permanent", None)
    if failed:
        evidence["permanent"] = all(o[2].get("permanent") for o in failed)
        return False, "%s%d of %d integration keys failed: %s" % (
            "permanent: " if evidence["permanent"] else "", len(failed), len(outcomes), failed[0][1]), evidence
    return True, "; ".join(o[1] for o in outcomes), evidence


plugin.run_notifier(deliver)
