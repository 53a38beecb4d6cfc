#!/usr/bin/env python3
"""Vigil's bundled webhook notifier: POSTs each notification with its incident as JSON.

Body: {"id": request id, "title": ..., "body": ..., "incident": {...}, "sent_at": epoch seconds}.
Retries with exponential backoff (config: retries, backoff_seconds) within the request's deadline;
a 2xx answer is success, anything else (redirects included) is retried and finally reported as a
failure.

Each worker thread keeps one keep-alive connection to the receiver: a new TCP connection per
notification cost a connect and, in the sandbox, a watched ioctl (a round trip through vigild) each.
A receiver that closed the idle connection is retried at once on a new one; receivers dedup on "id".
"""
import http.client
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.environ.get("VIGIL_SDK") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk", "python"))
import vigil_plugin  # noqa: E402

plugin = vigil_plugin.Plugin("webhook", "1.0", workers=8)
_pool = threading.local()


def _open(parts, timeout):
    if parts.scheme == "https":
        return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context())
    if parts.scheme == "http":
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    raise ValueError("config.url must start with http:// or https://")


def _drop():
    connection = getattr(_pool, "connection", None)
    _pool.connection = None
    if connection is not None:
        connection.close()


def _close(connection, pooled):
    if pooled:
        _drop()
    else:
        connection.close()


def post(url, payload, headers, timeout, pooled_timeout):
    """POSTs payload; returns the answer's status. On this thread's kept connection when `timeout`
    is the configured one, else (near the deadline) on a connection of its own with `timeout`."""
    parts = urllib.parse.urlsplit(url)
    path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    key = (parts.scheme, parts.hostname, parts.port)
    pooled = timeout >= pooled_timeout
    for _ in range(2):
        reused = False
        if not pooled:
            connection = _open(parts, timeout)
        elif getattr(_pool, "connection", None) is not None and _pool.key == key:
            connection, reused = _pool.connection, True
        else:
            _drop()
            connection = _pool.connection = _open(parts, pooled_timeout)
            _pool.key = key
        try:
            connection.request("POST", path, body=payload, headers=headers)
            answer = connection.getresponse()
            answer.read(65536)  # what a receiver says is not used: bounded, the rest closes the connection
        except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected, http.client.CannotSendRequest):
            _close(connection, pooled)
            if reused:
                continue  # the receiver closed the idle connection: once more, on a new one
            raise
        except BaseException:
            _close(connection, pooled)
            raise
        if not pooled or answer.will_close or not answer.isclosed():
            _close(connection, pooled)
        return answer.status


def deliver(request):
    config = plugin.config
    url = config.get("url")
    if not url:
        return False, "no url configured (config.url in plugin.yaml)"
    if not url.startswith(("http://", "https://")):
        return False, "config.url must start with http:// or https://, found %r" % url[:200]
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
            remaining = max(0.1, min(timeout, deadline - time.monotonic()))
            status = post(url, payload, headers, remaining, timeout)
            if 200 <= status < 300:
                return True, "delivered to %s (HTTP %d)" % (url, status), {"status": status, "attempts": attempt}
            last = "HTTP %d" % status
        except (OSError, http.client.HTTPException) as error:
            last = str(error) or type(error).__name__
        pause = backoff * (2 ** (attempt - 1))
        if attempt > retries or time.monotonic() + pause >= deadline:
            return False, "giving up after %d attempt(s): %s" % (attempt, last), {"attempts": attempt, "last_error": last}
        time.sleep(pause)


plugin.run_notifier(deliver)
