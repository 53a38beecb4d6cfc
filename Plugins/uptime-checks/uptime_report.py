"""What a probe's outcome becomes: events for the rules (see Docs/detectors/uptime-checks.md) and
log lines — one when a check's state or failure reason changes, not one per probe."""


class Reporter:
    """`metric(name, value, unit=, labels=, time=)` and `log(message, level=)` are the SDK's."""

    def __init__(self, metric, log):
        self.metric = metric
        self.log = log
        self._state = {}  # check name -> (up, reason)
        self._failures = {}  # check name -> consecutive failed probes
        self._expiring = {}  # check name -> whether the certificate was last seen expiring

    def record(self, check, outcome, at):
        labels = {"check": check.name, "kind": check.kind, "target": check.target, "component": check.component}
        self.metric("uptime_check_up", 1 if outcome.up else 0, labels=labels, time=at)
        short = {"check": check.name, "kind": check.kind, "target": check.target}
        if outcome.latency_ms is not None:
            self.metric("network_latency", round(outcome.latency_ms, 3), unit="ms", labels=short, time=at)
        if outcome.cert_days is not None:
            self._certificate(check, outcome.cert_days, at)
        self._log(check, outcome)

    def _certificate(self, check, days, at):
        labels = {"check": check.name, "target": check.target}
        expiring = days < check.tls_warn_days
        self.metric("tls_certificate_expiry_days", round(days, 3), labels=labels, time=at)
        self.metric("tls_certificate_expiring", 1 if expiring else 0, labels=labels, time=at)
        if expiring != self._expiring.get(check.name, False):
            if expiring:
                self.log("check %s (%s): the TLS certificate %s (tls_warn_days: %g)" % (
                    check.name, check.target,
                    "expired %.1f day(s) ago" % -days if days < 0 else "expires in %.1f day(s)" % days,
                    check.tls_warn_days), "warning")
            else:
                self.log("check %s (%s): the TLS certificate is valid for %.1f more day(s)" % (
                    check.name, check.target, days), "info")
        self._expiring[check.name] = expiring

    def _log(self, check, outcome):
        name = check.name
        before = self._state.get(name)
        what = "check %s (%s %s)" % (name, check.kind, check.target)
        timing = " in %.0f ms" % outcome.latency_ms if outcome.latency_ms is not None else ""
        if outcome.up:
            failures = self._failures.pop(name, 0)
            if before is None:
                self.log("%s is up: %s%s" % (what, outcome.detail, timing), "info")
            elif not before[0]:
                self.log("%s is up again after %d failed probe(s): %s%s" % (what, failures, outcome.detail, timing), "info")
        else:
            self._failures[name] = self._failures.get(name, 0) + 1
            if before is None or before[0] or before[1] != outcome.reason:
                self.log("%s is down: %s: %s" % (what, outcome.reason, outcome.detail), "warning")
        self._state[name] = (outcome.up, outcome.reason)
