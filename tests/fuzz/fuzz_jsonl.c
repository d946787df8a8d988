// fuzz_jsonl.c: libFuzzer target for the JSON Lines readers of the text
// formats (core/data/text.c: boolq and text_classification) and their
// tokenization (core/data/tokenizer.h over libsentencepiece), through
// dataset_open and one dataset_batch of every item. Input: one flag byte,
// then up to two files separated by the line "\n===\n":
//   boolq                train.jsonl, val.jsonl
//   text_classification  train.jsonl, test.jsonl
// Flag bits: 0 format (0 boolq, 1 text_classification); 1 the test split;
// 2-3 max_length 1, 5, 16 or 128; 4 text_classification with the keys "t"
// and "y"; 5 pad_id 0 (<unk>, which texts can produce: the pad-in-text
// error); 6 the val split (val_fraction 0.5); 7 keep classes [1, 0].
// dataset_open must return 0 or -1 with a message; on success every label
// is a class, every row starts with BOS, holds ids of the vocabulary, and
// once padded stays padded, and the batch carries the rows as floats.
// The tokenizer (byte-fallback BPE, Llama's ids) is made by spm_train at
// start-up in the target's temporary folder.
// Seeds: WB_FUZZ_SEEDS=DIR ./fuzz_jsonl writes small valid inputs to DIR.
#include "core/data/dataset.h"
#include "tests/fuzz/fuzz.h"

static char tok_path[600];

static void write_seed(const char *dir, const char *name, uint8_t flags, const char *train, const char *other) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f) exit(1);
    fputc(flags, f);
    fprintf(f, "%s%s%s", train, other ? FZ_SEP : "", other ? other : "");
    fclose(f);
}

static void write_seeds(const char *dir) {
    const char *bq = "{\"question\": \"is the cup blue\", \"passage\": \"the box is red and the cup is blue\", \"idx\": 0, \"label\": true}\n"
                     "{\"question\": \"is the box green\", \"passage\": \"the box is red and the cup is blue\", \"idx\": 1, \"label\": false}\n"
                     "\n{\"question\": \"est-ce caf\\u00e9 ?\", \"passage\": \"na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac \\\"q\\\" \\n tab\\t\", \"label\": 1}\r\n"
                     "{\"question\": \"\", \"passage\": \"\", \"label\": 0}";
    const char *bv = "{\"question\": \"is the hat gold\", \"passage\": \"the hat is gold and the pen is white\", \"label\": true}\n";
    write_seed(dir, "boolq_train", 0x0c, bq, bv);
    write_seed(dir, "boolq_test_T5", 0x02 | 0x04, bq, bv);
    write_seed(dir, "boolq_val_pad0", 0x40 | 0x20 | 0x08, bq, bv);
    const char *tc = "{\"text\": \"the quick brown fox\", \"label\": 0}\n{\"text\": \"caf\\u00e9 \xf0\x9f\x98\x80\", \"label\": 2}\n"
                     "{\"text\": \"digits 12345\", \"label\": 1, \"extra\": [1, {\"a\": null}]}\n";
    const char *tt = "{\"text\": \"lazy dog\", \"label\": 1}\n";
    write_seed(dir, "textcls_train", 0x01 | 0x0c, tc, tt);
    write_seed(dir, "textcls_test_classes", 0x01 | 0x02 | 0x80, tc, tt);
    const char *tk = "{\"t\": \"a b c\", \"y\": 1}\n{\"t\": \"d e\", \"y\": 0.0}\n";
    write_seed(dir, "textcls_keys", 0x01 | 0x10 | 0x04, tk, tk);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    const char *seeds = getenv("WB_FUZZ_SEEDS");
    if (seeds) { write_seeds(seeds); exit(0); }
    fz_setup("jsonl");
    fz_mkdir("data");
    static const char corpus[] = "is the cup blue [SEP] the box is red and the cup is blue\n"
                                 "the quick brown fox jumps over the lazy dog 0123456789\n"
                                 "caf\xc3\xa9 na\xc3\xafve fa\xc3\xa7" "ade \xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xe6\x97\xa5\xe6\x9c\xac\n";
    fz_write("corpus.txt", corpus, sizeof corpus - 1);
    char in[600], prefix[600], cmd[2048];
    fz_path(in, sizeof in, "corpus.txt");
    fz_path(prefix, sizeof prefix, "tok");
    snprintf(cmd, sizeof cmd,
             "spm_train --input='%s' --model_prefix='%s' --vocab_size=400 --hard_vocab_limit=false --model_type=bpe "
             "--character_coverage=1.0 --byte_fallback=true --bos_id=1 --eos_id=2 --unk_id=0 --pad_id=-1 "
             "--normalization_rule_name=identity --remove_extra_whitespaces=false --split_digits=true --num_threads=1 > /dev/null 2>&1",
             in, prefix);
    if (system(cmd) != 0) { fprintf(stderr, "fuzz_jsonl: spm_train failed (apt-get install sentencepiece): %s\n", cmd); abort(); }
    snprintf(tok_path, sizeof tok_path, "%s.model", prefix);
    return 0;
}

