#!/usr/bin/env python3
"""disable_external_connections: an nftables table that drops every *new* outbound connection
of the host except to loopback and an allow-list; established connections keep working.
enable_external_connections (its undo) deletes the table. dry_run checks the ruleset with
`nft --check` and changes nothing."""
import ipaddress
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk", "python"))
import vigil_plugin  # noqa: E402

TABLE = "vigil_containment"
plugin = vigil_plugin.Plugin("network-containment", "1.0")


def nft(args, text=None):
    binary = plugin.config.get("nft", "/usr/sbin/nft")
    done = subprocess.run([binary] + args, input=text, capture_output=True, text=True, timeout=20)
    return done.returncode, (done.stdout + done.stderr).strip()


def ruleset(allow):
    v4 = [a for a in allow if ipaddress.ip_network(a, strict=False).version == 4]
    v6 = [a for a in allow if ipaddress.ip_network(a, strict=False).version == 6]
    lines = [
        "table inet %s {" % TABLE,
        "  chain output {",
        "    type filter hook output priority 0; policy accept;",
        "    ct state established,related accept",
        '    oifname "lo" accept',
    ]
    if v4:
        lines.append("    ip daddr { %s } accept" % ", ".join(v4))
    if v6:
        lines.append("    ip6 daddr { %s } accept" % ", ".join(v6))
    lines += ["    ct state new counter drop", "  }", "}"]
    return "\n".join(lines) + "\n"


def act(request):
    action = request.get("action")
    params = request.get("params") or {}
    dry = bool(request.get("dry_run"))
    if action == "disable_external_connections":
        allow = vigil_plugin.as_list(plugin.config.get("allow")) + vigil_plugin.as_list(params.get("allow"))
        for item in allow:
            ipaddress.ip_network(item, strict=False)  # a bad address fails the action, with its text
        text = ruleset(allow)
        code, out = nft(["--check", "-f", "-"], text)
        if code != 0:
            return False, "nft refused the ruleset: " + out, {"ruleset": text}
        if dry:
            return True, "would drop new outbound connections except loopback and %d allowed address(es)" % len(allow), {
                "ruleset": text, "dry_run": True}
        nft(["delete", "table", "inet", TABLE])  # idempotent: start from a clean table
        code, out = nft(["-f", "-"], text)
        if code != 0:
            return False, "nft failed: " + out, {"ruleset": text}
        _, listing = nft(["list", "table", "inet", TABLE])
        return True, "new outbound connections dropped except loopback and %d allowed address(es)" % len(allow), {
            "ruleset": listing, "allow": allow, "undo": {"action": "enable_external_connections", "params": {}}}
    if action == "enable_external_connections":
        code, out = nft(["list", "table", "inet", TABLE])
        if code != 0:
            return True, "no containment table: outbound connections were not restricted", {"present": False}
        if dry:
            return True, "would delete table inet %s" % TABLE, {"ruleset": out, "dry_run": True}
        code, out2 = nft(["delete", "table", "inet", TABLE])
        if code != 0:
            return False, "nft failed: " + out2, {}
        return True, "outbound connections restored (table inet %s deleted)" % TABLE, {"removed": out}
    return False, "unknown action %r; this plugin does disable_external_connections and enable_external_connections" % action


plugin.run_action(act)
