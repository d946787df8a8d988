#!/usr/bin/env bash
# experiments/bench/run_mpi.sh: the driver behind `make bench-mpi`. vit_b_32
# at global batch 32 (BENCH_MPI_B), 1 and 2 ranks (BENCH_MPI_RANKS) of 1
# thread each, one process per configuration (bench_mpi step), then the
# table with the alpha-beta extrapolation (bench_mpi report) in
# results/bench/mpi.txt; raw lines in results/bench/mpi_raw.txt. Not a test:
# timings never fail it. As root, Open MPI needs OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM),
# which this script sets.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
OUT=${BENCH_OUT:-results/bench}
G=${BENCH_MPI_B:-32}
REPS=${BENCH_REPS:-3}
RANKS=${BENCH_MPI_RANKS:-"1 2"}
export OMP_WAIT_POLICY=passive
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
command -v mpirun > /dev/null || { echo "bench-mpi: mpirun not found (make deps installs openmpi-bin)"; exit 1; }
mkdir -p "$OUT/logs"
RAW="$OUT/mpi_raw.txt"
{ echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(hostname) load $(cut -d' ' -f1-3 /proc/loadavg) $(nproc) cores"; } > "$RAW"
for p in $RANKS; do
  printf '  bench_mpi -np %-3s ' "$p"
  t0=$SECONDS
  if mpirun --oversubscribe -np "$p" "$BUILD/bench/bench_mpi" step "$G" "$REPS" 1 >> "$RAW" 2> "$OUT/logs/mpi_p$p.log"; then
    printf 'ok   %4ds\n' $((SECONDS - t0))
  else
    printf 'FAILED (see %s)\n' "$OUT/logs/mpi_p$p.log"; exit 1
  fi
done
echo "# load after $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RAW"
"$BUILD/bench/bench_mpi" report "$RAW" > "$OUT/mpi.txt" || exit 1
grep '^#' "$RAW"
cat "$OUT/mpi.txt"
