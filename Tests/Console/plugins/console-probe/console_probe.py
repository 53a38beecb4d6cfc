#!/usr/bin/env python3
"""console-probe: the console tests' detector.

Every `interval_seconds` it lists the folder `config.triggers` and sends one `console_probe`
signal for each file it has not seen before, labelled `case` with the file's name. The names it
has seen are kept in its data folder, so a restart does not raise them again.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk", "python"))
import vigil_plugin  # noqa: E402


def run(vigil):
    folder = vigil.config.get("triggers", "/nonexistent")
    interval = float(vigil.config.get("interval_seconds", 0.1))
    ledger = os.path.join(vigil.data_dir or "/tmp", "seen")
    try:
        with open(ledger) as f:
            seen = set(f.read().split())
    except OSError:
        seen = set()
    vigil.log("watching %s (%d case(s) already seen)" % (folder, len(seen)))
    while not vigil.stopping.is_set():
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            names = []
        new = [n for n in names if n not in seen and not n.startswith(".")]
        for name in new:
            vigil.signal("console_probe", labels={"case": name})
            seen.add(name)
        if new:
            with open(ledger, "a") as f:
                f.write("".join(n + "\n" for n in new))
        vigil.flush()
        vigil.sleep(interval)


vigil_plugin.Plugin("console-probe", "1.0").run_detector(run)
