#!/usr/bin/env python3
"""The scenarios' detector: a real plugin whose readings come from files the scenario writes,
the way a detector reads /proc. Every `interval_seconds` it emits each metric of
`metrics.json` ({"cpu_usage": {"value": 95, "unit": "%", "labels": {}}, ...}); every line added
to `signals.ndjson` ({"name": ..., "labels": {...}, "repeat": N}) is emitted once (N times)."""
import json
import os
import sys

sys.path.insert(0, os.environ["VIGIL_SDK"])
import vigil_plugin  # noqa: E402


def run(vigil):
    folder = vigil.config["folder"]
    interval = float(vigil.config.get("interval_seconds", 0.25))
    metrics_path = os.path.join(folder, "metrics.json")
    signals_path = os.path.join(folder, "signals.ndjson")
    consumed = 0
    while not vigil.stopping.is_set():
        try:
            with open(metrics_path) as f:
                metrics = json.load(f)
        except (OSError, ValueError):
            metrics = {}
        for name, m in metrics.items():
            vigil.metric(name, m["value"], unit=m.get("unit"), labels=m.get("labels"))
        try:
            with open(signals_path) as f:
                lines = f.read().splitlines()
        except OSError:
            lines = []
        for line in lines[consumed:]:
            if line.strip():
                s = json.loads(line)
                for _ in range(int(s.get("repeat", 1))):
                    vigil.signal(s["name"], labels=s.get("labels"))
        consumed = len(lines)
        vigil.flush()
        vigil.sleep(interval)


vigil_plugin.Plugin(sys.argv[1] if len(sys.argv) > 1 else "host-probe", "1.0").run_detector(run)
