#!/usr/bin/env bash
# Fuzz smoke run: builds every cargo-fuzz target once with nightly, then runs
# each for FUZZ_SECONDS (default 20) starting from the checked-in seeds in
# fuzz/seeds/<target>/ (regenerate them with `python3 fuzz/gen_seeds.py`)
# and the inputs of past failures in fuzz/regressions/<target>/.
#
#   scripts/fuzz-smoke.sh                 # all targets, 20 s each
#   FUZZ_SECONDS=60 scripts/fuzz-smoke.sh update attrs
#
# Environment:
#   FUZZ_SECONDS    seconds per target (default 20)
#   FUZZ_SANITIZER  cargo-fuzz sanitizer (default none: the code is safe
#                   Rust; debug assertions and overflow checks stay on)
#
# Builds go to fuzz/target (cargo-fuzz's default), never the shared
# workspace target dir: sanitizer and coverage flags would thrash its cache.
# Working corpora grow in fuzz/corpus/<target>/ (git-ignored). Crashes land
# in fuzz/artifacts/<target>/; the script prints them and exits non-zero.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/fuzz"
seconds="${FUZZ_SECONDS:-20}"
sanitizer="${FUZZ_SANITIZER:-none}"
# The shared CARGO_TARGET_DIR must not receive fuzz builds.
unset CARGO_TARGET_DIR

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "fuzz-smoke: cargo-fuzz not installed (cargo install cargo-fuzz --locked)" >&2
    exit 2
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

echo "fuzz-smoke: building ${#targets[@]} targets (sanitizer: $sanitizer)"
cargo +nightly fuzz build --sanitizer "$sanitizer"

failed=()
summary=()
for t in "${targets[@]}"; do
    corpus="corpus/$t"
    mkdir -p "$corpus"
    seeds=()
    for d in "seeds/$t" "regressions/$t"; do
        if [ -d "$d" ]; then
            seeds+=("$d")
        fi
    done
    log="$(mktemp)"
    echo "fuzz-smoke: $t for ${seconds}s (seeds: ${seeds[*]:-none})"
    status=0
    # Bounded twice: libFuzzer's own -max_total_time, and timeout(1) in case
    # the target hangs outside libFuzzer's control.
    timeout --kill-after=10 "$((seconds + 300))" \
        cargo +nightly fuzz run --sanitizer "$sanitizer" "$t" "$corpus" "${seeds[@]}" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
    cov="$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2 || true)"
    if [ "$status" -ne 0 ]; then
        failed+=("$t")
        echo "fuzz-smoke: $t FAILED (exit $status); last lines:" >&2
        tail -40 "$log" >&2
        ls -1 "artifacts/$t" 2>/dev/null | sed "s|^|  artifact: fuzz/artifacts/$t/|" >&2 || true
    fi
    summary+=("$(printf '%-18s %-6s runs=%-10s exec/s=%-8s cov=%s' "$t" \
        "$([ "$status" -eq 0 ] && echo ok || echo FAIL)" "${runs:-?}" "${rate:-?}" "${cov:-?}")")
    rm -f "$log"
done

echo
echo "fuzz-smoke summary (${seconds}s per target):"
printf '  %s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz-smoke: crashes in: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz-smoke: no crashes"
