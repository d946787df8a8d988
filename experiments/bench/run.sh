#!/usr/bin/env bash
# experiments/bench/run.sh: the driver behind `make bench` (after `make deps`
# and the bench programs are built). Runs every measurement in its own
# process, in this order, collecting their "key value" lines into one file,
# then bench_report turns them into the table:
#   1. bench_sgemm            the sgemm peak and the triad bandwidth (the limits; measured again after rows 2 and 3, best kept)
#   2. bench_vit speed        wasibench vanilla step + inference   | bench_torch.py step  (PyTorch);
#                             two rounds, C and PyTorch alternating, best of each kept; every
#                             process runs with OMP_WAIT_POLICY=passive (PyTorch too: with
#                             libgomp's default spinning it is slower; measured once for reference)
#  2b. bench_vit speed swin_t  the same for Swin-T               | bench_torch.py step ... swin_t
#   3. bench_mlp              the 24 MLP linears, vanilla, asi and wasi  | bench_torch.py mlp   (PyTorch)
#   4. bench_vit memory       one process per method (vanilla, lora, asi, wasi dense, wasi factored)
#  4b. bench_vit memory ... lean  whole-process memory at batch 32 and 128 per method, without (plain) and with
#                             (lean) the memory section's options recompute, gelu_f16, softmax_f16; wasi at eps 0.9
#   5. bench_vit whole        the whole model at batch 128 per method, one timed step each (vanilla, lora, asi,
#                             hosvd eps 0.9, wasi dense and factored at each eps of BENCH_WHOLE_EPS)
# Repeated measurements keep their best value (bench_report.c keep_best): the
# machine may be shared, and load only ever makes a number worse.
# Outputs in results/bench/: latest.txt (the table), latest.h5 (table + every
# value), raw.txt (the collected lines), logs/ (each process's stderr), and
# the random weights both sides load (vit_b_32_random.safetensors and
# swin_t_random.safetensors, each written once). Timings never fail this
# script; a process that crashes does (after the table is written, with n/a
# in its place).
# Knobs (environment): BUILD (build), PYTHON (/usr/bin/python3), BENCH_THREADS (2),
# BENCH_REPS (3: timed repetitions after a warm-up, rows 2, 2b, 3), BENCH_OUT (results/bench),
# BENCH_FACTORED_RANKS (every rank of row 3: the ranks row 3 also runs with wasi factored
# storage; the factored column is n/a elsewhere), BENCH_WHOLE (1; 0 skips row 5, the
# longest: ~15 min idle), BENCH_WHOLE_B (128), BENCH_WHOLE_EPS (0.4,0.5,0.6,0.7,0.8,0.9:
# the wasi weight epsilons of row 5), BENCH_WHOLE_METHODS (vanilla,lora,asi,hosvd,wasi_dense,wasi_factored),
# BENCH_LEAN (1; 0 skips row 4b: ~8 min idle), BENCH_LEAN_B (32,128: its batch sizes).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
T=${BENCH_THREADS:-2}
REPS=${BENCH_REPS:-3}
OUT=${BENCH_OUT:-results/bench}
STEP_B=8
MEM_B=32
MEM_STEPS=1
RANKS=61,92,135,178,245,350
FRANKS=${BENCH_FACTORED_RANKS:-$RANKS}
WHOLE=${BENCH_WHOLE:-1}
WHOLE_B=${BENCH_WHOLE_B:-128}
WHOLE_EPS=${BENCH_WHOLE_EPS:-0.4,0.5,0.6,0.7,0.8,0.9}
WHOLE_METHODS=${BENCH_WHOLE_METHODS:-vanilla,lora,asi,hosvd,wasi_dense,wasi_factored}
LEAN=${BENCH_LEAN:-1}
LEAN_B=${BENCH_LEAN_B:-32,128}
# OpenMP threads must not spin between regions (they starve OpenBLAS's; see experiments/main.c).
export OMP_WAIT_POLICY=passive
mkdir -p "$OUT/logs"
RAW="$OUT/raw.txt"
WEIGHTS="$OUT/vit_b_32_random.safetensors"
SWIN_WEIGHTS="$OUT/swin_t_random.safetensors"
failed=()
start=$SECONDS

load1() { cut -d' ' -f1 /proc/loadavg; }

# run NAME CMD...: its stdout goes to raw.txt (and a one-line note to the terminal), stderr to logs/NAME.log
run() {
  local name=$1; shift
  local t0=$SECONDS
  printf '  %-22s ' "$name"
  if "$@" >> "$RAW" 2> "$OUT/logs/$name.log"; then
    printf 'ok   %4ds\n' $((SECONDS - t0))
  else
    local rc=$?
    printf 'FAILED (exit %d, see %s)\n' "$rc" "$OUT/logs/$name.log"
    echo "# FAILED: $name: $* (exit $rc)" >> "$RAW"
    failed+=("$name")
  fi
}

