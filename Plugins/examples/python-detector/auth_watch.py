#!/usr/bin/env python3
"""auth-watch: an example detector in Python (Docs/plugin-authoring.md walks through it).

Follows an authentication log (sshd, sudo, PAM) and sends one `authentication_failures` signal
per failed attempt, labelled with the service, so the seed rule
`authentication_failures > 20 in 1 minute` can fire. It also reports how many lines it read.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk", "python"))
import vigil_plugin  # noqa: E402

FAILURE = re.compile(r"(Failed password|authentication failure|Invalid user|FAILED SU)", re.IGNORECASE)
SERVICE = re.compile(r"\s([\w.-]+)(?:\[\d+\])?:\s")


def run(vigil):
    path = vigil.config.get("log", "/var/log/auth.log")
    interval = float(vigil.config.get("interval_seconds", 1))
    position = os.path.getsize(path) if os.path.exists(path) else 0  # only what happens from now on
    read = 0
    while not vigil.stopping.is_set():
        try:
            size = os.path.getsize(path)
            if size < position:  # rotated or truncated: start over
                position = 0
            with open(path, "r", errors="replace") as log:
                log.seek(position)
                for line in log:
                    read += 1
                    if FAILURE.search(line):
                        service = SERVICE.search(line)
                        vigil.signal("authentication_failures",
                                     labels={"service": service.group(1) if service else "unknown"})
                position = log.tell()
        except FileNotFoundError:
            position = 0
        vigil.metric("auth_log_lines_read", read)
        vigil.flush()
        vigil.sleep(interval)


vigil_plugin.Plugin("auth-watch", "1.0").run_detector(run)
