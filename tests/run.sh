#!/usr/bin/env bash
# tests/run.sh BUILD_DIR [SAN_BUILD_DIR [FUZZ_BUILD_DIR [VALGRIND_BUILD_DIR]]]:
# run every test binary, add up the PASS/FAIL lines, and end with one line
# "N passed, M failed". A binary that crashes or exits non-zero without a
# FAIL line counts as one failure.
# The sanitizer build runs the same binaries with WB_QUICK=1 (the largest
# reference model, vit_b_32, is left to the normal build for time).
# FUZZ_BUILD_DIR: each libFuzzer target replays its regression inputs and
# fuzzes for FUZZ_TIME seconds (default 60; tests/fuzz/run.sh).
# VALGRIND_BUILD_DIR: a short sweep under valgrind memcheck (tests/valgrind.sh).
set -u
cd "$(dirname "$0")/.."
export PYTHON=${PYTHON:-/usr/bin/python3}
# OpenMP threads must not spin between regions: they would starve OpenBLAS's
# threads (see experiments/main.c). wasibench sets this itself; tests need it here.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
pass=0; fail=0; failed_names=()
mkdir -p tests/logs

# Reference data from PyTorch (written once per script version).
if ! bash tests/make_reference.sh > tests/logs/reference.log 2>&1; then
  echo "FAIL reference-data (see tests/logs/reference.log)"; tail -20 tests/logs/reference.log
  fail=$((fail + 1)); failed_names+=("reference-data")
fi

run_dir() {
  local dir=$1 tag=$2
  for t in "$dir"/tests/test_*; do
    [ -x "$t" ] || continue
    case "$t" in *.d|*.o) continue;; esac
    local name; name=$(basename "$t")
    local log="tests/logs/$tag-$name.log"
    local start=$SECONDS
    "$t" > "$log" 2>&1
    local rc=$?
    local p f
    p=$(grep -c '^PASS ' "$log"); f=$(grep -c '^FAIL ' "$log")
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "FAIL $tag/$name exited with status $rc"; tail -15 "$log"; fi
    pass=$((pass + p)); fail=$((fail + f))
    if [ "$f" -gt 0 ]; then
      failed_names+=("$tag/$name")
      grep -B0 -A6 '^FAIL \|^  ' "$log" | head -40
    fi
    printf '%-10s %-28s %3d passed %3d failed  %4ds\n' "$tag" "$name" "$p" "$f" $((SECONDS - start))
  done
}

# A script that prints PASS/FAIL lines (tests/fuzz/run.sh, tests/valgrind.sh):
# count them like a test binary's; its output goes to tests/logs/<tag>-<name>.log.
run_script() {
  local tag=$1 name=$2; shift 2
  local log="tests/logs/$tag-$name.log" start=$SECONDS
  "$@" > "$log" 2>&1
  local rc=$? p f
  p=$(grep -c '^PASS ' "$log"); f=$(grep -c '^FAIL ' "$log")
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "FAIL $tag/$name exited with status $rc"; tail -15 "$log"; fi
  pass=$((pass + p)); fail=$((fail + f))
  if [ "$f" -gt 0 ]; then failed_names+=("$tag/$name"); grep -A3 '^FAIL ' "$log" | head -30; fi
  printf '%-10s %-28s %3d passed %3d failed  %4ds\n' "$tag" "$name" "$p" "$f" $((SECONDS - start))
}

run_dir "${1:-build}" normal
run_script layers check_layers bash tests/check_layers.sh
run_script slurm check_slurm bash tests/check_slurm.sh "${1:-build}"
if [ -n "${2:-}" ]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
  WB_QUICK=1 run_dir "$2" sanitize
fi
if [ -n "${3:-}" ]; then
  found=0
  for t in "$3"/fuzz/fuzz_*; do
    [ -x "$t" ] || continue
    case "$t" in *.d|*.o) continue;; esac
    found=1
    run_script fuzz "$(basename "$t")" bash tests/fuzz/run.sh "$3" "${FUZZ_TIME:-60}" "$(basename "$t")"
  done
  [ $found -eq 1 ] || { echo "FAIL fuzz: no targets in $3/fuzz"; fail=$((fail + 1)); failed_names+=("fuzz"); }
fi
if [ -n "${4:-}" ]; then
  run_script valgrind sweep bash tests/valgrind.sh "$4"
fi
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
