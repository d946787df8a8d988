// test_text_data.c: the text side of the data loader. The C tokenizer
// (core/data/tokenizer.h over libsentencepiece) against python3-sentencepiece
// (tests/ref_tokenizer.py -> tests/data/ref/tokenizer_ref.json) on two
// models made by spm_train: ids of every reference text (non-ASCII, empty,
// longer than max_length) and the Hugging Face call of the authors (BOS, right
// truncation, right padding with the pad id). The boolq and
// text_classification formats on files the test writes: token rows equal to
// the reference, labels, the train/val partition of train.jsonl, test =
// val.jsonl / test.jsonl, batches of floats, the pad id and max_length
// settings, and an error naming file and line for every kind of bad input.
// Finally experiments/gen_text_task.sh: deterministic, balanced, and its
// labels follow the rule it states.
#include "core/data/dataset.h"
#include "core/data/tokenizer.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"
#include "experiments/config.h"
#include "tests/testlib.h"

#include <cJSON.h>
#include "core/io/json_tracked.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REF_JSON "tests/data/ref/tokenizer_ref.json"
#define TASK_DIR "tests/data/ref/text_task"

// cJSON through the tracked allocator while the test parses or builds JSON
// (the reference tree is freed at the end with the hooks on again).
static void hooks_on(void) { json_tracked_begin(MEM_WORKSPACE); }
static void hooks_off(void) { json_tracked_end(); }

static cJSON *g_ref;   // tokenizer_ref.json

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = mem_alloc((size_t)len + 1, MEM_WORKSPACE);
    size_t got = fread(p, 1, (size_t)len, f);
    fclose(f);
    p[got] = 0;
    if (n) *n = got;
    return p;
}

static int load_ref(void) {
    if (g_ref) return 0;
    char *t = slurp(REF_JSON, NULL);
    if (!t) { EXPECT(0, "%s missing (generate it with: bash tests/make_reference.sh)", REF_JSON); return -1; }
    hooks_on();
    g_ref = cJSON_Parse(t);
    hooks_off();
    mem_free(t);
    EXPECT(g_ref != NULL, "%s parses", REF_JSON);
    return g_ref ? 0 : -1;
}

static const cJSON *ref_model(const char *name) {
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(g_ref, "models"), name);
}
static int jint(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k)->valueint; }
static const char *jstr(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k)->valuestring; }

// 1 when a[0..n) equals the JSON int array ref (same length).
static int ids_equal(const int32_t *a, int n, const cJSON *ref) {
    if (cJSON_GetArraySize(ref) != n) return 0;
    int i = 0;
    for (const cJSON *v = ref->child; v; v = v->next, i++)
        if (a[i] != v->valueint) return 0;
    return 1;
}


static void write_file(const char *dir, const char *name, const char *text) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f, "fopen %s", path);
    fputs(text, f);
    fclose(f);
}

// One JSON line {ka: a, kb: b, kl: label} (b may be NULL; label_kind 0 bool, 1 number).
static void put_line(FILE *f, const char *ka, const char *a, const char *kb, const char *b, const char *kl, int label, int label_kind) {
    hooks_on();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, ka, a);
    if (b) cJSON_AddStringToObject(o, kb, b);
    if (label_kind == 0) cJSON_AddBoolToObject(o, kl, label);
    else cJSON_AddNumberToObject(o, kl, label);
    char *s = cJSON_PrintUnformatted(o);
    fprintf(f, "%s\n", s);
    cJSON_free(s);
    cJSON_Delete(o);
    hooks_off();
}

static FILE *open_in(const char *dir, const char *name) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f, "fopen %s", path);
    return f;
}

static DataConfig text_cfg(DataFormat f, const char *dir, DataSplit split, const char *tokenizer) {
    DataConfig c;
    data_config_default(&c);
    c.format = f;
    c.split = split;
    c.shuffle = 0;
    snprintf(c.path, sizeof c.path, "%s", dir);
    if (tokenizer) snprintf(c.tokenizer, sizeof c.tokenizer, "%s", tokenizer);
    return c;
}

static int open_ok(Dataset *ds, const DataConfig *c, const char *what) {
    WbError err = {{0}};
    int rc = dataset_open(ds, c, &err);
    EXPECT(rc == 0, "%s: %s", what, err.msg);
    return rc == 0;
}

// Opening must fail with a message containing every given fragment, and free what it took.
static void expect_open_error(const DataConfig *c, const char *what, const char *f1, const char *f2, const char *f3) {
    Dataset ds;
    WbError err = {{0}};
    size_t m0 = mem_stats().current[MEM_DATA];
    int rc = dataset_open(&ds, c, &err);
    EXPECT(rc == -1, "%s: open must fail", what);
    if (rc == 0) { dataset_close(&ds); return; }
    const char *fr[3] = {f1, f2, f3};
    for (int k = 0; k < 3; k++)
        if (fr[k]) EXPECT(strstr(err.msg, fr[k]) != NULL, "%s: message names '%s': %s", what, fr[k], err.msg);
    EXPECT(mem_stats().current[MEM_DATA] == m0, "%s: a failed open frees its memory", what);
    printf("  %s -> %s\n", what, err.msg);
}

static char g_model_path[2][600];   // text_task, tok_llama

// ---------------------------------------------------------------------------
// the tokenizer against python3-sentencepiece

