# Sourced by benchmarks that need a real vigild (Benchmarks/console, Benchmarks/report): a
# release vigild with its state in a scratch folder under /var/tmp, on the shipped configuration
# (Config/vigil.yaml, paths made absolute) changed only where a benchmark needs it:
#   - alerting: every alert its own incident (group_by ['...']); severity from the alert's
#     `severity` label, component from its `component` label, as shipped;
#   - the plugins folder holds sdk, email (its local spool, as shipped: every page is delivered)
#     and webhook;
#   - HTTP on loopback (PORT, 0: any free one; the bound address from STATE/http.address).
# After `scratch_vigild_start NAME PORT`: $repo, $bin (release binaries), $work (the scratch
# folder), $address (HOST:PORT), $vigild_pid, and $work/sender.token and $work/responder.token.
# `scratch_vigild_stop` stops vigild (SIGTERM: it stops its plugins; SIGKILL after 15 s);
# `scratch_vigild_cleanup KEEP` stops it and removes the folder unless KEEP is set.

scratch_vigild_stop() {
    [ -n "${vigild_pid:-}" ] || return 0
    kill -TERM "$vigild_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$vigild_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$vigild_pid" 2>/dev/null || true
    wait "$vigild_pid" 2>/dev/null || true
    vigild_pid=""
}

scratch_vigild_cleanup() {
    scratch_vigild_stop
    [ -n "${work:-}" ] || return 0
    if [ -n "${1:-}" ]; then echo "scratch folder kept: $work"; else rm -rf "$work"; fi
}

scratch_vigild_start() {
    local name="$1" port="$2" py=/usr/bin/python3
    repo="$PWD"
    [ "$(id -u)" -eq 0 ] || { echo "$name needs root (vigild's plugins run under vigil-sandbox)"; return 1; }
    if [ "$port" != "0" ] && ss -Hltn "sport = :$port" | grep -q .; then
        echo "$name: port $port is already in use"; return 1
    fi
    swift build -c release --product vigild >/dev/null
    swift build -c release --product vigil-sandbox >/dev/null
    swift build -c release --product vigil >/dev/null
    bin="$(swift build -c release --show-bin-path)"

    work="$(mktemp -d "/var/tmp/vigil-$name.XXXXXX")"
    chmod 0755 "$work"
    vigild_pid=""
    mkdir -p "$work/plugins" "$work/state"
    cp -r Plugins/sdk Plugins/email Plugins/webhook "$work/plugins/"
    "$py" - "$repo" "$work" "$name" <<'PY'
import sys
repo, out, name = sys.argv[1], sys.argv[2], sys.argv[3]
cfg = repo + "/Config"
text = open(cfg + "/vigil.yaml").read()
for old, new in [("files: [detection-rules.yaml, operator-rules.yaml]", "files: [%s/detection-rules.yaml, %s/operator-rules.yaml]" % (cfg, cfg)),
                 ("file: containment-rules.yaml", "file: %s/containment-rules.yaml" % cfg),
                 ("directory: templates", "directory: %s/templates" % cfg), ("directory: runbooks", "directory: %s/runbooks" % cfg),
                 ("directories: [../Plugins]", "directories: [%s/plugins]" % out),
                 ("read_paths: [../Plugins/sdk]", "read_paths: [%s/plugins/sdk]" % out), ("sandbox_profiles: ../Sandbox", "sandbox_profiles: %s/Sandbox" % repo)]:
    if text.count(old) != 1:
        sys.exit("%s: Config/vigil.yaml no longer has exactly one %r" % (name, old))
    text = text.replace(old, new)
text += """
alerting:
  group_by: ['...']
"""
open(out + "/vigil.yaml", "w").write(text)
PY

    "$bin/vigild" --config "$work/vigil.yaml" --state-dir "$work/state" --http-listen "127.0.0.1:$port" >"$work/vigild.log" 2>&1 &
    vigild_pid=$!

    address=""
    local ok=""
    for _ in $(seq 1 150); do
        [ -z "$address" ] && [ -s "$work/state/http.address" ] && address="$(head -1 "$work/state/http.address")"
        if [ -n "$address" ] && curl -s -m 2 -o /dev/null -w '%{http_code}' "http://$address/-/ready" | grep -q 200; then ok=1; break; fi
        kill -0 "$vigild_pid" 2>/dev/null || break
        sleep 0.2
    done
    [ -n "$ok" ] || { echo "$name: vigild did not start:"; tail -20 "$work/vigild.log"; return 1; }

    scratch_vigil tokens create --role sender --person bench-sender >"$work/sender.token" 2>>"$work/vigil-cli.log"
    scratch_vigil tokens create --role responder --person bench-responder >"$work/responder.token" 2>>"$work/vigil-cli.log"
}

scratch_vigil() { timeout -k 5 30 "$bin/vigil" --state-dir "$work/state" "$@"; }
