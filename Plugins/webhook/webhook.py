#!/usr/bin/env python3
"""Vigil's bundled webhook notifier: POSTs each notification with its incident as JSON.

Body: {"id": request id, "title": ..., "body": ..., "incident": {...}, "sent_at": epoch seconds}.
Retries with exponential backoff (config: retries, backoff_seconds) within the request's deadline;
a 2xx answer is success, anything else is retried and finally reported as a failure.
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.environ.get("VIGIL_SDK") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk", "python"))
import vigil_plugin  # noqa: E402

plugin = vigil_plugin.Plugin("webhook", "1.0")


def deliver(request):
    config = plugin.config
    url = config.get("url")
    if not url:
        return False, "no url configured (config.url in plugin.yaml)"
    retries = int(config.get("retries", 4))
    backoff = float(config.get("backoff_seconds", 0.5))
    timeout = float(config.get("timeout_seconds", 5))
    deadline = time.monotonic() + request.get("deadline_ms", 30000) / 1000.0 - 0.2
    message = request.get("message") or {}
    payload = json.dumps({
        "id": request.get("id"),
        "title": message.get("title", ""),
        "body": message.get("body", ""),
        "incident": request.get("incident"),
        "sent_at": time.time(),
    }).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "vigil-webhook/1.0"}
    headers.update(config.get("headers") or {})
    attempt, last = 0, "not attempted"
    while True:
        attempt += 1
        try:
            req = urllib.request.Request(url, data=payload, headers=headers, method="POST")
            remaining = max(0.1, min(timeout, deadline - time.monotonic()))
            with urllib.request.urlopen(req, timeout=remaining) as answer:
                status = answer.status
            if 200 <= status < 300:
                return True, "delivered to %s (HTTP %d)" % (url, status), {"status": status, "attempts": attempt}
            last = "HTTP %d" % status
        except urllib.error.HTTPError as error:
            last = "HTTP %d" % error.code
        except (urllib.error.URLError, OSError) as error:
            last = str(getattr(error, "reason", error))
        pause = backoff * (2 ** (attempt - 1))
        if attempt > retries or time.monotonic() + pause >= deadline:
            return False, "giving up after %d attempt(s): %s" % (attempt, last), {"attempts": attempt, "last_error": last}
        time.sleep(pause)


plugin.run_notifier(deliver)
