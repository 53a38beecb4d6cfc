#!/usr/bin/env python3
"""Vigil's bundled webhook notifier: POSTs each notification with its incident as JSON.

Two bodies (config `format`):
- `vigil` (the default): {"id": request id, "title": ..., "body": ..., "incident": {...},
  "sent_at": epoch seconds};
- `alertmanager`: Alertmanager's webhook payload, version "4", byte for byte as Alertmanager
  writes it (alertmanager_payload.py), so receivers written for Alertmanager work unchanged.

Retries with exponential backoff (config: retries, backoff_seconds) within the request's deadline;
a 2xx answer is success, anything else (redirects included) is retried and finally reported as a
failure. A destination vigild refuses (not declared under `egress:`) is not retried.

Its TCP connections come from vigil_plugin.http_connection: under `network: brokered` the daemon
opens them, to the destinations plugin.yaml declares and no others. Each worker thread keeps one
keep-alive connection to the receiver: a new connection per notification cost a connect and a round
trip through vigild each. A receiver that closed the idle connection is retried at once on a new
one; receivers dedup on "id".
"""
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.environ.get("VIGIL_SDK") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk", "python"))
import vigil_plugin  # noqa: E402
import alertmanager_payload  # noqa: E402  (beside this file)

FORMATS = ("vigil", "alertmanager")

plugin = vigil_plugin.Plugin("webhook", "1.0", workers=8)


def post(url, payload, headers, timeout, pooled_timeout):
    """POSTs payload; returns the answer's status (what a receiver says is not used). On this
    worker's kept connection unless the deadline shortened the timeout (vigil_plugin.post)."""
    status, _, _ = vigil_plugin.post(url, payload, headers, timeout, kept_timeout=pooled_timeout)
    return status


def body(request, config):
    """The request body in the configured format, or an error naming the field."""
    form = config.get("format", "vigil")
    if form == "alertmanager":
        return alertmanager_payload.body_for(request, config), None
    if form != "vigil":
        return None, "config.format must be one of %s, found %r" % (", ".join(FORMATS), str(form)[:100])
    message = request.get("message") or {}
    return json.dumps({
        "id": request.get("id"),
        "title": message.get("title", ""),
        "body": message.get("body", ""),
        "incident": request.get("incident"),
        "sent_at": time.time(),
    }).encode("utf-8"), None


def deliver(request):
    config = plugin.config
    url = config.get("url")
    if not url:
        return False, "permanent: no url configured (config.url in plugin.yaml)", {"attempts": 0, "permanent": True}
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return False, "permanent: config.url must start with http:// or https://, found %r" % str(url)[:200], {
            "attempts": 0, "permanent": True}
    retries = int(config.get("retries", 4))
    backoff = float(config.get("backoff_seconds", 0.5))
    timeout = float(config.get("timeout_seconds", 5))
    deadline = time.monotonic() + request.get("deadline_ms", 30000) / 1000.0 - 0.2
    payload, problem = body(request, config)
    if problem:
        return False, "permanent: " + problem, {"attempts": 0, "permanent": True}
    headers = {"Content-Type": "application/json", "User-Agent": "vigil-webhook/1.0"}
    headers.update(config.get("headers") or {})
    form = config.get("format", "vigil")
    attempt, last = 0, "not attempted"
    while True:
        attempt += 1
        try:
            remaining = max(0.1, min(timeout, deadline - time.monotonic()))
            status = post(url, payload, headers, remaining, timeout)
            if 200 <= status < 300:
                return True, "delivered to %s (HTTP %d)" % (url, status), {"status": status, "attempts": attempt, "format": form}
            last = "HTTP %d" % status
        except vigil_plugin.EgressRefused as refused:
            # vigild will refuse the same destination every time: say so now, not after the retries.
            return False, "permanent: %s (declare it under egress: in plugin.yaml)" % refused, {
                "attempts": attempt, "last_error": str(refused), "permanent": True}
        except (OSError, http.client.HTTPException) as error:
            last = str(error) or type(error).__name__
        pause = backoff * (2 ** (attempt - 1))
        if attempt > retries or time.monotonic() + pause >= deadline:
            return False, "giving up after %d attempt(s): %s" % (attempt, last), {
                "attempts": attempt, "last_error": last, "permanent": False}
        time.sleep(pause)


plugin.run_notifier(deliver)