{
  echo "meta.date $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "meta.host $(hostname)"
  echo "meta.cpu $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores"
  echo "meta.version $(git describe --always --dirty 2>/dev/null || echo unknown)"
  echo "meta.blas $("$BUILD/wasibench" version 2>/dev/null | sed 's/^wasibench [^ ]* (C11), //; s/, [0-9]* threads$//')"
  echo "meta.torch $("$PYTHON" -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__)' 2>/dev/null || echo 'torch missing')"
  echo "meta.threads $T"
  echo "meta.reps $REPS"
  echo "meta.sgemm_rounds 3"
  echo "meta.step_batch $STEP_B"
  echo "meta.mem_batch $MEM_B"
  echo "meta.mem_steps $MEM_STEPS"
  echo "meta.load_before $(load1)"
} > "$RAW"

echo "make bench: $T threads, load average $(load1) (other processes make timings noisy); results in $OUT/"
if [ ! -s "$WEIGHTS" ]; then
  run weights "$PYTHON" experiments/bench/bench_torch.py weights "$WEIGHTS"
fi
if [ ! -s "$SWIN_WEIGHTS" ]; then
  run weights-swin "$PYTHON" experiments/bench/bench_torch.py weights "$SWIN_WEIGHTS" swin_t
fi
run sgemm-1        "$BUILD/bench/bench_sgemm" "$T" 1536 5
for round in 1 2; do
  run step-c-$round     "$BUILD/bench/bench_vit" speed "$WEIGHTS" "$STEP_B" "$T" "$REPS"
  run step-torch-$round "$PYTHON" experiments/bench/bench_torch.py step "$WEIGHTS" "$STEP_B" "$T" "$REPS"
done
for round in 1 2; do
  run swin-c-$round     "$BUILD/bench/bench_vit" speed "$SWIN_WEIGHTS" "$STEP_B" "$T" "$REPS" swin_t
  run swin-torch-$round "$PYTHON" experiments/bench/bench_torch.py step "$SWIN_WEIGHTS" "$STEP_B" "$T" "$REPS" swin_t.torch swin_t
done
# PyTorch as it comes: libgomp's default OMP_WAIT_POLICY (spinning threads), for reference
run step-torch-default env -u OMP_WAIT_POLICY "$PYTHON" experiments/bench/bench_torch.py step "$WEIGHTS" "$STEP_B" "$T" "$REPS" step.torch_default
run sgemm-2        "$BUILD/bench/bench_sgemm" "$T" 1536 5
run mlp-c          "$BUILD/bench/bench_mlp" "$T" "$REPS" vanilla,asi,dense "$RANKS"
if [ -n "$FRANKS" ]; then
  run mlp-c-factored "$BUILD/bench/bench_mlp" "$T" "$REPS" factored "$FRANKS"
fi
run mlp-torch      "$PYTHON" experiments/bench/bench_torch.py mlp "$T" "$REPS" "$RANKS"
run sgemm-3        "$BUILD/bench/bench_sgemm" "$T" 1536 5
for m in vanilla lora asi wasi_dense wasi_factored; do
  run "mem-$m"     "$BUILD/bench/bench_vit" memory "$WEIGHTS" "$m" "$MEM_B" "$T" "$MEM_STEPS"
done
if [ "$LEAN" != 0 ]; then
  for b in ${LEAN_B//,/ }; do
    for m in vanilla lora asi wasi_dense wasi_factored; do
      for v in plain lean; do
        run "lean-$m-b$b-$v" "$BUILD/bench/bench_vit" memory "$WEIGHTS" "$m" "$b" "$T" "$MEM_STEPS" 0.9 "$v"
      done
    done
  done
fi
if [ "$WHOLE" != 0 ]; then
  for m in ${WHOLE_METHODS//,/ }; do
    case $m in
      wasi_dense|wasi_factored)
        for e in ${WHOLE_EPS//,/ }; do
          run "whole-$m-$e" "$BUILD/bench/bench_vit" whole "$WEIGHTS" "$m" "$WHOLE_B" "$T" 1 "$e"
        done ;;
      *) run "whole-$m" "$BUILD/bench/bench_vit" whole "$WEIGHTS" "$m" "$WHOLE_B" "$T" 1 0.9 ;;
    esac
  done
fi
echo "meta.load_after $(load1)" >> "$RAW"
echo
"$BUILD/bench/bench_report" "$RAW" "$OUT/latest.txt" "$OUT/latest.h5" || failed+=("report")
echo
echo "table: $OUT/latest.txt; every value: $OUT/latest.h5 (h5dump -A $OUT/latest.h5); $((SECONDS - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "make bench: these steps failed: ${failed[*]}"
  exit 1
fi
