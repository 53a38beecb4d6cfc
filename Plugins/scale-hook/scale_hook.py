#!/usr/bin/env python3
"""scale_resources_if_available: runs the configured command (with the incident id as its last
argument); without one it answers "not available" and changes nothing."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk", "python"))
import vigil_plugin  # noqa: E402

plugin = vigil_plugin.Plugin("scale-hook", "1.0")


def act(request):
    if request.get("action") != "scale_resources_if_available":
        return False, "unknown action %r; this plugin does scale_resources_if_available" % request.get("action")
    command = list(plugin.config.get("command") or [])
    if not command:
        return True, "not available: no scale command is configured (config.command of the scale-hook plugin)", {
            "available": False}
    incident = (request.get("incident") or {}).get("id", "")
    argv = command + ([incident] if incident else [])
    if request.get("dry_run"):
        return True, "would run %s" % " ".join(argv), {"available": True, "command": argv, "dry_run": True}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=float(plugin.config.get("timeout_seconds", 45)))
    output = (done.stdout + done.stderr).strip()[-2000:]
    return done.returncode == 0, "%s exited with %d" % (argv[0], done.returncode), {
        "available": True, "command": argv, "exit_code": done.returncode, "output": output}


plugin.run_action(act)