static void check_model(const char *name, int *n_texts, int *n_equal) {
    const cJSON *m = ref_model(name);
    if (!m) { EXPECT(0, "%s: model %s", REF_JSON, name); return; }
    WbError err = {{0}};
    Tokenizer *t = tokenizer_open(jstr(m, "path"), &err);
    EXPECT(t != NULL, "open %s: %s", jstr(m, "path"), err.msg);
    if (!t) return;
    EXPECT(tokenizer_vocab_size(t) == jint(m, "vocab") && tokenizer_bos_id(t) == jint(m, "bos") && tokenizer_eos_id(t) == jint(m, "eos") &&
           tokenizer_unk_id(t) == jint(m, "unk"),
           "%s: vocab %d bos %d eos %d unk %d (python %d %d %d %d)", name, tokenizer_vocab_size(t), tokenizer_bos_id(t),
           tokenizer_eos_id(t), tokenizer_unk_id(t), jint(m, "vocab"), jint(m, "bos"), jint(m, "eos"), jint(m, "unk"));
    EXPECT(tokenizer_bos_id(t) == 1 && tokenizer_eos_id(t) == 2 && tokenizer_unk_id(t) == 0, "%s: Llama's <unk> 0, <s> 1, </s> 2", name);
    for (const cJSON *p = cJSON_GetObjectItemCaseSensitive(m, "pieces")->child; p; p = p->next)
        EXPECT(tokenizer_piece_to_id(t, p->string) == p->valueint, "%s: piece_to_id('%s') = %d (python %d)", name, p->string,
               tokenizer_piece_to_id(t, p->string), p->valueint);
    int32_t row[128];
    int ids[1024];
    for (const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "texts")->child; c; c = c->next) {
        const char *text = jstr(c, "text");
        const cJSON *ref = cJSON_GetObjectItemCaseSensitive(c, "ids");
        long n = tokenizer_encode(t, text, strlen(text), ids, 1024, &err);
        int ok = n >= 0 && n <= 1024 && n == cJSON_GetArraySize(ref);
        for (int i = 0; ok && i < n; i++) ok = ids[i] == cJSON_GetArrayItem(ref, i)->valueint;
        // a short buffer gets the first ids and the full count
        long n2 = tokenizer_encode(t, text, strlen(text), ids, 3, &err);
        ok &= n2 == n;
        for (int i = 0; ok && i < 3 && i < n; i++) ok = ids[i] == cJSON_GetArrayItem(ref, i)->valueint;
        for (const cJSON *pd = cJSON_GetObjectItemCaseSensitive(c, "padded")->child; pd; pd = pd->next) {
            int T = atoi(pd->string), cut = -1;
            int len = tokenizer_encode_padded(t, text, strlen(text), T, tokenizer_eos_id(t), row, &cut, &err);
            ok &= len == jint(pd, "len") && cut == cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pd, "truncated")) &&
                  ids_equal(row, T, cJSON_GetObjectItemCaseSensitive(pd, "ids"));
        }
        EXPECT(ok, "%s: ids of '%.40s' (%zu bytes) equal python's (%ld ids)", name, text, strlen(text), n);
        (*n_texts)++;
        *n_equal += ok;
    }
    tokenizer_free(t);
}

static void test_tokenizer_matches_python(void) {
    if (load_ref() < 0) return;
    int n = 0, eq = 0;
    check_model("text_task", &n, &eq);
    check_model("tok_llama", &n, &eq);
    EXPECT(n >= 30, "%d reference texts", n);
    printf("  tokenizer: %d of %d texts give python3-sentencepiece's ids (and HF padding at T = 1, 4, 16, 128)\n", eq, n);
}

static void test_tokenizer_errors(void) {
    WbError err = {{0}};
    const char *d = tl_fresh_dir("tok_errors");
    char path[800];
    snprintf(path, sizeof path, "%s/none.model", d);
    EXPECT(tokenizer_open(path, &err) == NULL && strstr(err.msg, path) && strstr(err.msg, "not found"), "missing model: %s", err.msg);
    write_file(d, "junk.model", "this is not a protobuf model\n");
    snprintf(path, sizeof path, "%s/junk.model", d);
    size_t m0 = mem_stats().current[MEM_DATA];
    EXPECT(tokenizer_open(path, &err) == NULL && strstr(err.msg, path) && strstr(err.msg, "not a sentencepiece model"), "junk model: %s", err.msg);
    EXPECT(mem_stats().current[MEM_DATA] == m0, "a failed open keeps no tracked memory");
    printf("  %s\n", err.msg);
}

// ---------------------------------------------------------------------------
// boolq

// train.jsonl: the reference pairs, then n_extra generated lines; val.jsonl: the reference pairs.
static const char *write_boolq(const char *name, int n_extra) {
    const char *d = tl_fresh_dir(name);
    const cJSON *pairs = cJSON_GetObjectItemCaseSensitive(ref_model("text_task"), "boolq");
    FILE *tr = open_in(d, "train.jsonl"), *va = open_in(d, "val.jsonl");
    for (const cJSON *p = pairs->child; p; p = p->next) {
        int lab = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "label"));
        put_line(tr, "question", jstr(p, "question"), "passage", jstr(p, "passage"), "label", lab, 0);
        put_line(va, "question", jstr(p, "question"), "passage", jstr(p, "passage"), "label", lab, 0);
    }
    for (int i = 0; i < n_extra; i++) {
        char q[64], p[96];
        snprintf(q, sizeof q, "is the pen %s", i % 2 ? "red" : "blue");
        snprintf(p, sizeof p, "the pen is blue and the car is %s", i % 3 ? "green" : "white");
        put_line(tr, "question", q, "passage", p, "label", i % 2 == 0, i % 4 == 3);   // some labels as 0/1 (HF's export)
    }
    fclose(tr);
    fclose(va);
    return d;
}

