#!/usr/bin/env python3
"""A test plugin whose behaviour is chosen by its first argument (see PluginHostTests)."""
import json
import os
import struct
import sys
import time

sys.path.insert(0, os.environ["VIGIL_SDK"])
import vigil_plugin  # noqa: E402

mode = sys.argv[1]
name = sys.argv[2]
plugin = vigil_plugin.Plugin(name, "test")

if mode == "detector":
    def run(vigil):
        count = int(vigil.config.get("count", 10))
        for i in range(count):
            vigil.metric("test_metric", i, unit="%", labels={"series": "a"})
        vigil.signal("test_signal", labels={"why": "done"})
        vigil.flush()
        while not vigil.sleep(1):
            pass
    plugin.run_detector(run)
elif mode == "view":
    # What its sandbox gave it: its supplementary groups, and whether each of config.paths reads.
    def run(vigil):
        vigil.metric("test_metric", len(os.getgroups()), labels={"groups": ",".join(str(g) for g in sorted(os.getgroups()))})
        for path in vigil.config.get("paths", []):
            vigil.metric("test_metric", 1 if os.access(path, os.R_OK) else 0, labels={"path": path})
        vigil.flush()
        while not vigil.sleep(1):
            pass
    plugin.run_detector(run)
elif mode == "flood":
    def run(vigil):
        labels = {"series": "flood"}
        i = 0
        while not vigil.stopping.is_set():
            vigil.metric("flood_metric", i, labels=labels)
            i += 1
    plugin.run_detector(run)
elif mode == "stubborn":
    # A detector body that never looks at `stopping` (issue 16: plugins outlived their daemon).
    def run(vigil):
        while True:
            time.sleep(0.05)
    plugin.run_detector(run)
elif mode == "crash":
    plugin.handshake()
    sys.exit(3)
elif mode == "garbage":
    plugin.handshake()
    junk = b"this is not json"
    plugin._sock.sendall(struct.pack(">I", len(junk)) + junk)
    time.sleep(30)
elif mode == "huge":
    plugin.handshake()
    plugin._sock.sendall(struct.pack(">I", 100 * 1024 * 1024) + b"{" * 4096)
    time.sleep(30)
elif mode == "silent":
    plugin.handshake()
    time.sleep(60)  # never reads: pings go unanswered
elif mode == "wrong-name":
    plugin.name = "somebody-else"
    plugin.handshake()
    time.sleep(30)
elif mode == "forged-name":
    # A hello whose name forges a line of vigild's log and rewrites the terminal (issue 16).
    plugin.name = "x\n2026-12-06T00:00:00+0000 critical vigild : plugin quarantined\x1b[2J\x1b]0;owned\x07\u202e"
    plugin.handshake()
    time.sleep(30)
elif mode == "forged-version":
    # An accepted hello whose version forges log lines and rewrites the terminal.
    plugin.version = "1\n2026-12-06T00:00:00+0000 critical vigild : FORGED\x1b[2J\x1b]0;own\x07\u202e\r" + "V" * 100000
    def run(vigil):
        while not vigil.sleep(1):
            pass
    plugin.run_detector(run)
elif mode == "forged-detail-action":
    # An action whose result detail forges lines and terminal escapes in `vigil actions`.
    def act(request):
        return True, "done\nFORGED-LINE approved by root\x1b[31m\x1b]0;owned\x07\u202e" + "A" * 20000, {}
    plugin.run_action(act)
elif mode == "hello-then-events":
    # A refused hello (another plugin's name, or protocol 99 when the name argument ends in
    # "-version") with events, a log line and a second, correct hello behind it in the same write:
    # nothing after the refused hello may be acted on.
    def frame(message):
        data = json.dumps(message, separators=(",", ":")).encode("utf-8")
        return struct.pack(">I", len(data)) + data
    bad = {"type": "hello", "protocol": 1, "plugin": "somebody-else", "version": "test"}
    if name.endswith("-version"):
        bad = {"type": "hello", "protocol": 99, "plugin": name, "version": "test"}
    events = {"type": "events", "events": [{"name": "test_signal", "labels": {"why": "after-refused-hello"}},
                                           {"name": "test_metric", "value": 7}]}
    plugin._sock.sendall(frame(bad) + frame(events) + frame({"type": "log", "level": "critical", "message": "after-refused-hello"})
                         + frame({"type": "hello", "protocol": 1, "plugin": name, "version": "test"}) + frame(events))
    try:
        while plugin._sock.recv(65536):
            pass
    except OSError:
        pass
    time.sleep(30)
