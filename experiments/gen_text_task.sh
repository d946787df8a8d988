#!/usr/bin/env bash
# experiments/gen_text_task.sh OUTDIR [SEED [N_TRAIN [N_VAL]]]: a small
# yes/no task in SuperGLUE BoolQ's format (dataset format boolq), for the
# mini paper figures and the tests. Writes
#   OUTDIR/train.jsonl  N_TRAIN lines (default 3000)
#   OUTDIR/val.jsonl    N_VAL lines (default 1000; the boolq test split)
#   OUTDIR/tokenizer.model (+ .vocab)  a Llama-style sentencepiece BPE model
#     (<unk> 0, <s> 1, </s> 2, no pad; identity normalisation, dummy prefix,
#     whitespace kept, digits split), at most 256 pieces, trained by Debian's
#     spm_train on the training texts.
# A line: {"question": "is the cup blue", "passage": "the box is red and the
# cup is blue", "idx": 7, "label": true}. The passage gives two objects two
# different colours; the question asks one of them with its own colour
# (true) or with a colour the passage does not mention (false), so the
# answer is whether the question's colour word occurs in the passage: one
# word to match, learnable by a 4-layer transformer. Labels are balanced.
# Deterministic from SEED (default 1): a 31-bit LCG in shell arithmetic, the
# same on every machine; spm_train runs on one thread.
set -eu
out=${1:?usage: gen_text_task.sh OUTDIR [SEED [N_TRAIN [N_VAL]]]}
seed=${2:-1}
n_train=${3:-3000}
n_val=${4:-1000}
command -v spm_train > /dev/null || { echo "gen_text_task.sh: spm_train not found (apt-get install sentencepiece, or make deps)" >&2; exit 1; }
mkdir -p "$out"

objects=(box cup hat ball car door bag pen book lamp key sock chair table kite boat)
colours=(red blue green black white yellow pink brown gray orange purple gold)
no=${#objects[@]} nc=${#colours[@]}
s=$(( (seed * 2654435761 + 1013904223) & 0x7fffffff ))
r=0
# r = a draw in 0..$1-1
draw() { s=$(( (s * 1103515245 + 12345) & 0x7fffffff )); r=$(( (s >> 8) % $1 )); }

# gen N FILE CORPUS: N lines of JSON to FILE; the texts also to CORPUS (may be /dev/null)
gen() {
  local n=$1 i o1 o2 c1 c2 j c obj label
  for ((i = 0; i < n; i++)); do
    draw $no; o1=$r
    draw $((no - 1)); o2=$(( r >= o1 ? r + 1 : r ))
    draw $nc; c1=$r
    draw $((nc - 1)); c2=$(( r >= c1 ? r + 1 : r ))
    draw 2; j=$r
    if [ $j -eq 0 ]; then obj=${objects[$o1]}; c=$c1; else obj=${objects[$o2]}; c=$c2; fi
    draw 2
    if [ $r -eq 1 ]; then label=true
    else
      label=false
      draw $((nc - 2)); c=$r   # the r-th colour that is neither c1 nor c2
      lo=$(( c1 < c2 ? c1 : c2 )); hi=$(( c1 < c2 ? c2 : c1 ))
      [ $c -ge $lo ] && c=$((c + 1))
      [ $c -ge $hi ] && c=$((c + 1))
    fi
    q="is the $obj ${colours[$c]}"
    p="the ${objects[$o1]} is ${colours[$c1]} and the ${objects[$o2]} is ${colours[$c2]}"
    printf '{"question": "%s", "passage": "%s", "idx": %d, "label": %s}\n' "$q" "$p" "$i" "$label" >&3
    printf '%s [SEP] %s\n' "$q" "$p" >&4
  done
}

start=$(date +%s%N)
gen "$n_train" 3> "$out/train.jsonl" 4> "$out/corpus.txt"
gen "$n_val" 3> "$out/val.jsonl" 4> /dev/null
spm_train --input="$out/corpus.txt" --model_prefix="$out/tokenizer" --vocab_size=256 --hard_vocab_limit=false \
  --model_type=bpe --character_coverage=1.0 --bos_id=1 --eos_id=2 --unk_id=0 --pad_id=-1 \
  --normalization_rule_name=identity --add_dummy_prefix=true --remove_extra_whitespaces=false --split_digits=true \
  --num_threads=1 --random_seed=1 > "$out/spm_train.log" 2>&1 \
  || { echo "gen_text_task.sh: spm_train failed (see $out/spm_train.log)" >&2; exit 1; }
rm -f "$out/corpus.txt"
echo "gen_text_task.sh: $out/{train,val}.jsonl ($n_train + $n_val lines, seed $seed), $out/tokenizer.model" \
     "($(wc -l < "$out/tokenizer.vocab") pieces), $(( ($(date +%s%N) - start) / 1000000 )) ms"
