#!/usr/bin/env bash
# tests/check_layers.sh [ROOT]: the layering rules of ARCHITECTURE.md, one
# PASS/FAIL line each (tests/run.sh counts them):
#   core/ never includes baselines/ or experiments/;
#   baselines/ never includes experiments/ (nothing below experiments includes it);
#   the layers never include a model header;
#   core/runtime/ includes nothing else of core, core/linalg/ only runtime/.
# Without ROOT it checks the repository, then plants one violation of each
# rule in a scratch tree and requires the check to catch it (a rule that
# cannot fail is no check).
set -u

# The layer files: everything in core/nn/ (layers and the linear-method interface).
layer_files() { [ -d "$1/core/nn" ] && find "$1/core/nn" -name '*.[ch]'; }
MODEL_HDR='([^"]*/)?(vit|swin|model|model_params|vit_cost|swin_cost)\.h"|core/models/'

# rule NAME PATTERN FILES...: FAIL with the offending lines when any file includes PATTERN.
rule() {
  local name=$1 pat=$2; shift 2
  local hits
  hits=$( [ $# -gt 0 ] && grep -HnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*\"($pat)" "$@" 2>/dev/null)
  if [ -n "$hits" ]; then echo "FAIL layers: $name"; echo "$hits" | sed 's/^/  /'; return 1; fi
  echo "PASS layers: $name"
}

check() {
  local root=$1 bad=0
  rule "core never includes baselines/ or experiments/" '([^"]*/)?(baselines|experiments)/' \
       $(find "$root/core" -name '*.[ch]') || bad=1
  rule "baselines never includes experiments/" '([^"]*/)?experiments/' $(find "$root/baselines" -name '*.[ch]') || bad=1
  rule "layers never include a model header" "$MODEL_HDR" $(layer_files "$root") || bad=1
  # The bottom floors: runtime/ stands on nothing else of core, linalg/ only on runtime/.
  rule "core/runtime includes only core/runtime" 'core/(compress|data|io|linalg|models|nn|train)/' \
       $( [ -d "$root/core/runtime" ] && find "$root/core/runtime" -name '*.[ch]') || bad=1
  rule "core/linalg includes only core/runtime and itself" 'core/(compress|data|io|models|nn|train)/' \
       $( [ -d "$root/core/linalg" ] && find "$root/core/linalg" -name '*.[ch]') || bad=1
  return $bad
}

if [ $# -ge 1 ]; then check "$1"; exit; fi
root=$(cd "$(dirname "$0")/.." && pwd)
check "$root"
# Self-test: each planted violation must make the check fail.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for plant in 'core/x.c:experiments/runner.h' 'baselines/x.c:experiments/config.h' 'core/nn/layers.h:vit.h' \
             'core/runtime/memory.c:core/nn/layers.h' 'core/linalg/blas.c:core/models/model.h'; do
  rm -rf "$tmp/t"; mkdir -p "$tmp/t/core" "$tmp/t/baselines"
  file=${plant%%:*}; inc=${plant#*:}
  mkdir -p "$(dirname "$tmp/t/$file")"
  echo "#include \"$inc\"" > "$tmp/t/$file"
  if check "$tmp/t" > "$tmp/out" 2>&1; then echo "FAIL layers: a planted '$file includes $inc' went unnoticed"
  else echo "PASS layers: a planted '$file includes $inc' is caught"; fi
done
