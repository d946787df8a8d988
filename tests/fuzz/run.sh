#!/usr/bin/env bash
# tests/fuzz/run.sh FUZZ_BUILD_DIR [SECONDS [TARGET]]: run each libFuzzer
# target built by `make fuzz-bin` (FUZZ_BUILD_DIR/fuzz/fuzz_*), or only
# TARGET (e.g. fuzz_yaml):
#   1. replay its regression inputs (tests/fuzz/regressions/<name>/: inputs
#      that once crashed, hung or blew up memory; each must now pass);
#   2. fuzz it for SECONDS (default 60) from its seed corpus
#      tests/fuzz/corpus/<name>/ plus the inputs earlier runs kept in
#      FUZZ_BUILD_DIR/corpus/<name>/, with a 10 s per-input timeout and a
#      2 GB memory limit (plus tests/fuzz/<name>.dict and .options if
#      present), with libFuzzer's -seed=$FUZZ_SEED (default 1: the same
#      inputs in the same order on every run, so CI stays reproducible and a
#      red run can be replayed; FUZZ_SEED=0 draws a new seed each run, for
#      exploration with `make fuzz`). Any crash, hang, leak, out-of-memory or sanitizer
#      report stops it and fails; the input lands in FUZZ_BUILD_DIR/artifacts/.
# Prints one "PASS ..." or "FAIL ..." line per step (tests/run.sh counts
# them) with the number of executions; the full output of each step is in
# tests/logs/fuzz-<name>.log.
#
# tests/fuzz/run.sh --seeds [FUZZ_BUILD_DIR] rewrites the seed corpora from
# the targets themselves (WB_FUZZ_SEEDS=DIR) and the example experiments.
# Raw-byte fuzzing of results files (libhdf5's parser, not run in CI):
#   WB_FUZZ_RAW=1 build-fuzz/fuzz/fuzz_results -fork=1 -ignore_timeouts=1 \
#     -ignore_ooms=1 NEW_DIR tests/fuzz/corpus/results-raw
set -u
cd "$(dirname "$0")/../.."

if [ "${1:-}" = "--seeds" ]; then
  dir=${2:-build-fuzz}
  for t in idx cifar csv jsonl safetensors st_index results; do
    rm -rf "tests/fuzz/corpus/$t"; mkdir -p "tests/fuzz/corpus/$t"
    WB_FUZZ_SEEDS="tests/fuzz/corpus/$t" "$dir/fuzz/fuzz_$t" || { echo "seeds of fuzz_$t failed"; exit 1; }
  done
  # whole results files for raw-byte exploration (WB_FUZZ_RAW=1; not run in CI)
  rm -rf tests/fuzz/corpus/results-raw; mkdir -p tests/fuzz/corpus/results-raw
  WB_FUZZ_RAW=1 WB_FUZZ_SEEDS=tests/fuzz/corpus/results-raw "$dir/fuzz/fuzz_results"
  rm -rf tests/fuzz/corpus/yaml; mkdir -p tests/fuzz/corpus/yaml
  cp experiments/examples/*.yaml experiments/demo.yaml tests/fuzz/corpus/yaml/
  ls -R tests/fuzz/corpus | head -60
  exit 0
fi

dir=${1:-build-fuzz}
secs=${2:-60}
only=${3:-}
mkdir -p tests/logs
# The targets run single-threaded; OpenMP and OpenBLAS must not start pools.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The targets' temporary folders go under one folder of this run (in memory
# when /dev/shm is there: the results writer fsyncs), removed at the end even
# when a target crashed and could not clean up after itself.
shm=/dev/shm; { [ -d $shm ] && [ -w $shm ]; } || shm=${TMPDIR:-/tmp}
TMPDIR=$(mktemp -d "$shm/wbfuzz-run.XXXXXX") || exit 1
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
found=0
for bin in "$dir"/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  case "$bin" in *.d|*.o) continue;; esac
  name=$(basename "$bin")
  [ -n "$only" ] && [ "$name" != "$only" ] && continue
  found=1
  short=${name#fuzz_}
  log="tests/logs/fuzz-$short.log"
  : > "$log"
  work="$dir/corpus/$short"; art="$dir/artifacts/$short/"
  mkdir -p "$work" "$art"

  # 1. regression inputs (results-raw: whole files, replayed in raw mode)
  for reg in "tests/fuzz/regressions/$short" "tests/fuzz/regressions/$short-raw"; do
    [ -d "$reg" ] || continue
    n=$(find "$reg" -type f | wc -l)
    [ "$n" -gt 0 ] || continue
    raw=0; case "$reg" in *-raw) raw=1;; esac
    echo "== regressions: $reg ($n inputs)" >> "$log"
    if WB_FUZZ_RAW=$raw timeout 600 "$bin" -timeout=30 -rss_limit_mb=2048 -artifact_prefix="$art" "$reg"/* >> "$log" 2>&1; then
      echo "PASS $name regressions: $n inputs from $reg"
    else
      echo "FAIL $name regressions: an input of $reg fails again (see $log)"
      grep -m3 -E 'ERROR|SUMMARY|fuzz_' "$log" | sed 's/^/  /'
    fi
  done

  # 2. fuzz for $secs seconds from the seeds (+ what earlier runs kept)
  # per-target extras: a dictionary (tests/fuzz/<name>.dict), flags (tests/fuzz/<name>.options)
  dict=(); [ -f "tests/fuzz/$short.dict" ] && dict=(-dict="tests/fuzz/$short.dict")
  [ -f "tests/fuzz/$short.options" ] && read -r -a extra < "tests/fuzz/$short.options" && dict+=("${extra[@]}")
  echo "== fuzzing $secs s: $bin $work tests/fuzz/corpus/$short" >> "$log"
  start=$SECONDS
  timeout $((secs + 300)) "$bin" -seed="${FUZZ_SEED:-1}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$art" "${dict[@]}" "$work" "tests/fuzz/corpus/$short" >> "$log" 2>&1
  rc=$?
  execs=$(grep -a 'stat::number_of_executed_units' "$log" | tail -1 | awk '{print $2}')
  corp=$(find "$work" -type f | wc -l)
  if [ $rc -eq 0 ]; then
    echo "PASS $name: ${execs:-?} executions in $((SECONDS - start)) s, corpus $corp inputs, no crash, hang or leak"
  else
    what=$(grep -a -m1 -E 'SUMMARY: |ERROR: libFuzzer' "$log" | sed 's/^ *//')
    art_file=$(ls -t "$art" 2>/dev/null | head -1)
    echo "FAIL $name: exit $rc after ${execs:-?} executions: ${what:-see $log}"
    [ -n "$art_file" ] && echo "  input: $art$art_file (replay: $bin $art$art_file)"
  fi
done
[ $found -eq 1 ] || { echo "FAIL fuzz: no fuzz targets in $dir/fuzz (make fuzz-bin)"; exit 1; }
