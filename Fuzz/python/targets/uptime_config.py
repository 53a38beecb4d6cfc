"""Fuzz target: uptime-checks' configuration (Plugins/uptime-checks/uptime_config.py): `config.checks`
from JSON and the `sandbox.egress` list read from plugin.yaml's text.

`fuzz(data)` never raises; an AssertionError is a real bug: a check accepted with a label value the
daemon would refuse (a name or target past its bounds), a timeout longer than its interval, or an
egress destination that is not a host and a port."""
import json
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                                "Plugins", "uptime-checks")))
import uptime_config  # noqa: E402


def fuzz(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    try:
        config = json.loads(text)
    except (ValueError, RecursionError):
        config = {"checks": [{"name": "x", "url": text}, {"name": "y", "kind": "tcp", "host": text, "port": 80}]}
    checks, errors = uptime_config.load(config)
    assert len(checks) <= uptime_config.MAX_CHECKS
    names = set()
    for check in checks:
        assert uptime_config.NAME.match(check.name)
        assert check.name not in names
        names.add(check.name)
        assert len(check.target) <= 300 and "\n" not in check.target
        assert 0 < check.timeout <= check.interval <= uptime_config.MAX_INTERVAL
        assert 1 <= check.port <= 65535
        assert check.kind in uptime_config.KINDS
    for line in errors:
        assert isinstance(line, str) and len(line) < 2000
    egress = uptime_config.manifest_egress(text)
    if egress is not None:
        for host, port in egress:
            assert uptime_config.is_host(host) and 1 <= port <= 65535
