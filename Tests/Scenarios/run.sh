#!/usr/bin/env bash
# make scenario NAME=...: runs one end-to-end scenario (the same test `make test` runs) and shows
# its narration: each step, the vigil commands it runs and their real output.
# Without NAME, lists the scenarios.
set -euo pipefail
cd "$(dirname "$0")/../.."
declare -A suites=(
  [cpu-saturation]=CPUSaturationScenario
  [plugin-crash-storm]=PluginCrashStormScenario
  [isolation-breach]=IsolationBreachScenario
  [auth-failure-burst]=AuthFailureBurstScenario
  [bus-flood]=BusFloodScenario
  [unacknowledged-escalation]=UnacknowledgedEscalationScenario
  [crash-recovery]=CrashRecoveryScenario
  [after-the-incident]=AfterTheIncidentScenario
)
name="${1:-}"
if [ -z "$name" ] || [ -z "${suites[$name]:-}" ]; then
  [ -n "$name" ] && echo "unknown scenario: $name" >&2
  echo "usage: make scenario NAME=<name>, one of:" >&2
  for n in cpu-saturation plugin-crash-storm isolation-breach auth-failure-burst bus-flood unacknowledged-escalation crash-recovery after-the-incident; do
    echo "  $n" >&2
  done
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "scenarios run vigild's plugins in their sandboxes, which needs root (run with sudo)" >&2
  exit 77
fi
swift build --build-tests -q
# Keep the scenario's folder (state, plugins, webhook log) when VIGIL_SCENARIO_KEEP is set.
exec swift test --skip-build --filter "Scenarios\\.EndToEnd/${suites[$name]}"
