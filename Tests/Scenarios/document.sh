#!/usr/bin/env bash
# Refreshes the real runs pasted into Docs/scenarios/*.md: runs each scenario (or the ones named)
# and puts its narration between the page's `<!-- run:begin -->` and `<!-- run:end -->` lines.
# Root only, like the scenarios themselves.
set -euo pipefail
cd "$(dirname "$0")/../.."
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(cpu-saturation plugin-crash-storm isolation-breach auth-failure-burst bus-flood unacknowledged-escalation crash-recovery after-the-incident)
swift build --build-tests -q
for name in "${names[@]}"; do
  page="Docs/scenarios/$name.md"
  [ -f "$page" ] || { echo "no page $page" >&2; exit 2; }
  out="$(mktemp)"
  # The narration lines ([name  t] ...) and the indented command output below them.
  bash Tests/Scenarios/run.sh "$name" 2>&1 | grep -E '^\[|^    |^✔ Test|^✘' | grep -v '^✔ Suite' > "$out" || true
  python3 - "$page" "$out" <<'PY'
import sys
page, out = sys.argv[1], sys.argv[2]
text = open(page).read()
run = open(out).read().rstrip("\n")
begin, end = "<!-- run:begin -->", "<!-- run:end -->"
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(page, "w").write(head + begin + "\n```\n" + run + "\n```\n" + end + tail)
PY
  rm -f "$out"
  echo "refreshed $page"
done
