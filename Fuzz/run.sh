#!/usr/bin/env bash
# Runs every libFuzzer target for FUZZ_SECONDS seconds (`make fuzz`; see Docs/security.md, "Fuzzing")
# and prints one line per target:
#   {"fuzz":"TARGET","seconds":N,"execs":E,"crashes":C}
# plus, for each crash, a line naming the kept input. Exits non-zero if any target crashed.
#
# Each target starts from its committed seed corpus (corpus/TARGET, read only) and a working
# corpus of its own (.build/work/TARGET, kept between runs). After a crash the target is started
# again for the time left, so one finding does not hide the others. Inputs that crash, time out
# or exceed the memory limit are kept in crashes/TARGET/ (not committed: add a fixed one to the
# corpus with its regression test). Paths are relative on purpose: the config target enters an
# empty root (chroot) before fuzzing and reaches its files through the working directory.
set -uo pipefail
cd "$(dirname "$0")"

SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-"frame-decoder json-scanner event-batch message-codec config rules control matchers webhooks alerts callbacks console-forms agents"}
BUILD_FLAGS=(-c release -Xswiftc -sanitize=fuzzer,address)

if ! swift build "${BUILD_FLAGS[@]}" > .build-fuzz.log 2>&1; then
    cat .build-fuzz.log >&2
    echo "fuzz: the targets did not build" >&2
    exit 2
fi
BIN=$(swift build "${BUILD_FLAGS[@]}" --show-bin-path)
BIN=$(realpath --relative-to=. "$BIN")

# libFuzzer reports crashes itself; Swift's backtracer would run first and confuse ASan.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}

failed=0
for target in $TARGETS; do
    work=.build/work/$target
    crashes=crashes/$target
    mkdir -p "$work" "$crashes"
    before=$(find "$crashes" -type f | sort)
    execs=0
    start=$(date +%s)
    while :; do
        left=$(( SECONDS_PER_TARGET - ($(date +%s) - start) ))
        (( left > 0 )) || break
        log=.build/work/$target.log
        "$BIN/fuzz-$target" -max_total_time="$left" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
            -max_len=65536 -artifact_prefix="$crashes/" "$work" "corpus/$target" > "$log" 2>&1
        status=$?
        n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        execs=$(( execs + ${n:-0} ))
        # 0: time is up. Anything else: a finding (kept under crashes/) or the fuzzer failed to run.
        if (( status == 0 )); then break; fi
        if ! grep -q "Test unit written to" "$log"; then
            echo "fuzz: $target exited $status without a finding; see Fuzz/$log" >&2
            failed=1
            break
        fi
    done
    elapsed=$(( $(date +%s) - start ))
    new=$(comm -13 <(echo "$before") <(find "$crashes" -type f | sort) | grep -v '^$' || true)
    count=$(printf '%s' "$new" | grep -c . || true)
    printf '{"fuzz":"%s","seconds":%d,"execs":%d,"crashes":%d}\n' "$target" "$elapsed" "$execs" "$count"
    if (( count > 0 )); then
        failed=1
        while read -r f; do echo "  crash input: Fuzz/$f" >&2; done <<< "$new"
    fi
done
# The Python plugins' parsers (Fuzz/python/targets), half the time each: a pure-Python
# mutation fuzzer, much slower per input than libFuzzer.
if [[ -z "${FUZZ_TARGETS:-}" || "${FUZZ_PYTHON:-}" == 1 ]]; then
    if ! /usr/bin/python3 python/run.py --seconds $(( (SECONDS_PER_TARGET + 1) / 2 )); then failed=1; fi
fi
exit $failed