static void check_rows(const Dataset *ds) {
    int T = ds->src.T, V = dataset_vocab_size(ds), pad = ds->cfg.pad_id, n = ds->n;
    if (dataset_item_floats(ds) != T || T != ds->cfg.max_length || V < 3 || pad < 0 || pad >= V) {
        fprintf(stderr, "fuzz_jsonl: T %d, floats %d, vocab %d, pad %d\n", T, dataset_item_floats(ds), V, pad);
        abort();
    }
    for (int i = 0; i < n; i++) {
        const int32_t *row = ds->src.tokens + (size_t)i * T;
        if (ds->labels[i] < 0 || ds->labels[i] >= ds->num_classes) { fprintf(stderr, "fuzz_jsonl: item %d label %d\n", i, ds->labels[i]); abort(); }
        if (row[0] != 1) { fprintf(stderr, "fuzz_jsonl: item %d starts with %d, not BOS\n", i, row[0]); abort(); }
        int padded = 0;
        for (int t = 0; t < T; t++) {
            if (row[t] < 0 || row[t] >= V) { fprintf(stderr, "fuzz_jsonl: item %d id %d outside 0..%d\n", i, row[t], V - 1); abort(); }
            if (padded && row[t] != pad) { fprintf(stderr, "fuzz_jsonl: item %d: id %d after the first pad\n", i, row[t]); abort(); }
            padded |= row[t] == pad;
        }
    }
    int B = n < 64 ? n : 64, idx[64], y[64];
    float *x = mem_alloc_floats((size_t)B * T, MEM_WORKSPACE);
    for (int b = 0; b < B; b++) idx[b] = n - 1 - b;
    WbError err = {{0}};
    if (dataset_batch((Dataset *)ds, idx, B, 0, x, y, &err) != B) { fprintf(stderr, "fuzz_jsonl: batch: %s\n", err.msg); abort(); }
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            if (x[(size_t)b * T + t] != (float)ds->src.tokens[(size_t)idx[b] * T + t] || y[b] != ds->labels[idx[b]]) {
                fprintf(stderr, "fuzz_jsonl: batch item %d differs from its row\n", b);
                abort();
            }
    mem_free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    fz_begin();
    uint8_t fl = data[0];
    int textcls = fl & 1;
    FzPart part[2];
    int np = fz_split(data + 1, size - 1, part, 2);
    fz_write("data/train.jsonl", part[0].p, part[0].n);
    if (np > 1) fz_write(textcls ? "data/test.jsonl" : "data/val.jsonl", part[1].p, part[1].n);
    static const int Ts[4] = {1, 5, 16, 128};
    DataConfig cfg;
    data_config_default(&cfg);
    cfg.format = textcls ? DATA_TEXT_CLASSIFICATION : DATA_BOOLQ;
    cfg.split = fl & 2 ? SPLIT_TEST : fl & 0x40 ? SPLIT_VAL : SPLIT_TRAIN;
    cfg.val_fraction = fl & 0x40 ? 0.5f : 0.2f;
    cfg.max_length = Ts[(fl >> 2) & 3];
    if (textcls && (fl & 0x10)) { snprintf(cfg.text_key, sizeof cfg.text_key, "t"); snprintf(cfg.label_key, sizeof cfg.label_key, "y"); }
    if (fl & 0x20) cfg.pad_id = 0;
    if (fl & 0x80) { cfg.classes[0] = 1; cfg.classes[1] = 0; cfg.n_classes = 2; }
    fz_path(cfg.path, sizeof cfg.path, "data");
    snprintf(cfg.tokenizer, sizeof cfg.tokenizer, "%s", tok_path);
    Dataset ds;
    WbError err = {{0}};
    if (dataset_open(&ds, &cfg, &err) == 0) {
        if (ds.n < 1 || (!textcls && ds.num_classes != 2)) { fprintf(stderr, "fuzz_jsonl: %d items, %d classes\n", ds.n, ds.num_classes); abort(); }
        check_rows(&ds);
        dataset_close(&ds);
    } else if (!err.msg[0]) {
        fprintf(stderr, "fuzz_jsonl: dataset_open failed without a message\n");
        abort();
    }
    fz_unlink("data/train.jsonl");
    fz_unlink(textcls ? "data/test.jsonl" : "data/val.jsonl");
    fz_end("dataset_open (jsonl)");
    return 0;
}
