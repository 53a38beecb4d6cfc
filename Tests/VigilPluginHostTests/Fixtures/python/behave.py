#!/usr/bin/env python3
"""A test plugin whose behaviour is chosen by its first argument (see PluginHostTests)."""
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
else:
    sys.stderr.write("unknown mode %s\n" % mode)
    sys.exit(64)
