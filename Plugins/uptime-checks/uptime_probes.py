"""The three probes — HTTP(S), TCP and WebSocket — each one connection (or one per followed
redirect) under one deadline, returning an Outcome. `connect(host, port, timeout)` is
vigil_plugin.connect (vigild's egress broker); `clock` is monotonic seconds, `now` the wall clock
in epoch seconds (for the certificate's days left)."""
import os
import time
import urllib.parse

import uptime_certificate
import uptime_config
import uptime_http
import uptime_websocket as ws
from uptime_net import Deadline, Outcome, ProbeFailure, open_connection, receive, send_all, start_tls, tls_context

MAX_BANNER = 4096
MAX_IGNORED_MESSAGES = 32


def run_probe(check, connect, clock=time.monotonic, now=time.time, egress=None):
    """Runs `check` once; never raises for anything the endpoint does."""
    deadline = Deadline(check.timeout, clock)
    facts = {"cert_days": None}
    probe = {"http": _http, "tcp": _tcp, "websocket": _websocket}[check.kind]
    try:
        detail = probe(check, connect, deadline, now, egress, facts)
    except ProbeFailure as failure:
        latency = deadline.elapsed_ms() if failure.answered else None
        return Outcome(False, failure.reason, failure.detail, latency, facts["cert_days"])
    except (OSError, ValueError) as error:  # anything unforeseen is a failed probe, not a dead plugin
        return Outcome(False, "connect", "%s: %s" % (type(error).__name__, str(error)[:200]), None, facts["cert_days"])
    latency = facts.get("latency_ms")
    return Outcome(True, "ok", detail, deadline.elapsed_ms() if latency is None else latency, facts["cert_days"])


def _secure(sock, check, host, deadline, now, facts, first):
    context = tls_context(check.tls_verify, check.ca_file)
    tls, der = start_tls(sock, context, host, deadline)
    if first and der:
        try:
            facts["cert_days"] = uptime_certificate.days_left(der, now())
        except uptime_certificate.CertificateError as error:
            facts["cert_error"] = str(error)
    return tls


