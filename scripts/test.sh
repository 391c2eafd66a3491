#!/usr/bin/env bash
# Every test: install dependencies; build and run the suites in a release build
# (its unit tests also under valgrind's memcheck), under ASAN+UBSAN and under
# TSAN (both with small_queues, so every test also goes through the deque
# overflow paths), and with clang 19; install weft and build consumer programs with pkg-config and
# with CMake's find_package. Ends with "N passed, N failed":
# Catch2 test cases over all builds plus the other steps.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
weft_install_deps gnuplot-nox || { echo "dependency installation failed"; echo "0 passed, 1 failed"; exit 1; }

jobs=$(nproc)
passed=0
failed=0
failures=()

step() {  # step NAME COMMAND...: runs it, counts it, keeps going
    local name=$1; shift
    echo "=== $name"
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "*** FAILED: $name"
    fi
}

configure() {  # configure DIR OPTIONS...: fresh setup unless already configured the same way
    local dir=$1; shift
    if [ -f "$dir/build.ninja" ]; then meson configure "$dir" "$@" >/dev/null; else meson setup "$dir" "$@"; fi
}

suite_run() {  # suite_run DIR NAME: one meson test suite; counts its Catch2 test cases
    local dir=$1 name=$2 line ok=1
    echo "=== $dir: $name tests"
    if ! meson test -C "$dir" --print-errorlogs --no-rebuild "$name"; then
        ok=0
        failures+=("$dir: $name tests")
    fi
    line=$(grep -E "All tests passed|^test cases:" "$dir/meson-logs/testlog.txt" | tail -1)
    if [[ $line =~ \|\ +([0-9]+)\ passed\ \|\ +([0-9]+)\ failed ]]; then
        passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
    elif [[ $line =~ in\ ([0-9]+)\ test\ case ]] && [ "$ok" -eq 1 ]; then
        passed=$((passed + BASH_REMATCH[1]))
    else
        failed=$((failed + 1))  # crashed or timed out before Catch2 could count
    fi
}

suite() {  # suite DIR: the unit and stress suites of one build, and the examples
    suite_run "$1" unit
    suite_run "$1" stress
    step "$1: examples on both backends" meson test -C "$1" --print-errorlogs --no-rebuild --suite examples
}

# 1. Release build (the configuration users install).
if configure build --buildtype=release && ninja -C build -j"$jobs"; then
    suite build
    # Uninitialised reads, which neither sanitizer build looks for. The io_uring
    # runs of the I/O tests skip themselves under valgrind (docs/io.md); the
    # frame pool hides frames from memcheck, the ASAN build sees them.
    step "valgrind memcheck: the unit tests (release build, epoll)" \
        timeout 1200 valgrind --quiet --error-exitcode=99 --num-callers=30 ./build/tests/weft_tests "~[stress]"
    step "weft-forkjoin answers (1 and 2 workers)" bash -c '
        for b in "fib 25" "skynet 5" "nqueens 9" "matmul 256"; do
            for w in 1 2; do ./build/bench/weft-forkjoin $b $w >/dev/null || { echo "weft-forkjoin $b $w failed"; exit 1; }; done
        done'
    step "weft-compare --data, its plot and the docs update (temporary copies)" bash tests/bench/check_compare.sh build
    step "Google Benchmark fork-join suite: rows and ratio counters" python3 tests/bench/check_gbench.py build
    step "weft-echo-bench: every server row and issue 4's target verdicts" bash tests/bench/check_echo_bench.sh build
    step "fuzz the RESP parser for 30 s (clang libFuzzer, ASAN+UBSAN)" bash tests/fuzz/run.sh build/fuzz 30
    step "tutorial programs print what their Python twins print" meson test -C build --print-errorlogs --no-rebuild --suite tutorial --num-processes 4
    step "install and build consumers (pkg-config, CMake, meson)" bash tests/consumer/check_install.sh build
    step "misuse: lvalue hand-overs refused with a clear message (installed headers)" bash tests/misuse/check.sh
else
    step "release build" false
fi

# 2. ASAN+UBSAN, small queues, frames from the system allocator so ASAN sees them.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if configure build-asan --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false \
        -Dsmall_queues=true -Dframe_allocator=system -Dbenchmarks=false && ninja -C build-asan -j"$jobs"; then
    suite build-asan
else
    step "ASAN+UBSAN build" false
fi

# 3. TSAN, small queues; stress counts scaled down (TSAN runs ~10x slower).
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
if configure build-tsan --buildtype=debugoptimized -Db_sanitize=thread -Db_lundef=false \
        -Dsmall_queues=true -Dbenchmarks=false && ninja -C build-tsan -j"$jobs"; then
    WEFT_STRESS_SCALE=10 suite build-tsan
else
    step "TSAN build" false
fi

# 4. clang 19, release: weft's headers are compiled by its users' compilers, and
# the side-by-side comparisons build libfork and TooManyCooks with clang++-19.
unset TSAN_OPTIONS
if CXX=clang++-19 CC=clang-19 configure build-clang --buildtype=release -Dbenchmarks=false && \
        ninja -C build-clang -j"$jobs"; then
    suite build-clang
else
    step "clang 19 build" false
fi

echo
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
# Catch2 test cases of every build, plus the other steps, one each.
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#failures[@]} -eq 0 ]
