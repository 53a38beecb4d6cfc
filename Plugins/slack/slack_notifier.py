#!/usr/bin/env python3
"""Vigil's Slack notifier (Docs/notifiers/slack.md): posts each notification as a Block Kit
message with Acknowledge / Resolve buttons, through the Web API with a bot token or through an
incoming webhook.

With the Web API, each incident has one thread per conversation: the first message about it is
the root (the incident card, its buttons while nobody has acknowledged it), later ones are
replies, and the root is updated in place to show where the incident stands. Where each thread is
lives in the plugin's data folder (threads.json), so the threads go on across restarts.

The plugin has no network of its own (`network: brokered`): vigild opens each connection, and
only to the destinations plugin.yaml declares under `egress:`.

Result evidence: `mode` (web_api | webhook), `channel` (the conversation id Slack answered),
`ts` (the message's), `thread_ts` (the root's, for a reply), and on failure `permanent` (true
when no retry can help: a bad token, an unknown channel, a bot that is not a member).
"""
import os
import re
import sys
import threading
import urllib.parse

sys.path.insert(0, os.environ.get("VIGIL_SDK") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk", "python"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vigil_plugin  # noqa: E402
import slack_message  # noqa: E402
from slack_client import Deadline, SlackClient, SlackFailure  # noqa: E402
from slack_settings import ConfigError, Settings  # noqa: E402
from slack_threads import KeyedLocks, ThreadBook  # noqa: E402

# A channel id or name (`C0123ABCD`, `#inc-2026-0042`, `inc-2026-0042`) or a user id (`U0123`,
# `W0123`: a direct message from the bot).
RECIPIENT = re.compile(r"^#?[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
PERSON = re.compile(r"^[UW][A-Z0-9]{2,20}$")
MAX_RECIPIENTS = 20


class Notifier:
    """Delivers `notify` requests; one instance per plugin run, shared by the worker threads."""

    def __init__(self, config, data_dir, log):
        self.log = log
        self.settings = Settings(config)
        self.client = SlackClient(self.settings)
        self.book = ThreadBook(data_dir, self.settings.max_incidents, log) if self.settings.mode == "web_api" else None
        self.locks = KeyedLocks()
        self._ids_lock = threading.Lock()
        self._channel_ids = {}  # recipient -> conversation id Slack answered (pacing key)

    # -- one request -----------------------------------------------------------------------------

    def deliver(self, request):
        deadline = Deadline(request.get("deadline_ms"))
        message = request.get("message") if isinstance(request.get("message"), dict) else {}
        title = slack_message.text_of(message.get("title"))[:5000]
        body = slack_message.text_of(message.get("body"))[:40000]
        incident = request.get("incident") if isinstance(request.get("incident"), dict) else None
        if incident is not None:
            body = slack_message.strip_ack_lines(body, incident.get("ack_links"))
        nid = incident.get("notification_id") if incident else None
        nid = str(int(nid)) if isinstance(nid, (int, float)) and not isinstance(nid, bool) and 0 < nid < 2**63 else None
        if self.settings.mode == "webhook":
            return self._webhook(incident, title, body, nid, deadline)
        recipients, refused = self._recipients(incident)
        delivered, failures = [], list(refused)
        for recipient in recipients:
            try:
                delivered.append(self._post(incident, recipient, title, body, nid, deadline))
            except SlackFailure as error:
                failures.append((recipient, error))
        evidence = {"mode": "web_api"}
        if delivered:
            evidence.update(delivered[0])
        if len(delivered) + len(failures) > 1:
            evidence["messages"] = delivered
        if not failures:
            where = ", ".join("%s (%s)" % (d["recipient"], d["ts"] or "already posted") for d in delivered)
            return True, "posted to Slack: %s" % where, evidence
        evidence["permanent"] = all(error.permanent for _, error in failures)
        evidence["errors"] = [{"recipient": r, "error": e.code, "permanent": e.permanent} for r, e in failures]
        retry_after = [e.retry_after for _, e in failures if e.retry_after]
        if retry_after:
            evidence["retry_after"] = max(retry_after)
        detail = "; ".join("%s: %s" % (r, e) for r, e in failures)
        if delivered:
            detail += " (posted to %s)" % ", ".join(d["recipient"] for d in delivered)
        return False, ("permanent: " if evidence["permanent"] else "") + detail, evidence

    def _recipients(self, incident):
        raw = incident.get("recipients") if incident else None
        if not isinstance(raw, list) or not raw:
            if self.settings.default_channel:
                return [self.settings.default_channel], []
            return [], [("(none)", SlackFailure("the notification names no recipient and config.default_channel "
                                                "is not set", code="no_recipient", permanent=True))]
        recipients, refused = [], []
        for i, value in enumerate(raw[:MAX_RECIPIENTS]):
            if isinstance(value, str) and RECIPIENT.match(value.strip()):
                if value.strip() not in recipients:
                    recipients.append(value.strip())
            else:
                refused.append(("incident.recipients[%d]" % i, SlackFailure(
                    "not a Slack channel (C0123…, #name) or user id (U0123…): %r" % slack_message.text_of(value)[:80],
                    code="bad_recipient", permanent=True)))
        return recipients, refused

    # -- Web API: one thread per incident and conversation ---------------------------------------

    def _post(self, incident, recipient, title, body, nid, deadline):
        facts = slack_message.IncidentFacts(incident)
        if incident is None or not facts.id:
            answer = self._post_message(recipient, slack_message.plain(title, body), deadline)
            return self._evidence(recipient, answer, None)
        with self.locks.holding(facts.id):
            thread = self.book.get(facts.id, recipient)
            if thread and nid and nid in thread["notified"]:
                # vigild retried a notification that reached this conversation before another failed.
                return {"recipient": recipient, "channel": thread["channel"], "ts": None, "thread_ts": thread["ts"],
                        "already_posted": True}
            view = self._view_url(facts, incident, recipient)
            if thread is None:
                return self._post_root(facts, incident, recipient, title, body, view, nid, deadline)
            payload = dict(slack_message.reply(incident, title, body, nid), thread_ts=thread["ts"])
            if facts.purpose in self.settings.broadcast_purposes:
                payload["reply_broadcast"] = True
            try:
                answer = self._post_message(thread["channel"], payload, deadline)
            except SlackFailure as error:
                if error.code not in ("thread_not_found", "message_not_found"):
                    raise
                # The root was deleted in Slack: the incident's thread starts again.
                self.book.forget(facts.id, recipient)
                return self._post_root(facts, incident, recipient, title, body, view, nid, deadline)
            evidence = self._evidence(recipient, answer, thread["ts"])
            if nid:
                thread["notified"].append(nid)
            self.book.put(facts.id, recipient, thread)
            evidence.update(self._update_root(facts, incident, recipient, thread, title, view, nid, deadline))
            return evidence

    def _post_root(self, facts, incident, recipient, title, body, view, nid, deadline):
        answer = self._post_message(recipient, slack_message.card(incident, title, body, view, nid), deadline)
        evidence = self._evidence(recipient, answer, None)
        self.book.put(facts.id, recipient, {"channel": evidence["channel"], "ts": evidence["ts"],
                                            "notified": [nid] if nid else []})
        return evidence

    def _update_root(self, facts, incident, recipient, thread, title, view, nid, deadline):
        """The root shows the incident as it is now (its buttons gone once acknowledged or
        resolved). A failed update does not fail the reply already posted: the next message
        updates the root again."""
        payload = dict(slack_message.card(incident, title, None, view, nid), channel=thread["channel"], ts=thread["ts"])
        try:
            self.client.api("chat.update", payload, deadline)
            return {"root_updated": True}
        except SlackFailure as error:
            if error.code == "message_not_found":
                self.book.forget(facts.id, recipient)
            return {"root_updated": False, "root_error": error.code}

    def _post_message(self, channel, message, deadline):
        payload = dict(message, channel=channel, unfurl_links=False, unfurl_media=False)
        with self._ids_lock:
            pace_key = self._channel_ids.get(channel, channel)
        answer = self.client.api("chat.postMessage", payload, deadline, pace_key=pace_key)
        if not (isinstance(answer.get("channel"), str) and 0 < len(answer["channel"]) <= 64
                and isinstance(answer.get("ts"), str) and 0 < len(answer["ts"]) <= 40):
            raise SlackFailure("chat.postMessage: Slack's answer has no channel and ts", code="bad_answer")
        if answer["channel"] != channel:
            with self._ids_lock:
                if len(self._channel_ids) > 10000:
                    self._channel_ids.clear()
                self._channel_ids[channel] = answer["channel"]
            self.client.gate.alias(channel, answer["channel"])
        return answer

    @staticmethod
    def _evidence(recipient, answer, thread_ts):
        return {"recipient": recipient, "channel": answer["channel"], "ts": answer["ts"], "thread_ts": thread_ts}

    def _view_url(self, facts, incident, recipient):
        """The View button: the console's page for the incident when configured; else, in a
        direct message only, the person's signed acknowledgement link (never in a channel,
        where anyone could use it)."""
        if self.settings.console_url:
            url = self.settings.console_url.replace("{id}", urllib.parse.quote(facts.id, safe=""))
            return url if len(url) <= slack_message.BUTTON_URL else None
        links = incident.get("ack_links") if incident else None
        if PERSON.match(recipient) and isinstance(links, list) and len(links) == 1 and isinstance(links[0], dict):
            url = links[0].get("url")
            if (isinstance(url, str) and url.startswith(("https://", "http://")) and url.isascii()
                    and len(url) <= slack_message.BUTTON_URL and not any(c.isspace() for c in url)):
                return url
        return None

    # -- incoming webhook: one message per notification ------------------------------------------

    def _webhook(self, incident, title, body, nid, deadline):
        facts = slack_message.IncidentFacts(incident)
        view = None
        if incident is not None and facts.id and self.settings.console_url:
            view = self._view_url(facts, incident, "#webhook")
        message = slack_message.card(incident, title, body, view, nid) if incident and facts.id else slack_message.plain(title, body)
        evidence = {"mode": "webhook", "channel": self.settings.webhook_channel, "ts": None, "thread_ts": None}
        try:
            self.client.webhook(message, deadline)
        except SlackFailure as error:
            evidence.update(permanent=error.permanent, error=error.code)
            if error.retry_after:
                evidence["retry_after"] = error.retry_after
            return False, ("permanent: " if error.permanent else "") + str(error), evidence
        return True, "posted to Slack's incoming webhook%s" % (
            " (%s)" % self.settings.webhook_channel if self.settings.webhook_channel else ""), evidence


def main():
    plugin = vigil_plugin.Plugin("slack", "1.0", workers=8)
    state = {}
    lock = threading.Lock()

    def log(message, level="warning"):
        try:
            plugin.log(message, level)
        except OSError:
            pass

    def deliver(request):
        with lock:
            if "notifier" not in state:
                try:
                    state["notifier"] = Notifier(plugin.config, plugin.data_dir, log)
                except ConfigError as error:
                    state["notifier"] = error
                    log("slack: %s" % error, "error")
            notifier = state["notifier"]
        if isinstance(notifier, ConfigError):
            return False, "permanent: %s" % notifier, {"permanent": True, "error": "config"}
        try:
            return notifier.deliver(request)
        except ConfigError as error:  # the token file became unreadable
            return False, "permanent: %s" % error, {"permanent": True, "error": "config"}

    plugin.run_notifier(deliver)


if __name__ == "__main__":
    main()
