#!/usr/bin/env bash
# tests/run.sh BUILD_DIR [SAN_BUILD_DIR]: run every test binary, add up the
# PASS/FAIL lines, and end with one line "N passed, M failed". A binary that
# crashes or exits non-zero without a FAIL line counts as one failure.
# The sanitizer build runs the same binaries with WB_QUICK=1 (the largest
# reference model, vit_b_32, is left to the normal build for time).
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

run_dir "${1:-build}" normal
if [ -n "${2:-}" ]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
  WB_QUICK=1 run_dir "$2" sanitize
fi
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
