#!/usr/bin/env python3
"""disable_external_connections: an nftables table that drops every *new* outbound connection
of the host except to loopback and an allow-list; established connections keep working.
enable_external_connections (its undo) deletes the table.

This plugin holds no capability and has no network: it decides, vigild applies. It answers with
an `nftables` request in its evidence; vigild checks it (only table inet vigil_containment, only
addresses and ports to allow), writes the ruleset itself and runs nft (Docs/containment.md).
A dry run is checked with `nft --check` by vigild and changes nothing."""
import ipaddress
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk", "python"))
import vigil_plugin  # noqa: E402

plugin = vigil_plugin.Plugin("network-containment", "1.0")


def act(request):
    action = request.get("action")
    params = request.get("params") or {}
    if action == "disable_external_connections":
        allow = vigil_plugin.as_list(plugin.config.get("allow")) + vigil_plugin.as_list(params.get("allow"))
        networks = [str(ipaddress.ip_network(item, strict=False)) for item in allow]  # a bad address fails here, with its text
        return True, "", {
            "nftables": {"op": "contain", "allow": networks},
            "allow": networks,
            "undo": {"action": "enable_external_connections", "params": {}},
        }
    if action == "enable_external_connections":
        return True, "", {"nftables": {"op": "release"}}
    return False, "unknown action %r; this plugin does disable_external_connections and enable_external_connections" % action


plugin.run_action(act)