static void test_boolq(void) {
    if (load_ref() < 0) return;
    const char *d = write_boolq("boolq", 35);
    const cJSON *pairs = cJSON_GetObjectItemCaseSensitive(ref_model("text_task"), "boolq");
    int np = cJSON_GetArraySize(pairs);
    // test = val.jsonl, the tokenizer at its default place <path>/tokenizer.model
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/tokenizer.model'", g_model_path[0], d);
    CHECK(system(cmd) == 0, "%s", cmd);
    DataConfig c = text_cfg(DATA_BOOLQ, d, SPLIT_TEST, NULL);
    Dataset ds;
    if (!open_ok(&ds, &c, "boolq test")) return;
    EXPECT(ds.n == np && ds.num_classes == 2 && dataset_item_floats(&ds) == 128 && dataset_vocab_size(&ds) == 226 && ds.cfg.pad_id == 2,
           "boolq test: %d items (%d), %d classes, %d floats per item, vocab %d, pad %d", ds.n, np, ds.num_classes,
           dataset_item_floats(&ds), dataset_vocab_size(&ds), ds.cfg.pad_id);
    EXPECT(strstr(ds.cfg.tokenizer, "/tokenizer.model") && !strncmp(ds.cfg.tokenizer, d, strlen(d)), "default tokenizer path %s", ds.cfg.tokenizer);
    EXPECT(strstr(ds.src.listing, "val.jsonl") != NULL, "test split reads val.jsonl: %s", ds.src.listing);
    float *x = mem_alloc_floats((size_t)np * 128, MEM_WORKSPACE);
    int *y = mem_alloc(sizeof(int) * (size_t)np, MEM_WORKSPACE), idx[16];
    for (int i = 0; i < np; i++) idx[i] = np - 1 - i;   // reversed: rows follow idx
    EXPECT(dataset_batch(&ds, idx, np, 0, x, y, NULL) == np, "batch of %d", np);
    int k = 0;
    for (const cJSON *p = pairs->child; p; p = p->next, k++) {
        int b = np - 1 - k, ok = ids_equal(ds.src.tokens + (size_t)k * 128, 128, cJSON_GetObjectItemCaseSensitive(p, "ids128"));
        for (int t = 0; t < 128; t++) ok &= x[(size_t)b * 128 + t] == (float)ds.src.tokens[(size_t)k * 128 + t];
        int lab = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "label"));
        EXPECT(ok && y[b] == lab && ds.labels[k] == lab && ds.src.record[k] == k + 1,
               "boolq line %d: ids of \"{question} [SEP] {passage}\" equal python's, label %d (got %d), BOS first (%d)", k + 1, lab, y[b],
               ds.src.tokens[(size_t)k * 128]);
    }
    int len3 = jint(cJSON_GetArrayItem(pairs, 3), "len");
    EXPECT(len3 == 128 && ds.src.n_truncated >= 1, "the long passage is cut at 128 (len %d, %d truncated)", len3, ds.src.n_truncated);
    const int32_t *r0 = ds.src.tokens;
    int first_pad = 0;
    while (first_pad < 128 && r0[first_pad] != 2) first_pad++;
    int padded = 1;
    for (int t = first_pad; t < 128; t++) padded &= r0[t] == 2;
    EXPECT(r0[0] == 1 && first_pad == jint(cJSON_GetArrayItem(pairs, 0), "len") && padded, "BOS, then the text, then pad 2 to the end (first pad %d)", first_pad);
    char desc[512];
    dataset_describe(&ds, desc, sizeof desc);
    printf("  %s\n", desc);
    dataset_close(&ds);

    // train + val partition train.jsonl (lines 1..np+35)
    int n_lines = np + 35, seen[64] = {0};
    c = text_cfg(DATA_BOOLQ, d, SPLIT_TRAIN, g_model_path[0]);
    c.val_fraction = 0.25f;
    Dataset tr, va;
    if (!open_ok(&tr, &c, "boolq train")) goto out;
    c.split = SPLIT_VAL;
    if (!open_ok(&va, &c, "boolq val")) { dataset_close(&tr); goto out; }
    int n_val = (int)(0.25 * n_lines + 0.5);
    EXPECT(tr.n + va.n == n_lines && va.n == n_val, "train %d + val %d = %d lines (val %d)", tr.n, va.n, n_lines, n_val);
    for (int i = 0; i < tr.n; i++) seen[tr.src.record[i]]++;
    for (int i = 0; i < va.n; i++) seen[va.src.record[i]] += 2;
    int part = 1;
    for (int l = 1; l <= n_lines; l++) part &= seen[l] == 1 || seen[l] == 2;
    EXPECT(part, "every line of train.jsonl is in exactly one of train and val");
    // the generated lines' labels: even i true (bool or 1), odd false
    int lab_ok = 1;
    for (int i = 0; i < tr.n; i++) {
        int l = tr.src.record[i];
        if (l > np) lab_ok &= tr.labels[i] == ((l - np - 1) % 2 == 0);
    }
    EXPECT(lab_ok, "labels true/false and 1/0 read as 1/0");
    // a BatchIter walks the whole split in floats of T
    BatchIter it;
    batch_iter_init(&it, &tr, 8, 0);
    float *bx = mem_alloc_floats(8 * 128, MEM_WORKSPACE);
    int by[8], got, total = 0, nb = 0;
    WbError err = {{0}};
    while ((got = batch_iter_next(&it, bx, by, &err)) > 0) {
        for (int b = 0; b < got; b++) EXPECT(bx[(size_t)b * 128] == 1.0f, "BOS first in batch item %d", b);
        total += got;
        nb++;
    }
    EXPECT(got == 0 && total == tr.n && nb == batch_iter_count(&it), "iterator: %d items in %d batches", total, nb);
    mem_free(bx);
    batch_iter_free(&it);
    dataset_close(&tr);
    dataset_close(&va);