def _http(check, connect, deadline, now, egress, facts):
    host, port, secure, path, default = check.host, check.port, check.secure, check.path, check.default_port
    need_body = check.body_match is not None
    hops = 0
    while True:
        sock = open_connection(connect, host, port, deadline)
        try:
            if secure:
                sock = _secure(sock, check, host, deadline, now, facts, hops == 0)
            request = uptime_http.build_request(check.method, path, host, port, default, check.headers)
            head, body = uptime_http.exchange(sock, deadline, request, check.method, check.body_max,
                                              need_body)
        finally:
            sock.close()
        location = head.first("location")
        if 300 <= head.status < 400 and location and hops < check.follow_redirects:
            hops += 1
            host, port, secure, path, default = _redirect(check, host, port, secure, path, location, egress)
            continue
        break
    if not any(low <= head.status <= high for low, high in check.expect_status):
        raise ProbeFailure("status", "status %d %s (expected %s)" % (
            head.status, head.reason[:60], ", ".join("%d" % a if a == b else "%d-%d" % (a, b) for a, b in check.expect_status)),
            answered=True)
    if need_body:
        text = body.decode("utf-8", "replace")
        if not check.body_match.search(text):
            raise ProbeFailure("body", "status %d but the body's first %d KiB did not match /%s/" % (
                head.status, check.body_max // 1024, check.body_match.pattern[:80]), answered=True)
    return "status %d" % head.status + (" after %d redirect(s)" % hops if hops else "")


def _redirect(check, host, port, secure, path, location, egress):
    base = "%s://%s:%d%s" % ("https" if secure else "http", "[%s]" % host if ":" in host else host, port, path)
    target = urllib.parse.urljoin(base, location.strip()[:2048])
    try:
        scheme, new_host, new_port, default, new_secure, new_path = uptime_config._url(target, ("http", "https"))
    except uptime_config.ConfigError as error:
        raise ProbeFailure("protocol", "redirect to an unusable Location: %s" % error, answered=True)
    if egress is not None and (new_host, new_port) not in egress:
        raise ProbeFailure("egress", "redirect to %s:%d, which is not declared under sandbox.egress" % (new_host, new_port),
                           answered=True)
    return new_host, new_port, new_secure, new_path, default


def _tcp(check, connect, deadline, now, egress, facts):
    sock = open_connection(connect, check.host, check.port, deadline)
    try:
        if check.send:
            send_all(sock, check.send, deadline, "sending")
        if check.expect is None:
            return "connected"
        banner = bytearray()
        while True:
            text = banner.decode("utf-8", "replace")
            if check.expect.search(text):
                return "banner matched"
            if len(banner) >= MAX_BANNER:
                raise ProbeFailure("banner", "the first %d bytes did not match /%s/" % (MAX_BANNER, check.expect.pattern[:80]),
                                   answered=True)
            chunk = receive(sock, deadline, "waiting for the banner", MAX_BANNER - len(banner))
            if not chunk:
                raise ProbeFailure("banner", "the server closed after %d byte(s) that did not match /%s/" % (
                    len(banner), check.expect.pattern[:80]), answered=bool(banner))
            banner += chunk
    finally:
        sock.close()


def _upgrade_request(check, key):
    lines = ["GET %s HTTP/1.1" % check.path,
             "Host: %s" % uptime_http.host_header(check.host, check.port, check.default_port),
             "User-Agent: vigil-uptime-checks/1.0", "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: %s" % key, "Sec-WebSocket-Version: 13"]
    lines += ["%s: %s" % (n, v) for n, v in check.headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _websocket(check, connect, deadline, now, egress, facts):
    sock = open_connection(connect, check.host, check.port, deadline)
    try:
        if check.secure:
            sock = _secure(sock, check, check.host, deadline, now, facts, True)
        key = ws.new_key()
        send_all(sock, _upgrade_request(check, key), deadline, "sending the upgrade request")
        head, rest = uptime_http.read_head(sock, deadline, allow_interim=False)
        problem = ws.check_upgrade(head, key)
        if problem:
            raise ProbeFailure("status" if head.status != 101 else "protocol", "upgrade refused: " + problem, answered=True)
        if check.mode == "ping":
            token = os.urandom(8).hex().encode("ascii")
            send_all(sock, ws.frame(ws.PING, token), deadline, "sending a ping")
        else:
            token = check.message
            send_all(sock, ws.frame(ws.TEXT, token), deadline, "sending a message")
        reader = ws.FrameReader()
        ignored = 0
        data = rest
        while True:
            try:
                messages = reader.feed(data)
            except ws.FrameError as error:
                raise ProbeFailure("protocol", "bad frame from the server: %s" % error, answered=True)
            for opcode, payload in messages:
                if opcode == ws.PING:
                    send_all(sock, ws.frame(ws.PONG, payload), deadline, "answering the server's ping")
                elif opcode == ws.CLOSE:
                    raise ProbeFailure("closed", "the server closed the WebSocket (code %d) before answering"
                                       % ws.close_code(payload), answered=True)
                elif check.mode == "ping" and opcode == ws.PONG and payload == token:
                    facts["latency_ms"] = deadline.elapsed_ms()  # the round trip, not the closing handshake
                    _close(sock, reader, deadline)
                    return "pong"
                elif check.mode == "echo" and opcode == ws.TEXT and (
                        payload == token if check.expect is None else check.expect.search(payload.decode("utf-8", "replace"))):
                    facts["latency_ms"] = deadline.elapsed_ms()
                    _close(sock, reader, deadline)
                    return "echo"
                else:
                    ignored += 1
                    if ignored > MAX_IGNORED_MESSAGES:
                        raise ProbeFailure("protocol", "no %s among the first %d messages" % (
                            "pong" if check.mode == "ping" else "echo", MAX_IGNORED_MESSAGES), answered=True)
            data = receive(sock, deadline, "waiting for the %s" % ("pong" if check.mode == "ping" else "echo"))
            if not data:
                raise ProbeFailure("closed", "the server closed the connection before answering", answered=True)
    finally:
        sock.close()


def _close(sock, reader, deadline):
    """The closing handshake: our close frame, then the server's (waited for at most 1 s, within the
    deadline). A server that does not answer it does not make the check fail."""
    try:
        sock.settimeout(max(0.01, min(1.0, deadline.end - deadline.clock())))
        sock.sendall(ws.close_frame(1000))
        for _ in range(16):
            data = sock.recv(4096)
            if not data or any(op == ws.CLOSE for op, _ in reader.feed(data)):
                return
    except (OSError, ws.FrameError):
        return
