#!/usr/bin/env python3
"""Storage containment for configured paths (params.paths or config.paths):

- isolate_affected_storage: `chattr +i` (immutable: no write, rename or delete, even by root);
  undo: release_affected_storage (`chattr -i`).
- enable_read_only_mode: removes every write bit below the paths, recording each mode;
  undo: restore_write_mode with the recorded modes.
- stop_write_operations: runs config.stop_command; "not available" without one.
Every action honours dry_run."""
import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk", "python"))
import vigil_plugin  # noqa: E402

plugin = vigil_plugin.Plugin("storage-containment", "1.0")


def paths_of(params):
    paths = vigil_plugin.as_list(params.get("paths")) or vigil_plugin.as_list(plugin.config.get("paths"))
    for p in paths:
        if not os.path.isabs(p):
            raise ValueError("path %r is not absolute" % p)
    return paths


def walk(paths):
    for root in paths:
        yield root
        if os.path.isdir(root) and not os.path.islink(root):
            for folder, dirs, files in os.walk(root):
                for name in dirs + files:
                    full = os.path.join(folder, name)
                    if not os.path.islink(full):
                        yield full


def chattr(flag, paths):
    argv = ["/usr/bin/chattr", "-R", flag] + paths
    done = subprocess.run(argv, capture_output=True, text=True, timeout=50)
    return done.returncode, (done.stdout + done.stderr).strip()


def act(request):
    action = request.get("action")
    params = request.get("params") or {}
    dry = bool(request.get("dry_run"))
    if action == "stop_write_operations":
        command = list(plugin.config.get("stop_command") or [])
        if not command:
            return True, "not available: no stop command is configured (config.stop_command)", {"available": False}
        if dry:
            return True, "would run %s" % " ".join(command), {"command": command, "dry_run": True}
        done = subprocess.run(command, capture_output=True, text=True, timeout=50)
        return done.returncode == 0, "%s exited with %d" % (command[0], done.returncode), {
            "command": command, "output": (done.stdout + done.stderr)[-2000:]}
    paths = paths_of(params)
    if not paths:
        return True, "not available: no storage path is configured (config.paths)", {"available": False}
    missing = [p for p in paths if not os.path.lexists(p)]
    if missing:
        return False, "not in this plugin's view (add to write_paths): %s" % ", ".join(missing), {"missing": missing}
    if action in ("isolate_affected_storage", "release_affected_storage"):
        flag = "+i" if action == "isolate_affected_storage" else "-i"
        if dry:
            return True, "would run chattr -R %s on %s" % (flag, ", ".join(paths)), {"paths": paths, "dry_run": True}
        code, out = chattr(flag, paths)
        if code != 0:
            return False, "chattr %s failed: %s" % (flag, out), {"paths": paths}
        evidence = {"paths": paths}
        if flag == "+i":
            evidence["undo"] = {"action": "release_affected_storage", "params": {"paths": paths}}
        return True, "%s %s" % ("made immutable:" if flag == "+i" else "no longer immutable:", ", ".join(paths)), evidence
    if action == "enable_read_only_mode":
        modes = {}
        for path in walk(paths):
            mode = stat.S_IMODE(os.lstat(path).st_mode)
            if mode & 0o222:
                modes[path] = mode
        if dry:
            return True, "would remove write permission from %d file(s) under %s" % (len(modes), ", ".join(paths)), {
                "count": len(modes), "dry_run": True}
        for path, mode in modes.items():
            os.chmod(path, mode & ~0o222)
        return True, "write permission removed from %d file(s) under %s" % (len(modes), ", ".join(paths)), {
            "count": len(modes), "undo": {"action": "restore_write_mode", "params": {"modes": {p: oct(m) for p, m in modes.items()}}}}
    if action == "restore_write_mode":
        modes = params.get("modes") or {}
        if dry:
            return True, "would restore the modes of %d file(s)" % len(modes), {"dry_run": True}
        restored = 0
        for path, mode in modes.items():
            if os.path.lexists(path):
                os.chmod(path, int(mode, 8))
                restored += 1
        return True, "restored the modes of %d file(s)" % restored, {"restored": restored}
    return False, "unknown action %r" % action


plugin.run_action(act)