out:
    mem_free(x);
    mem_free(y);
}

static void test_boolq_settings(void) {
    if (load_ref() < 0) return;
    const char *d = write_boolq("boolq_settings", 0);
    const cJSON *pairs = cJSON_GetObjectItemCaseSensitive(ref_model("text_task"), "boolq");
    int np = cJSON_GetArraySize(pairs);
    // max_length 8: each row is the first 8 of the 128 (BOS + 7 ids)
    DataConfig c = text_cfg(DATA_BOOLQ, d, SPLIT_TEST, g_model_path[0]);
    c.max_length = 8;
    Dataset ds;
    if (open_ok(&ds, &c, "max_length 8")) {
        int ok = ds.src.T == 8 && dataset_item_floats(&ds) == 8, k = 0;
        for (const cJSON *p = pairs->child; p; p = p->next, k++) {
            const cJSON *ref = cJSON_GetObjectItemCaseSensitive(p, "ids128");
            for (int t = 0; t < 8; t++) ok &= ds.src.tokens[(size_t)k * 8 + t] == cJSON_GetArrayItem(ref, t)->valueint;
        }
        EXPECT(ok && ds.src.n_truncated == np, "max_length 8 truncates every line on the right (%d truncated)", ds.src.n_truncated);
        dataset_close(&ds);
    }
    // pad_id: explicit; the tokenizer's unk (0) appears in the text of the last pair (café) -> an error naming the line
    c = text_cfg(DATA_BOOLQ, d, SPLIT_TEST, g_model_path[0]);
    c.pad_id = 0;
    expect_open_error(&c, "pad id produced by a text", "val.jsonl' line 5", "pad id 0", "dataset.pad_id");
    c.pad_id = 226;
    expect_open_error(&c, "pad id out of the vocab", "dataset.pad_id: 226", "expected 0..225", NULL);
    c.pad_id = -1;
    c.max_length = 0;
    expect_open_error(&c, "max_length 0", "dataset.max_length: 0", NULL, NULL);
    // pad 5 on ASCII lines only: rows padded with 5
    const char *d2 = tl_fresh_dir("boolq_pad");
    write_file(d2, "val.jsonl", "{\"question\": \"is the cup blue\", \"passage\": \"the cup is blue\", \"label\": true}\n");
    write_file(d2, "train.jsonl", "{\"question\": \"q\", \"passage\": \"p\", \"label\": false}\n");
    c = text_cfg(DATA_BOOLQ, d2, SPLIT_TEST, g_model_path[1]);
    c.pad_id = 599;
    c.max_length = 40;
    if (open_ok(&ds, &c, "pad 599")) {
        int t = 0;
        while (t < 40 && ds.src.tokens[t] != 599) t++;
        int rest = t > 3;
        for (int u = t; u < 40; u++) rest &= ds.src.tokens[u] == 599;
        EXPECT(rest && ds.cfg.pad_id == 599, "padded with the configured id 599 from position %d", t);
        dataset_close(&ds);
    }
}

// ---------------------------------------------------------------------------
// text_classification

