#!/usr/bin/env python3
"""file-integrity: raises `configuration_tampering_detected` when a watched file or folder
changes (content, mode or owner, created, deleted, replaced by another type), with the path and
the old and new SHA-256, against a baseline kept in the plugin's data folder.

See Docs/detectors/file-integrity.md.
"""
import os
import select
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "sdk", "python"))
import vigil_plugin  # noqa: E402

import integrity_settings  # noqa: E402
from integrity_monitor import SIGNAL, Monitor  # noqa: E402


def run(vigil):
    settings, problems = integrity_settings.parse(vigil.config, HERE)
    for line in problems:
        vigil.log(line, "warning")
    data = vigil.data_dir or "/tmp"
    if not vigil.data_dir:
        vigil.log("VIGIL_DATA_DIR is not set: the baseline lives in /tmp and is lost at every start", "error")
    monitor = Monitor(settings, os.path.join(data, "baseline.json"),
                      report=lambda labels: (vigil.signal(SIGNAL, labels=labels), vigil.flush()),
                      log=lambda level, message: vigil.log(message, level),
                      clock=time.monotonic)
    monitor.start()
    publish(vigil, monitor)
    next_metrics = time.monotonic() + settings.metrics_seconds
    poller = select.poll()
    if monitor.fileno() is not None:
        poller.register(monitor.fileno(), select.POLLIN)
    while not vigil.stopping.is_set():
        # At most a second between looks at `stopping`; sooner when a path settles.
        timeout = min(1.0, monitor.next_wakeup(), max(0.0, next_metrics - time.monotonic()))
        if poller.poll(int(timeout * 1000) + 1):
            monitor.read_events()
        monitor.run_due()
        if time.monotonic() >= next_metrics:
            publish(vigil, monitor)
            next_metrics = time.monotonic() + settings.metrics_seconds
    monitor.close()


def publish(vigil, monitor):
    stats = monitor.stats()
    vigil.metric("file_integrity_watched_files", stats["files"])
    vigil.metric("file_integrity_watched_folders", stats["folders"])
    vigil.metric("file_integrity_unreadable_paths", stats["unreadable"])
    vigil.flush()


if __name__ == "__main__":
    vigil_plugin.Plugin("file-integrity", "1.0").run_detector(run)