elif mode == "auth-burst":
    # The seed's authentication_failures rule (> 20 in 1 minute), labelled as if about the webhook.
    plugin.handshake()
    plugin.send({"type": "events", "events": [
        {"name": "authentication_failures", "labels": {"service": "webhook", "user": "u%d" % i}} for i in range(25)]})
    while True:
        message = plugin.receive()
        if message.get("type") == "ping":
            plugin.send({"type": "pong", "seq": message.get("seq", 0)})
        elif message.get("type") == "shutdown":
            break
elif mode == "echo-notifier":
    def deliver(request):
        message = request.get("message") or {}
        return True, "delivered " + message.get("title", ""), {"incident": request.get("incident")}
    plugin.run_notifier(deliver)
elif mode == "slow-notifier":
    def deliver(request):
        time.sleep(30)
        return True, "too late"
    plugin.run_notifier(deliver)
elif mode == "counting-notifier":
    # Reports how many requests it was answering at once (the SDK's worker pool bounds it).
    import threading
    lock = threading.Lock()
    state = {"active": 0, "most": 0}
    def deliver(request):
        with lock:
            state["active"] += 1
            state["most"] = max(state["most"], state["active"])
        time.sleep(0.05)
        with lock:
            state["active"] -= 1
            most = state["most"]
        return True, "most=%d threads=%d" % (most, threading.active_count())
    plugin.run_notifier(deliver)
elif mode == "slow-echo":
    def deliver(request):
        time.sleep(1.5)
        return True, "answered by %s" % name, {}
    plugin.run_notifier(deliver)
elif mode == "forge":
    # Sends what it did not declare or may not afford (refused, counted, tolerated); then keeps
    # reading, so the daemon's warning (a log frame) can be seen, and stays alive.
    plugin.handshake()
    refused = [
        {"name": "undeclared_signal"},
        {"name": "test_metric", "value": 3, "labels": dict(("l%d" % i, "v") for i in range(40))},
        {"name": "test_metric", "value": 4, "labels": {"big": "x" * 5000}},
        {"name": "test_signal", "labels": {"why": "honest"}},
    ]
    plugin.send({"type": "events", "events": refused})
    warnings = []
    while True:
        message = plugin.receive()
        if message.get("type") == "ping":
            plugin.send({"type": "pong", "seq": message.get("seq", 0)})
        elif message.get("type") == "log":
            warnings.append(message.get("message", ""))
            plugin.send({"type": "events", "events": [{"name": "test_metric", "value": 100 + len(warnings),
                                                       "labels": {"series": "warned"}}]})
        elif message.get("type") == "shutdown":
            break
elif mode == "impersonate":
    # Speaks as the daemon or for another plugin: forgery number N (the digits ending the
    # plugin's name), behind an honest event of the same frame; then goes on sending honest events.
    forgeries = [
        {"name": "plugin_isolation_breach_detected", "labels": {"syscall": "ptrace"}},
        {"name": "plugin_isolation_breach_detected", "labels": {"plugin": os.environ.get("VICTIM", "healthy")}},
        {"name": "plugin_quarantined", "labels": {"cause": "breach"}},
        {"name": "plugin_failure_rate", "value": 100},
        {"name": "unusual_system_call_patterns"},
        {"name": "eventbus_queue_depth", "value": 5000},
        {"name": "test_metric", "value": 1, "labels": {"plugin": "webhook"}},
        {"name": "test_metric", "value": 2, "labels": {"source": "vigild:breach-watcher"}},
        {"name": "test_metric", "value": 5, "labels": {"Plugin": "webhook"}},
        {"name": "test_metric", "value": 6, "labels": {"plugin_name": "webhook"}},
        {"name": "test_metric", "value": 7, "labels": {"SOURCE": "vigild:breach-watcher"}},
        {"name": "test_metric", "value": 8, "labels": {"__name__": "plugin_quarantined"}},
    ]
    digits = "".join(c for c in name if c.isdigit())
    forged = forgeries[int(digits or "0") % len(forgeries)]
    plugin.handshake()
    plugin.send({"type": "events", "events": [{"name": "test_signal", "labels": {"why": "honest"}}, forged]})
    while True:
        plugin.send({"type": "events", "events": [{"name": "test_signal", "labels": {"why": "after"}}]})
        time.sleep(0.05)
elif mode == "refuse-flood":
    plugin.handshake()
    while True:
        plugin.send({"type": "events", "events": [{"name": "undeclared_signal"}] * 200})