static void test_text_classification(void) {
    if (load_ref() < 0) return;
    const cJSON *m = ref_model("tok_llama"), *texts = cJSON_GetObjectItemCaseSensitive(m, "texts");
    int nt = cJSON_GetArraySize(texts);
    const char *d = tl_fresh_dir("textcls");
    // custom field names; train: every reference text, label i % 4; test: the first 6, label (i + 1) % 4
    FILE *tr = open_in(d, "train.jsonl"), *te = open_in(d, "test.jsonl");
    int i = 0;
    for (const cJSON *c = texts->child; c; c = c->next, i++) {
        put_line(tr, "sentence", jstr(c, "text"), NULL, NULL, "y", i % 4, 1);
        if (i < 6) put_line(te, "sentence", jstr(c, "text"), NULL, NULL, "y", (i + 1) % 4, 1);
    }
    fclose(tr);
    fclose(te);
    DataConfig cfg = text_cfg(DATA_TEXT_CLASSIFICATION, d, SPLIT_TRAIN, g_model_path[1]);
    snprintf(cfg.text_key, sizeof cfg.text_key, "sentence");
    snprintf(cfg.label_key, sizeof cfg.label_key, "y");
    cfg.val_fraction = 0.3f;
    Dataset a, b, t;
    if (!open_ok(&a, &cfg, "text_classification train")) return;
    cfg.split = SPLIT_VAL;
    if (!open_ok(&b, &cfg, "text_classification val")) { dataset_close(&a); return; }
    cfg.split = SPLIT_TEST;
    if (!open_ok(&t, &cfg, "text_classification test")) { dataset_close(&a); dataset_close(&b); return; }
    EXPECT(a.num_classes == 4 && b.num_classes == 4 && t.num_classes == 4, "classes = largest label + 1 = 4 (%d %d %d)", a.num_classes,
           b.num_classes, t.num_classes);
    EXPECT(a.n + b.n == nt && t.n == 6, "train %d + val %d = %d lines; test %d", a.n, b.n, nt, t.n);
    int ok = 1, seen[64] = {0};
    Dataset *sp[2] = {&a, &b};
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < sp[s]->n; k++) {
            int line = sp[s]->src.record[k];
            seen[line]++;
            const cJSON *ref = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(texts, line - 1), "padded"), "128");
            ok &= ids_equal(sp[s]->src.tokens + (size_t)k * 128, 128, cJSON_GetObjectItemCaseSensitive(ref, "ids"));
            ok &= sp[s]->labels[k] == (line - 1) % 4;
        }
    for (int l = 1; l <= nt; l++) ok &= seen[l] == 1;
    EXPECT(ok, "train and val partition train.jsonl; every row is python's HF-padded ids, labels as written");
    ok = 1;
    for (int k = 0; k < t.n; k++) {
        const cJSON *ref = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(texts, k), "padded"), "128");
        ok &= ids_equal(t.src.tokens + (size_t)k * 128, 128, cJSON_GetObjectItemCaseSensitive(ref, "ids")) && t.labels[k] == (k + 1) % 4;
        ok &= strstr(t.src.listing, "test.jsonl") != NULL;
    }
    EXPECT(ok, "test = test.jsonl, rows and labels");
    // the empty text is BOS then pads only
    int e = 0;
    for (int k = 0; k < a.n; k++) if (a.src.record[k] == 1) e = k;
    EXPECT(a.src.tokens[(size_t)e * 128] == 1 && a.src.tokens[(size_t)e * 128 + 1] == 2, "empty text: BOS, pad");
    dataset_close(&a);
    dataset_close(&b);
    dataset_close(&t);
    // class filter: keep 3 and 1 -> labels 0 and 1
    cfg.split = SPLIT_TEST;
    cfg.classes[0] = 3; cfg.classes[1] = 1; cfg.n_classes = 2;
    if (open_ok(&t, &cfg, "classes [3, 1]")) {
        EXPECT(t.n == 3 && t.num_classes == 2 && t.labels[0] == 1 && t.labels[1] == 0, "filtered test: %d items", t.n);
        dataset_close(&t);
    }
}

// ---------------------------------------------------------------------------
// bad input: every message names the file and the line

typedef struct { const char *what, *train, *val, *frag1, *frag2; int test; } BadCase;

