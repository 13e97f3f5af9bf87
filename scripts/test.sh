#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what is needed, builds m3fs
# twice (plain and ASan+UBSan), runs every unit test in both, runs each
# libFuzzer target in tests/fuzz/ for a bounded time, then runs the
# integration tests in tests/integration/ (real sshd/dockerd/HTTP in a local
# lab; need root).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-$(nproc)}
# Seconds per fuzz target: fuzzing gets ~4 min on the 2-core CI machine,
# and each target also takes ~1 s to start and load its corpus: 16 targets
# x 13 s = 208 s (about 230 s in all).  Keep targets x (FUZZ_SECONDS + 1)
# <= 240 when adding a target.
FUZZ_SECONDS=${FUZZ_SECONDS:-13}

step() { printf '\n==> %s (%d s into the run)\n' "$*" "$SECONDS"; }

step "installing dependencies"
bash scripts/install-deps.sh

step "plain build + unit tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$JOBS"
(cd build && ctest --output-on-failure -j "$JOBS")

step "ASan+UBSan build + unit tests"
CC=${SAN_CC:-gcc} cmake -S . -B build-asan -DM3FS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j "$JOBS"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -j "$JOBS")

fuzz_ok() {
    command -v clang >/dev/null || return 1
    local d
    d=$(mktemp -d)
    printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$d/f.c"
    clang -fsanitize=fuzzer "$d/f.c" -o "$d/f" >/dev/null 2>&1
    local rc=$?
    rm -rf "$d"
    return $rc
}
if fuzz_ok; then
    step "fuzzing (${FUZZ_SECONDS}s per target)"
    CC=clang cmake -S . -B build-fuzz -DM3FS_FUZZ=ON -DM3FS_SANITIZE=ON -DM3FS_TESTS=OFF \
        -DCMAKE_BUILD_TYPE=Debug >/dev/null
    cmake --build build-fuzz -j "$JOBS"
    for f in build-fuzz/fuzz_*; do
        [ -x "$f" ] || continue
        name=$(basename "$f")
        corpus=tests/fuzz/corpus/${name#fuzz_}
        work=$(mktemp -d)
        dict=()
        [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
        "$f" -max_total_time="$FUZZ_SECONDS" -max_len=8192 -timeout=10 ${dict[@]+"${dict[@]}"} "$work" "$corpus" \
            > "build-fuzz/$name.log" 2>&1 || { tail -50 "build-fuzz/$name.log"; exit 1; }
        tail -1 "build-fuzz/$name.log"
        rm -rf "$work"
    done
else
    echo "SKIPPED: fuzzing: clang cannot link -fsanitize=fuzzer here (install clang and its libFuzzer runtime)" >&2
    [ "${CI:-}" = true ] && { echo "FAILED: fuzzing skipped under CI=true" >&2; exit 1; }
fi

step "integration tests"
export M3FS_BIN=$ROOT/build/m3fs M3FS_SOURCE_DIR=$ROOT
pass=0 fail=0 skip=0 failed=() times=()
logs=$(mktemp -d)
for t in tests/integration/test_*.sh; do
    [ -e "$t" ] || continue
    printf -- '--- %s\n' "$t"
    t0=$SECONDS
    set +e
    # (tee in a process substitution: a process a test leaves behind with
    # its stdout cannot hold up the run)
    bash "$t" > >(tee "$logs/${t##*/}.log") 2>&1
    rc=$?
    set -e
    times+=("$((SECONDS - t0)) s  ${t##*/}")
    case $rc in
        0) pass=$((pass + 1)) ;;
        77) skip=$((skip + 1)); echo "SKIPPED: $t" ;;
        *) fail=$((fail + 1)); echo "FAILED: $t (exit $rc)"; failed+=("$t (exit $rc)") ;;
    esac
done
# The failures again, last: a long log is cut in the middle, not at its end.
for f in ${failed[@]+"${failed[@]}"}; do
    t=${f%% *}
    echo "failed: $f"
    grep -E '^(FAIL|.*: FAIL:)' "$logs/${t##*/}.log" | head -8 | cut -c1-300 | sed 's/^/    /' || true
done
rm -rf "$logs"
# Each test's wall time (the whole command has a 60-minute budget).
printf '  %s\n' "${times[@]}"
echo "integration: $pass passed, $fail failed, $skip skipped; the whole run took $SECONDS s"
# Under CI every integration test must run: a skip (exit 77: no root, no
# dockerd, ...) means the run proved nothing, so it fails the run.
if [ "${CI:-}" = true ] && [ "$skip" -gt 0 ]; then
    echo "FAILED: $skip integration test(s) skipped under CI=true" >&2
    exit 1
fi
[ "$fail" -eq 0 ]
