#!/usr/bin/env python3
"""ref_tokenizer.py OUTDIR: python3-sentencepiece reference for the C
tokenizer and the text data sets (tests/test_text_data.c). Writes
  OUTDIR/text_task/            experiments/gen_text_task.sh's task (seed 1):
                               train.jsonl, val.jsonl, tokenizer.model (BPE, <= 256 pieces)
  OUTDIR/tok_llama/tokenizer.model  a Llama-style BPE with byte fallback (as
                               TinyLlama's: unknown characters become <0xNN>
                               pieces), 600 pieces, trained by spm_train on
                               the task's texts plus a few non-ASCII lines
  OUTDIR/tokenizer_ref.json    for each model: bos/eos/unk/vocab, the ids
                               sp.encode gives for every text of TEXTS, and
                               the Hugging Face call of the authors,
                               tokenizer(text, truncation=True,
                               padding="max_length", max_length=T), which for
                               a Llama tokenizer is [bos] + ids, cut to T,
                               right-padded with pad = eos; plus BoolQ pairs
                               with their "{question} [SEP] {passage}" ids.
Skips the work when tokenizer_ref.json carries the same VERSION."""
import json
import os
import subprocess
import sys

import sentencepiece as spm

VERSION = "tokenizer-v1"
LONG = " ".join(["the box is red and the cup is blue"] * 30)
TEXTS = [
    "",
    "is the cup blue [SEP] the box is red and the cup is blue",
    "is the hat green",
    " leading space",
    "trailing space ",
    "double  space  inside",
    "tab\tand\nnewline",
    "café naïve façade",
    "Ünïcödé ÀÉÎÕÜ ß",
    "日本語のテキスト",
    "привет мир",
    "مرحبا بالعالم",
    "emoji 😀 🎉 and 👩‍👩‍👧",
    "combining e\u0301 and ligature \ufb01 and fullwidth \uff21 and circled \u2460",
    "digits 12345 and 3.14",
    "[SEP]",
    "<s> not special </s> <unk>",
    "the quick brown fox jumps over the lazy dog",
    LONG,
]
PADDED_T = [1, 4, 16, 128]
BOOLQ = [
    ("is the cup blue", "the box is red and the cup is blue", True),
    ("is the box green", "the box is red and the cup is blue", False),
    ("is the kite gold", "the kite is gold and the sock is white", True),
    ("is the lamp orange", LONG, False),
    ("is the café open", "the café is open, naïvely", True),
]
EXTRA_CORPUS = [
    "café naïve façade über straße",
    "the quick brown fox jumps over the lazy dog 0123456789",
    "привет мир", "日本語", "hello world. Hello, World!",
]


def spm_train(corpus, prefix, vocab, byte_fallback):
    subprocess.run(["spm_train", f"--input={corpus}", f"--model_prefix={prefix}", f"--vocab_size={vocab}",
                    "--hard_vocab_limit=false", "--model_type=bpe", "--character_coverage=1.0",
                    "--bos_id=1", "--eos_id=2", "--unk_id=0", "--pad_id=-1",
                    "--normalization_rule_name=identity", "--add_dummy_prefix=true",
                    "--remove_extra_whitespaces=false", "--split_digits=true",
                    f"--byte_fallback={'true' if byte_fallback else 'false'}",
                    "--num_threads=1", "--random_seed=1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def hf_llama(sp, ids, T):
    """tokenizer(text, truncation=True, padding="max_length", max_length=T) of a Llama tokenizer, pad = eos."""
    seq = ([sp.bos_id()] + ids)[:T]
    return seq + [sp.eos_id()] * (T - len(seq)), len(seq)


def describe(sp, path):
    model = {"path": path, "bos": sp.bos_id(), "eos": sp.eos_id(), "unk": sp.unk_id(), "vocab": sp.get_piece_size(),
             "pieces": {p: sp.piece_to_id(p) for p in ["<s>", "</s>", "<unk>", "\u2581the", "no-such-piece"]},
             "texts": []}
    for t in TEXTS:
        ids = sp.encode(t, out_type=int)
        padded = {}
        for T in PADDED_T:
            row, n = hf_llama(sp, ids, T)
            padded[str(T)] = {"ids": row, "len": n, "truncated": 1 + len(ids) > T}
        model["texts"].append({"text": t, "ids": ids, "padded": padded})
    model["boolq"] = []
    for q, p, label in BOOLQ:
        row, n = hf_llama(sp, sp.encode(f"{q} [SEP] {p}", out_type=int), 128)
        model["boolq"].append({"question": q, "passage": p, "label": label, "ids128": row, "len": n})
    return model


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/ref"
    ref = os.path.join(out, "tokenizer_ref.json")
    try:
        with open(ref) as f:
            if json.load(f).get("version") == VERSION:
                print(f"{ref}: up to date ({VERSION})")
                return
    except (OSError, ValueError):
        pass
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    task = os.path.join(out, "text_task")
    subprocess.run(["bash", os.path.join(root, "experiments", "gen_text_task.sh"), task, "1"], check=True)
    llama = os.path.join(out, "tok_llama")
    os.makedirs(llama, exist_ok=True)
    corpus = os.path.join(llama, "corpus.txt")
    with open(os.path.join(task, "train.jsonl")) as f, open(corpus, "w") as c:
        for line in f:
            r = json.loads(line)
            c.write(f"{r['question']} [SEP] {r['passage']}\n")
        c.write("\n".join(EXTRA_CORPUS) + "\n")
    spm_train(corpus, os.path.join(llama, "tokenizer"), 600, True)
    os.remove(corpus)
    models = {}
    for name, d in (("text_task", task), ("tok_llama", llama)):
        path = os.path.join(d, "tokenizer.model")
        models[name] = describe(spm.SentencePieceProcessor(model_file=path), path)
    with open(ref + ".tmp", "w") as f:
        json.dump({"version": VERSION, "sentencepiece": spm.__version__, "models": models}, f, ensure_ascii=False)
    os.replace(ref + ".tmp", ref)
    n = sum(len(m["texts"]) for m in models.values())
    print(f"{ref}: {n} texts over {len(models)} models ({VERSION})")


if __name__ == "__main__":
    main()