static void test_errors(void) {
    if (load_ref() < 0) return;
    static const char good[] = "{\"question\": \"is it\", \"passage\": \"it is\", \"label\": true}\n";
    static const BadCase boolq[] = {
        {"malformed JSON", "%s{\"question\": \"a\", \"passage\" \"b\", \"label\": true}\n", NULL, "train.jsonl' line 2", "malformed JSON at column", 0},
        {"missing field", "%s%s{\"question\": \"a\", \"label\": true}\n", NULL, "train.jsonl' line 3", "missing field 'passage' (expected a string)", 0},
        {"wrong type", "%s{\"question\": 7, \"passage\": \"b\", \"label\": true}\n", NULL, "train.jsonl' line 2", "field 'question' is a number (expected a string)", 0},
        {"label type", "%s{\"question\": \"a\", \"passage\": \"b\", \"label\": \"yes\"}\n", NULL, "train.jsonl' line 2", "field 'label' is a string (expected true or false)", 0},
        {"label out of range", "%s\n{\"question\": \"a\", \"passage\": \"b\", \"label\": 2}\n", NULL, "train.jsonl' line 3", "label 2 out of range (expected true, false, 0 or 1)", 0},
        {"truncated last line", "%s{\"question\": \"a\", \"passage\": \"b\", \"lab", NULL, "train.jsonl' line 2", "truncated line", 0},
        {"not an object", "%s[1, 2]\n", NULL, "train.jsonl' line 2", "expected an object", 0},
        {"text after the object", "%s{\"question\": \"a\", \"passage\": \"b\", \"label\": true} x\n", NULL, "train.jsonl' line 2", "text after the JSON value", 0},
        {"invalid UTF-8", "%s{\"question\": \"a\xff\", \"passage\": \"b\", \"label\": true}\n", NULL, "train.jsonl' line 2", "not valid UTF-8", 0},
        {"missing train file", NULL, "%s", "train.jsonl': not found", "BoolQ", 0},
        {"missing val file (test)", "%s", NULL, "val.jsonl': not found", "BoolQ", 1},
        {"bad val line (test)", "%s", "%s%s%s{\"question\": \"a\"}\n", "val.jsonl' line 4", "missing field 'passage'", 1},
        {"empty file", "\n\n", NULL, "train.jsonl': no JSON objects", NULL, 0},
    };
    char buf[1024];
    for (size_t k = 0; k < sizeof boolq / sizeof boolq[0]; k++) {
        const BadCase *b = &boolq[k];
        const char *d = tl_fresh_dir("err_boolq");
        if (b->train) { snprintf(buf, sizeof buf, b->train, good, good); write_file(d, "train.jsonl", buf); }
        if (b->val) { snprintf(buf, sizeof buf, b->val, good, good, good); write_file(d, "val.jsonl", buf); }
        DataConfig c = text_cfg(DATA_BOOLQ, d, b->test ? SPLIT_TEST : SPLIT_TRAIN, g_model_path[0]);
        char what[128];
        snprintf(what, sizeof what, "boolq: %s", b->what);
        expect_open_error(&c, what, b->frag1, b->frag2, d);
    }
    static const char tgood[] = "{\"text\": \"a b\", \"label\": 0}\n{\"text\": \"c d\", \"label\": 2}\n";
    static const BadCase tc[] = {
        {"missing label", "%s{\"text\": \"a\"}\n", NULL, "train.jsonl' line 3", "missing field 'label' (expected an integer label 0..255)", 0},
        {"label a bool", "%s{\"text\": \"a\", \"label\": true}\n", NULL, "train.jsonl' line 3", "field 'label' is true (expected an integer", 0},
        {"label not an integer", "%s{\"text\": \"a\", \"label\": 1.5}\n", NULL, "train.jsonl' line 3", "label 1.5 is not an integer", 0},
        {"negative label", "%s{\"text\": \"a\", \"label\": -1}\n", NULL, "train.jsonl' line 3", "label -1 out of range", 0},
        {"label above 255", "%s{\"text\": \"a\", \"label\": 256}\n", NULL, "train.jsonl' line 3", "label 256 out of range", 0},
        {"text a list", "%s{\"text\": [\"a\"], \"label\": 1}\n", NULL, "train.jsonl' line 3", "field 'text' is an array (expected a string)", 0},
        {"test label beyond train's classes", "%s", "%s{\"text\": \"z\", \"label\": 3}\n", "test.jsonl' line 3", "label 3 out of range (expected 0..2", 1},
        {"one class", "{\"text\": \"a\", \"label\": 0}\n", NULL, "train.jsonl': every label is 0", "at least two classes", 0},
        {"missing test file", "%s", NULL, "test.jsonl': not found", NULL, 1},
        {"truncated last line", "%s{\"text\": \"a\", \"label\": 1", NULL, "train.jsonl' line 3", "truncated line", 0},
    };
    for (size_t k = 0; k < sizeof tc / sizeof tc[0]; k++) {
        const BadCase *b = &tc[k];
        const char *d = tl_fresh_dir("err_textcls");
        if (b->train) { snprintf(buf, sizeof buf, b->train, tgood); write_file(d, "train.jsonl", buf); }
        if (b->val) { snprintf(buf, sizeof buf, b->val, tgood); write_file(d, "test.jsonl", buf); }
        DataConfig c = text_cfg(DATA_TEXT_CLASSIFICATION, d, b->test ? SPLIT_TEST : SPLIT_TRAIN, g_model_path[1]);
        char what[128];
        snprintf(what, sizeof what, "text_classification: %s", b->what);
        expect_open_error(&c, what, b->frag1, b->frag2, d);
    }
    // a custom key the file lacks; a missing tokenizer
    const char *d = tl_fresh_dir("err_misc");
    write_file(d, "train.jsonl", tgood);
    DataConfig c = text_cfg(DATA_TEXT_CLASSIFICATION, d, SPLIT_TRAIN, g_model_path[1]);
    snprintf(c.text_key, sizeof c.text_key, "sentence");
    expect_open_error(&c, "text_key absent", "train.jsonl' line 1", "missing field 'sentence'", NULL);
    c = text_cfg(DATA_TEXT_CLASSIFICATION, d, SPLIT_TRAIN, NULL);
    expect_open_error(&c, "no tokenizer.model", "tokenizer.model': tokenizer model not found", d, NULL);
    c = text_cfg(DATA_TEXT_CLASSIFICATION, "/nonexistent/text", SPLIT_TRAIN, NULL);
    expect_open_error(&c, "no folder", "dataset.path", "train.jsonl and test.jsonl", NULL);
}

// ---------------------------------------------------------------------------
// the dataset keys of an experiment file (experiments/config_sections.c)

// A model section stands in (vit_micro) until the config reads a Llama
// model; the dataset keys are read whatever the model.
#define CFG_HEAD "experiment: t\nmodel: {preset: llama_micro}\ntraining: {epochs: 1, batch_size: 4, lr: 0.1}\nmethods: [vanilla]\n"

