#!/usr/bin/env python3
"""Breach-to-incident latency, part of `make bench-plugins`: a real vigild (release) runs N
plugins that each attempt one syscall outside their profile (`socket(AF_INET)` with no network
declared). For every breach incident, latency = created_at (the incident row committed to SQLite)
- detected_at (the instant the breach watcher received the seccomp notification, while the
plugin's syscall was held). Prints `breach_to_incident_p50_ms N` and `..._p99_ms N`."""
import datetime, json, os, re, shutil, subprocess, sys, tempfile, time

bin_dir, repo = sys.argv[1], os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
count = int(os.environ.get("PLUGIN_BENCH_BREACHES", "40"))
root = tempfile.mkdtemp(prefix="vigil-breach-", dir="/run")
os.chmod(root, 0o755)
plugins, state = os.path.join(root, "plugins"), os.path.join(root, "state")
os.makedirs(plugins)
hostile = os.path.join(root, "hostile")
subprocess.run(["cc", "-O2", "-o", hostile, os.path.join(repo, "Tests/VigilPluginHostTests/Fixtures/hostile/hostile.c")], check=True)
for i in range(count):
    d = os.path.join(plugins, "breach-%02d" % i)
    os.makedirs(d)
    shutil.copy(hostile, os.path.join(d, "hostile"))
    with open(os.path.join(d, "plugin.yaml"), "w") as f:
        f.write("name: breach-%02d\nkind: detector\nemits: [bench_metric]\nexec: hostile\nargs: [tcp-socket]\nprotocol: 1\n"
                "sandbox: { env: { VIGIL_PROTOCOL: \"1\", VIGIL_PLUGIN_NAME: breach-%02d } }\n" % (i, i))
config = open(os.path.join(repo, "Config/vigil.yaml")).read()
cfg = os.path.join(repo, "Config")
for old, new in [("files: [detection-rules.yaml, operator-rules.yaml]", "files: [%s/detection-rules.yaml, %s/operator-rules.yaml]" % (cfg, cfg)),
                 ("file: containment-rules.yaml", "file: %s/containment-rules.yaml" % cfg),
                 ("directory: templates", "directory: %s/templates" % cfg), ("directory: runbooks", "directory: %s/runbooks" % cfg),
                 ("directories: [../Plugins]", "directories: [%s]" % plugins), ("sandbox_profiles: ../Sandbox", "sandbox_profiles: %s/Sandbox" % repo)]:
    config = config.replace(old, new)
if os.environ.get("PLUGIN_BENCH_CONTAINMENT") == "manual":
    config = config.replace("  file: %s/containment-rules.yaml\n" % cfg, "  file: %s/containment-rules.yaml\n  start: manual\n" % cfg)
with open(os.path.join(root, "vigil.yaml"), "w") as f:
    f.write(config)
log = open(os.path.join(root, "vigild.log"), "w")
daemon = subprocess.Popen([os.path.join(bin_dir, "vigild"), "--config", os.path.join(root, "vigil.yaml"), "--state-dir", state],
                          stdout=log, stderr=log)


def incidents():
    r = subprocess.run([os.path.join(bin_dir, "vigil"), "incidents", "list", "--json", "--state-dir", state], capture_output=True, text=True)
    return json.loads(r.stdout) if r.returncode == 0 else []


def stamp(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


latencies = []
try:
    deadline = time.time() + 120
    found = []
    while time.time() < deadline:
        found = [i for i in incidents() if i.get("fingerprint", "").startswith("security_events.plugin_isolation_breach_detected")]
        if len(found) >= count:
            break
        # The latency is read from the database (created_at - detected_at), not from this poll: poll
        # rarely, so the harness does not compete with the daemon for the two cores.
        time.sleep(1.0)
    latencies = sorted(stamp(i["created_at"]) - stamp(i["detected_at"]) for i in found)
    if not latencies:
        sys.exit("no breach incident opened; see %s/vigild.log" % root)
    p = lambda q: latencies[min(len(latencies) - 1, int(round((len(latencies) - 1) * q)))]
    print("breach_incidents %d" % len(latencies))
    print("breach_to_incident_p50_ms %.3f" % p(0.5))
    print("breach_to_incident_p99_ms %.3f" % p(0.99))
    if os.environ.get("PLUGIN_BENCH_VERBOSE"):
        print("latencies_ms " + " ".join("%.0f" % x for x in latencies))
        # detected:created per breach, ms after the first breach: shows bursts and their queueing.
        t0 = min(stamp(i["detected_at"]) for i in found)
        print("timeline_ms " + " ".join("%.0f:%.0f" % (stamp(i["detected_at"]) - t0, stamp(i["created_at"]) - t0)
                                          for i in sorted(found, key=lambda i: i["detected_at"])))
finally:
    daemon.terminate()
    daemon.wait(timeout=30)
    if latencies: shutil.rmtree(root, ignore_errors=True)
