#!/usr/bin/env python3
"""Times the log-patterns detector's real follow+match path over a file: the plugin's own
Detector (Plugins/log-patterns/log_patterns.py) with its bundled patterns, following FILE from
its start (as it does a file that appears after it started) until every line is read, with the
counts it would send collected in memory instead of the socket. Prints `vigil_lines_per_s N`,
the lines read and what each event counted."""
import os
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "Plugins", "log-patterns"))
import log_patterns  # noqa: E402

path = sys.argv[1]
expected_lines = int(sys.argv[2])
counted = {}
read = [0]


def emit(name, value, labels):
    if name == "log_lines_read":
        read[0] += value
    else:
        counted[name] = counted.get(name, 0) + value


def log(message, level="info", key=None):
    if level != "info":
        sys.stderr.write("log-patterns %s: %s\n" % (level, message))


with tempfile.TemporaryDirectory() as data:
    settings = log_patterns.Settings({"files": [path], "start_at_end": False, "journal": False}, log)
    detector = log_patterns.Detector(settings, log, emit, data, allowed=log_patterns.declared_events())
    start = time.perf_counter()
    while True:
        busy = detector.step()
        if not busy and detector.matcher.lines + read[0] >= expected_lines:
            break
    detector.flush()
    elapsed = time.perf_counter() - start
    detector.close()
print("lines_read %d" % read[0])
for name, value in sorted(counted.items()):
    print("counted %s %d" % (name, value))
print("seconds %.3f" % elapsed)
print("vigil_lines_per_s %d" % (read[0] / elapsed))
