#!/usr/bin/env bash
# tests/valgrind.sh [BUILD_DIR]: a short sweep under valgrind memcheck.
# BUILD_DIR (default build-vg, made by `make valgrind-bin`) holds a wasibench
# built without -march=native: valgrind 3.19 cannot decode AVX-512.
# On a generated 10-class IDX set (128 training, 64 test images), one
# experiment with every method (vanilla, lora, hosvd, asi with budget-driven
# ranks, wasi dense and factored) runs 3 steps each with 2 threads, then the
# same command again (resume: everything complete), then `info` and `merge`.
# Each program must exit 0 with no memcheck error (invalid read/write, use of
# uninitialised values, bad free) and nothing definitely or indirectly lost;
# valgrind's own exit code 99 marks an error. Prints one PASS/FAIL line per
# program (tests/run.sh counts them); logs in tests/logs/valgrind-*.log.
set -u
cd "$(dirname "$0")/.."
dir=${1:-build-vg}
bin="$dir/wasibench"
mkdir -p tests/logs
if ! command -v valgrind > /dev/null; then echo "FAIL valgrind: not installed (apt-get install valgrind; make deps does it)"; exit 1; fi
if [ ! -x "$bin" ]; then echo "FAIL valgrind: $bin not built (make valgrind-bin)"; exit 1; fi
work="tests/data/gen/valgrind"
rm -rf "$work"; mkdir -p "$work"

# A learnable IDX data set: class c lights a 7x7 block, plus noise.
PYTHON=${PYTHON:-/usr/bin/python3}
"$PYTHON" - "$work" <<'EOF'
import struct, sys, random
d = sys.argv[1]
rnd = random.Random(7)
for prefix, n in (("train", 128), ("t10k", 64)):
    img = bytearray(struct.pack(">IIII", 0x803, n, 28, 28))
    lab = bytearray(struct.pack(">II", 0x801, n))
    for i in range(n):
        c = i % 10
        for y in range(28):
            for x in range(28):
                on = y // 7 == c // 4 and x // 7 == c % 4
                img.append(160 + rnd.randrange(90) if on else rnd.randrange(60))
        lab.append(c)
    open(f"{d}/{prefix}-images-idx3-ubyte", "wb").write(img)
    open(f"{d}/{prefix}-labels-idx1-ubyte", "wb").write(lab)
EOF
cat > "$work/vg.yaml" <<EOF
experiment: valgrind
model: {image_size: 16, patch: 4, channels: 1, dim: 32, depth: 2, heads: 2, mlp_dim: 64}
dataset: {format: mnist, path: $PWD/$work, image_size: 16, channels: 1, limit_train: 64, limit_val: 32}
training: {epochs: 1, batch_size: 16, lr: 0.05, max_steps: 3}   # plain SGD: wasi factored has no momentum
methods:
  - vanilla
  - {name: lora, rank: 4}
  - {name: hosvd, epsilon: 0.9}
  - {name: asi}
  - {name: wasi, epsilon: 0.9}
  - {name: wasi, epsilon: 0.9, storage: factored}
EOF

export OMP_WAIT_POLICY=passive   # else wasibench re-executes itself (main.c), outside valgrind
vg=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --track-origins=no --num-callers=30)
fail=0
check() {   # name, then the wasibench arguments
  local name=$1; shift
  local log="tests/logs/valgrind-$name.log" start=$SECONDS
  "${vg[@]}" --log-file="$log.vg" "$bin" "$@" > "$log" 2>&1
  local rc=$?
  cat "$log.vg" >> "$log"; rm -f "$log.vg"
  local errs lost
  errs=$(grep -a 'ERROR SUMMARY:' "$log" | tail -1 | sed 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/')
  lost=$(grep -a -E '(definitely|indirectly) lost:' "$log" | sed -E 's/.*(definitely|indirectly) lost: ([0-9,]+ bytes).*/\1 \2/' | paste -sd, - | sed 's/,/, /g')
  if [ $rc -eq 0 ] && [ "${errs:-x}" = "0" ]; then
    echo "PASS valgrind $name: exit 0, 0 memcheck errors, lost: ${lost:-none (all heap blocks freed)} ($((SECONDS - start)) s)"
  else
    echo "FAIL valgrind $name: exit $rc, ${errs:-?} memcheck errors, lost: ${lost:-?} (see $log)"
    grep -a -m8 -E 'Invalid|uninitialised|definitely lost|indirectly lost|by 0x|at 0x' "$log" | head -12 | sed 's/^/  /'
    fail=1
  fi
}
check run run "$work/vg.yaml" --out "$work/vg.h5" --threads 2 --plain
check resume run "$work/vg.yaml" --out "$work/vg.h5" --threads 2 --plain
check info info "$work/vg.h5"
if ! grep -q '6 runs (6 complete' "tests/logs/valgrind-info.log"; then
  echo "FAIL valgrind sweep: expected 6 complete runs in $work/vg.h5 (see tests/logs/valgrind-info.log)"; fail=1
fi
check merge merge "$work/merged.h5" "$work/vg.h5"
exit $fail