elif mode == "forge-results":
    # Answers requests it was never sent: the old, guessable ids of another notifier, and more.
    plugin.handshake()
    victim = os.environ.get("VICTIM", "victim")
    for n in range(1, 200):
        plugin.send({"type": "result", "id": "%s-%d" % (victim, n), "ok": False, "detail": "forged", "evidence": {}})
        plugin.send({"type": "result", "id": "req-%d" % n, "ok": False, "detail": "forged", "evidence": {}})
    time.sleep(60)
elif mode == "unique-labels":
    plugin.handshake()
    i = 0
    while True:
        plugin.send({"type": "events", "events": [
            {"name": "test_metric", "value": 1, "labels": {"series": "u%d-%s" % (i + k, "y" * 100)}} for k in range(100)]})
        i += 100
elif mode == "ping-no-read":
    # Pings the daemon as fast as it can and never reads a pong.
    plugin.handshake()
    frame = json.dumps({"type": "ping", "seq": 1}).encode()
    data = struct.pack(">I", len(frame)) + frame
    while True:
        plugin._sock.sendall(data * 64)
elif mode == "odd-times":
    plugin.handshake()
    plugin.send({"type": "events", "events": [
        {"name": "test_metric", "value": 1, "time": 1.0},
        {"name": "test_metric", "value": 2, "time": -9.2e9 + 1},
        {"name": "test_metric", "value": 3, "time": "2200-01-01T00:00:00Z"},
        {"name": "test_signal"}]})
    time.sleep(30)
elif mode == "log-flood":
    # Megabyte log lines with forged daemon lines and terminal escapes, as fast as it can.
    plugin.handshake()
    forged = "ok\n2026-12-04T10:00:00+0000 critical vigild: [VigilPluginHost] plugin quarantined\x1b[2J" + "z" * ((1 << 20) - 200)
    while True:
        plugin.send({"type": "log", "level": "critical", "message": forged})
elif mode == "ioctl-storm":
    # A watched syscall (ioctl) in a loop: each one is a round trip through the daemon.
    import fcntl, termios
    plugin.handshake()
    buf = bytearray(4)
    while True:
        fcntl.ioctl(3, termios.FIONREAD, buf)
elif mode == "spin":
    # Both cores, for ever: a child and the plugin itself spin.
    plugin.handshake()
    os.fork()
    while True:
        pass
elif mode == "half-close":
    # Half a frame, then the write side shut: the process lives on, silent.
    import socket
    plugin.handshake()
    plugin._sock.sendall(struct.pack(">I", 100) + b'{"type": "ev')
    plugin._sock.shutdown(socket.SHUT_WR)
    while True:
        time.sleep(60)
elif mode == "fsize":
    # One write far past the file size limit, in /tmp (sparse: no space needed).
    plugin.handshake()
    with open("/tmp/big", "wb") as f:
        f.seek(1 << 40)
        f.write(b"x")
        f.flush()
    sys.stderr.write("fsize SURVIVED\n")
    while True:
        message = plugin.receive()
        if message.get("type") == "ping":
            plugin.send({"type": "pong", "seq": message.get("seq")})
elif mode == "fork-hold":
    # Forks until refused, every child kept asleep: held at the limit, never crashing.
    plugin.handshake()
    children = 0
    while True:
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            while True:
                time.sleep(60)
        children += 1
    while True:
        message = plugin.receive()
        if message.get("type") == "ping":
            plugin.send({"type": "pong", "seq": message.get("seq", 0)})
elif mode == "stderr-lines":
    # Short stderr lines with escapes, as fast as it can (not one log frame).
    plugin.handshake()
    chunk = ("ok \x1b[2J forged vigild line\n" * 2000).encode()
    while True:
        os.write(2, chunk)
elif mode == "stderr-chunks":
    # Megabyte stderr writes with no newline at all.
    plugin.handshake()
    chunk = b"z" * (1 << 20)
    while True:
        os.write(2, chunk)
elif mode == "deep-nesting":
    # A frame nested a hundred thousand levels deep, inside and outside the events array.
    plugin.handshake()
    depth = 100000
    for body in (b'{"type":"log","message":"x","extra":' + b"[" * depth + b"]" * depth + b"}",
                 b'{"type":"events","events":[{"name":"test_metric","value":1,"labels":' + b'{"a":' * depth + b'"x"' + b"}" * depth + b"}]}"):
        plugin._sock.sendall(struct.pack(">I", len(body)) + body)
    time.sleep(30)
else:
    sys.stderr.write("unknown mode %s\n" % mode)
    sys.exit(64)
