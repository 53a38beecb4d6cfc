#!/usr/bin/env python3
"""uptime-checks: probes configured endpoints — HTTP(S), TCP and WebSocket — each on its own
interval with a timeout, and reports `uptime_check_up`, `network_latency` and the TLS certificate's
days left, so the rules open an outage incident when an endpoint stops answering and clear it when
it answers again. See Docs/detectors/uptime-checks.md."""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "sdk", "python"))
import vigil_plugin  # noqa: E402
import uptime_config  # noqa: E402
import uptime_probes  # noqa: E402
from uptime_report import Reporter  # noqa: E402
from uptime_scheduler import Scheduler  # noqa: E402

VERSION = "1.0"


def broker_present():
    """Whether vigild brokers this plugin's connections (fd 5): then only the destinations declared
    under sandbox.egress may be asked for, and asking for another is an isolation breach."""
    sock = vigil_plugin._egress_socket()
    if sock is None:
        return False
    sock.close()
    return True


def declared_egress(log):
    """The manifest's egress destinations when brokered, None when the plugin connects itself."""
    if not broker_present():
        return None
    path = os.path.join(HERE, "plugin.yaml")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read(1 << 20)
    except OSError as error:
        log("cannot read %s (%s): no check can be run safely" % (path, error.strerror), "error")
        return set()
    return uptime_config.manifest_egress(text) or set()


def run(vigil):
    if hasattr(vigil_plugin, "_small_threads"):
        vigil_plugin._small_threads()
    checks, errors = uptime_config.load(vigil.config)
    for line in errors:
        vigil.log(line, "error")
    egress = declared_egress(vigil.log)
    allowed = []
    for check in checks:
        if uptime_config.declared(check, egress):
            allowed.append(check)
        else:
            vigil.log("checks[%d] (%s): %s:%d is not declared under sandbox.egress in plugin.yaml; add \"%s:%d\" there "
                      "(within the policy's grant) — this check is not run" % (
                          check.index, check.name, check.host, check.port,
                          "[%s]" % check.host if ":" in check.host else check.host, check.port), "error")
    if not allowed:
        vigil.log("no checks to run (config.checks is empty%s): idle; see Docs/detectors/uptime-checks.md"
                  % (" or every check was refused" if checks or errors else ""), "info")
        while not vigil.sleep(3600):
            pass
        return
    workers = uptime_config.workers(vigil.config, allowed)
    vigil.log("running %d check(s) on %d worker(s): %s" % (
        len(allowed), workers, ", ".join("%s (%s, every %gs)" % (c.name, c.kind, c.interval) for c in allowed[:20])), "info")
    reporter = Reporter(vigil.metric, vigil.log)

    def probe(check):
        return uptime_probes.run_probe(check, vigil_plugin.connect, time.monotonic, time.time, egress)

    Scheduler(allowed, probe, reporter.record, workers, vigil.log).run(vigil.sleep)


if __name__ == "__main__":
    vigil_plugin.Plugin("uptime-checks", VERSION).run_detector(run)
