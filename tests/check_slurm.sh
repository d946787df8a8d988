#!/usr/bin/env bash
# tests/check_slurm.sh BUILD_DIR: the two Slurm scripts of experiments/slurm/
# run as Slurm would run them, on a 4-run sweep of the Debian Fashion-MNIST:
#   array.sbatch: tasks 0 and 1 of an array of 2 (SLURM_ARRAY_* set by hand),
#                 then `wasibench merge` of their shards;
#   queue.sbatch: with `srun` standing for `mpirun --oversubscribe -np 2`
#                 (the work queue, --runs-per-rank);
# each must give the runs, statuses and accuracies of the one-process run.
# One PASS/FAIL line each (tests/run.sh counts them). The queue part prints
# SKIP when mpirun is missing, and fails instead when CI is set.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-build}" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/wb-slurm.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
ln -s "$BUILD" build   # the scripts run build/wasibench from the submit folder
cat > tiny.yaml <<'YAML'
experiment: tiny
model: {image_size: 16, patch: 4, channels: 1, dim: 32, depth: 2, heads: 2, mlp_dim: 32}
dataset: {format: fashion_mnist, image_size: 16, channels: 1, limit_train: 128, limit_val: 64}
training: {epochs: 1, batch_size: 32, lr: 0.1}
methods: [vanilla, {name: lora, rank: 4, alpha: 8}]
seeds: [1, 2]
YAML
# run, status and accuracy of each run, in name order
summary() { build/wasibench info "$1" | awk 'NR > 2 {print $1, $2, $7}' | sort; }

build/wasibench run tiny.yaml --out one.h5 --threads 1 --quiet > one.log 2>&1 || { echo "FAIL slurm: one-process reference run"; cat one.log; exit 1; }
ref=$(summary one.h5)
[ "$(echo "$ref" | grep -c ' complete ')" = 4 ] || { echo "FAIL slurm: the reference has not 4 complete runs"; echo "$ref"; exit 1; }

ok=1
for i in 0 1; do
  SLURM_ARRAY_TASK_COUNT=2 SLURM_ARRAY_TASK_ID=$i SLURM_CPUS_PER_TASK=1 bash "$ROOT/experiments/slurm/array.sbatch" tiny.yaml > "array$i.log" 2>&1 || ok=0
done
build/wasibench merge array.h5 results/shards/tiny.shard0.h5 results/shards/tiny.shard1.h5 > merge.log 2>&1 || ok=0
if [ $ok = 1 ] && [ "$(summary array.h5)" = "$ref" ]; then echo "PASS slurm: array.sbatch x 2 tasks + merge = the one-process sweep"
else echo "FAIL slurm: array.sbatch x 2 tasks + merge"; tail -5 array0.log array1.log merge.log; diff <(echo "$ref") <(summary array.h5); fi

if ! command -v mpirun > /dev/null || ! build/wasibench version | grep -q 'MPI: Open MPI'; then
  if [ -n "${CI:-}" ]; then echo "FAIL slurm: CI must run queue.sbatch (mpirun or MPI missing)"; else echo "SKIP slurm: queue.sbatch needs mpirun and an MPI build"; fi
  exit 0
fi
mkdir -p fakebin
printf '#!/bin/sh\nexec mpirun --oversubscribe -np 2 "$@"\n' > fakebin/srun
chmod +x fakebin/srun
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export ASAN_OPTIONS=detect_leaks=0   # Open MPI's dlopened components (see tests/test_dist.c)
if PATH="$T/fakebin:$PATH" SLURM_CPUS_PER_TASK=1 bash "$ROOT/experiments/slurm/queue.sbatch" tiny.yaml > queue.log 2>&1 &&
   [ "$(summary results/tiny.h5)" = "$ref" ] && ! ls results/tiny.rank*.h5 > /dev/null 2>&1; then
  echo "PASS slurm: queue.sbatch (2 ranks, --runs-per-rank) = the one-process sweep, rank files merged"
else
  echo "FAIL slurm: queue.sbatch"; tail -15 queue.log; diff <(echo "$ref") <(summary results/tiny.h5)
fi