static int cfg_text(Experiment *ex, const char *name, const char *yaml, WbError *err) {
    char path[800];
    snprintf(path, sizeof path, "%s/%s", tl_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    CHECK(f, "fopen %s", path);
    fputs(yaml, f);
    fclose(f);
    return cfg_load(ex, path, err);
}

static void expect_cfg_error(const char *name, const char *yaml, const char *f1, const char *f2) {
    Experiment ex;
    WbError err = {{0}};
    int rc = cfg_text(&ex, name, yaml, &err);
    EXPECT(rc < 0, "%s: must not load", name);
    if (rc == 0) { cfg_free(&ex); return; }
    EXPECT(strstr(err.msg, f1) && (!f2 || strstr(err.msg, f2)), "%s: message names '%s' / '%s': %s", name, f1, f2 ? f2 : "", err.msg);
    printf("  %s -> %s\n", name, err.msg);
}

// Resolved YAML texts equal below their header comments (which name the file).
static int same_body(const char *a, const char *b) {
    const char *x = strstr(a, "\nexperiment:"), *y = strstr(b, "\nexperiment:");
    return x && y && !strcmp(x, y);
}

static void test_config_keys(void) {
    Experiment ex, again;
    WbError err = {{0}};
    // a text format needs the text model, and an image format an image model
    int rc = cfg_text(&ex, "boolq_vit.yaml", "experiment: t\nmodel: {preset: vit_micro}\ntraining: {epochs: 1, batch_size: 4, lr: 0.1}\n"
                      "methods: [vanilla]\ndataset: {format: boolq, path: /data/boolq}\n", &err);
    EXPECT(rc < 0 && strstr(err.msg, "boolq is text data but model vit_micro"), "boolq with a ViT refused: %s", err.msg);
    if (rc == 0) cfg_free(&ex);
    rc = cfg_text(&ex, "fmnist_llama.yaml", CFG_HEAD "dataset: {format: fashion_mnist}\n", &err);
    EXPECT(rc < 0 && strstr(err.msg, "fashion_mnist is image data but model llama_micro"), "images with the decoder refused: %s", err.msg);
    if (rc == 0) cfg_free(&ex);
    rc = cfg_text(&ex, "boolq.yaml", CFG_HEAD "dataset: {format: boolq, path: /data/boolq, max_length: [64, 128], pad_id: 0, val_fraction: 0.1}\n", &err);
    EXPECT(rc == 0, "boolq config loads: %s", err.msg);
    if (rc < 0) return;
    EXPECT(ex.n == 2, "max_length sweeps: %d runs", ex.n);
    const DataConfig *d = &ex.runs[0].data;
    EXPECT(d->format == DATA_BOOLQ && !strcmp(d->tokenizer, "/data/boolq/tokenizer.model") && d->max_length == 64 && d->pad_id == 0 &&
           ex.runs[1].data.max_length == 128, "boolq keys: tokenizer %s, max_length %d, pad %d", d->tokenizer, d->max_length, d->pad_id);
    const char *y = ex.runs[0].resolved_yaml;
    EXPECT(strstr(y, "  format: boolq\n  path: /data/boolq\n  tokenizer: /data/boolq/tokenizer.model\n  max_length: 64\n  pad_id: 0\n") &&
           !strstr(strstr(y, "\ndataset:"), "image_size") && !strstr(y, "normalize") && !strstr(y, "text_key"), "resolved YAML:\n%s", y);
    // the resolved YAML loads back to the same data settings
    rc = cfg_text(&again, "boolq_again.yaml", y, &err);
    EXPECT(rc == 0, "resolved YAML loads: %s", err.msg);
    if (rc == 0) {
        const DataConfig *e = &again.runs[0].data;
        EXPECT(again.n == 1 && e->format == d->format && !strcmp(e->tokenizer, d->tokenizer) && e->max_length == d->max_length &&
               e->pad_id == d->pad_id && e->val_fraction == d->val_fraction && same_body(again.runs[0].resolved_yaml, y),
               "same run from its resolved YAML");
        cfg_free(&again);
    }
    cfg_free(&ex);
    rc = cfg_text(&ex, "textcls.yaml", CFG_HEAD "dataset: {format: text_classification, path: /d/ag, tokenizer: /m/tok.model, text_key: sentence, "
                  "label_key: y, classes: [3, 1]}\n", &err);
    EXPECT(rc == 0, "text_classification config loads: %s", err.msg);
    if (rc < 0) return;
    d = &ex.runs[0].data;
    EXPECT(!strcmp(d->tokenizer, "/m/tok.model") && !strcmp(d->text_key, "sentence") && !strcmp(d->label_key, "y") && d->pad_id == -1 &&
           d->max_length == 128 && d->n_classes == 2, "text_classification keys (defaults max_length 128, pad eos)");
    y = ex.runs[0].resolved_yaml;
    EXPECT(NULL != strstr(y, "  pad_id: eos\n  text_key: sentence\n  label_key: y\n  classes: [3, 1]\n"), "resolved YAML:\n%s", y);
    rc = cfg_text(&again, "textcls_again.yaml", y, &err);
    EXPECT(rc == 0 && same_body(again.runs[0].resolved_yaml, y), "text_classification: resolved YAML loads to itself: %s", err.msg);
    if (rc == 0) cfg_free(&again);
    cfg_free(&ex);
    expect_cfg_error("image_key.yaml", CFG_HEAD "dataset: {format: boolq, path: /d, normalize: half}\n", "dataset.normalize: an image setting", "boolq is text");
    expect_cfg_error("image_size.yaml", CFG_HEAD "dataset: {format: text_classification, path: /d, image_size: 32}\n", "dataset.image_size: an image setting", NULL);
    expect_cfg_error("text_key_image.yaml", CFG_HEAD "dataset: {format: fashion_mnist, tokenizer: /t.model}\n", "dataset.tokenizer: a text setting", "fashion_mnist");
    expect_cfg_error("text_key_boolq.yaml", CFG_HEAD "dataset: {format: boolq, path: /d, text_key: q}\n", "dataset.text_key: only for text_classification", NULL);
    expect_cfg_error("pad_word.yaml", CFG_HEAD "dataset: {format: boolq, path: /d, pad_id: pad}\n", "dataset.pad_id", "a token id or eos");
    expect_cfg_error("pad_neg.yaml", CFG_HEAD "dataset: {format: boolq, path: /d, pad_id: -3}\n", "dataset.pad_id", NULL);
    expect_cfg_error("max_len.yaml", CFG_HEAD "dataset: {format: boolq, path: /d, max_length: 0}\n", "dataset.max_length", NULL);
    expect_cfg_error("empty_key.yaml", CFG_HEAD "dataset: {format: text_classification, path: /d, label_key: \"\"}\n", "dataset.label_key", NULL);
    expect_cfg_error("no_path.yaml", CFG_HEAD "dataset: {format: boolq}\n", "missing key 'path'", "boolq");
}

// ---------------------------------------------------------------------------
// the generator

static int line_rule_holds(const char *line) {
    // label true iff the question's last word (its colour) occurs in the passage
    const char *q = strstr(line, "\"question\": \"is the "), *p = strstr(line, "\"passage\": \"");
    if (!q || !p) return 0;
    q += strlen("\"question\": \"is the ");
    const char *sp = strchr(q, ' '), *qe = sp ? strchr(sp + 1, '"') : NULL;
    if (!qe) return 0;
    char colour[32], pass[256];
    snprintf(colour, sizeof colour, " %.*s", (int)(qe - sp - 1), sp + 1);
    p += strlen("\"passage\": \"");
    const char *pe = strchr(p, '"');
    if (!pe) return 0;
    snprintf(pass, sizeof pass, "%.*s ", (int)(pe - p), p);
    char word[40];
    snprintf(word, sizeof word, "%s ", colour);
    int has = strstr(pass, word) != NULL;
    int label = strstr(line, "\"label\": true") != NULL;
    return has == label;
}

static void test_generator(void) {
    const char *d1 = tl_fresh_dir("gen_a"), *d2 = tl_fresh_dir("gen_b"), *d3 = tl_fresh_dir("gen_c");
    char cmd[1400];
    double t0 = wall_seconds();
    snprintf(cmd, sizeof cmd, "bash experiments/gen_text_task.sh '%s' 7 600 200 > /dev/null", d1);
    EXPECT(system(cmd) == 0, "%s", cmd);
    double secs = wall_seconds() - t0;
    snprintf(cmd, sizeof cmd, "bash experiments/gen_text_task.sh '%s' 7 600 200 > /dev/null", d2);
    EXPECT(system(cmd) == 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "bash experiments/gen_text_task.sh '%s' 8 600 200 > /dev/null", d3);
    EXPECT(system(cmd) == 0, "%s", cmd);
    char a[800], b[800], c3[800];
    static const char *files[] = {"train.jsonl", "val.jsonl", "tokenizer.vocab"};
    for (int k = 0; k < 3; k++) {
        snprintf(a, sizeof a, "%s/%s", d1, files[k]);
        snprintf(b, sizeof b, "%s/%s", d2, files[k]);
        snprintf(c3, sizeof c3, "%s/%s", d3, files[k]);
        EXPECT(tl_files_equal(a, b), "same seed, same %s", files[k]);
        if (k < 2) EXPECT(!tl_files_equal(a, c3), "another seed, another %s", files[k]);
    }
    // the reference task (seed 1, 3000 + 1000 lines): the rule, the balance, the splits
    size_t n;
    char *t = slurp(TASK_DIR "/train.jsonl", &n);
    if (!t) { EXPECT(0, "%s/train.jsonl missing (bash tests/make_reference.sh)", TASK_DIR); return; }
    int lines = 0, yes = 0, rule = 1;
    for (char *s = t, *e; *s; s = e + 1) {
        e = strchr(s, '\n');
        if (!e) break;
        *e = 0;
        lines++;
        yes += strstr(s, "\"label\": true") != NULL;
        rule &= line_rule_holds(s);
    }
    mem_free(t);
    EXPECT(lines == 3000 && rule && yes > 1350 && yes < 1650, "train.jsonl: %d lines, %d true, rule holds %d", lines, yes, rule);
    DataConfig c = text_cfg(DATA_BOOLQ, TASK_DIR, SPLIT_TRAIN, NULL);
    Dataset tr, te;
    t0 = wall_seconds();
    if (!open_ok(&tr, &c, "generated train")) return;
    double topen = wall_seconds() - t0;
    c.split = SPLIT_TEST;
    if (!open_ok(&te, &c, "generated test")) { dataset_close(&tr); return; }
    int maxlen = 0;
    for (int i = 0; i < tr.n; i++) {
        int l = 0;
        while (l < 128 && tr.src.tokens[(size_t)i * 128 + l] != 2) l++;
        if (l > maxlen) maxlen = l;
    }
    EXPECT(tr.n == 2400 && te.n == 1000 && tr.src.n_truncated == 0 && dataset_vocab_size(&tr) <= 256,
           "generated: train %d, test %d, none truncated, vocab %d", tr.n, te.n, dataset_vocab_size(&tr));
    printf("  generator: 600 + 200 lines and a tokenizer in %.2f s; seed-1 task: %d lines, %d true; longest item %d ids; vocab %d; "
           "opening 2400 items %.3f s\n", secs, lines, yes, maxlen, dataset_vocab_size(&tr), topen);
    dataset_close(&tr);
    dataset_close(&te);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    snprintf(g_model_path[0], sizeof g_model_path[0], "%s/tokenizer.model", TASK_DIR);
    snprintf(g_model_path[1], sizeof g_model_path[1], "tests/data/ref/tok_llama/tokenizer.model");
    MemStats m0 = mem_stats();
    RUN(test_tokenizer_matches_python);
    RUN(test_tokenizer_errors);
    RUN(test_boolq);
    RUN(test_boolq_settings);
    RUN(test_text_classification);
    RUN(test_errors);
    RUN(test_config_keys);
    RUN(test_generator);
    if (g_ref) { hooks_on(); cJSON_Delete(g_ref); hooks_off(); }
    MemStats m1 = mem_stats();
    int leak = m1.current[MEM_DATA] != m0.current[MEM_DATA] || m1.current[MEM_WORKSPACE] != m0.current[MEM_WORKSPACE];
    if (leak) printf("FAIL leak: data %zu -> %zu bytes, workspace %zu -> %zu\n", m0.current[MEM_DATA], m1.current[MEM_DATA],
                     m0.current[MEM_WORKSPACE], m1.current[MEM_WORKSPACE]);
    return tl_finish() || leak;
}
