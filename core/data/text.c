// text.c: the text formats, JSON Lines files (one object per line) parsed
// with cJSON. boolq: SuperGLUE BoolQ, train.jsonl (train / val) and
// val.jsonl (test: BoolQ's own test set has no labels), each line
// {"question": str, "passage": str, "label": true|false}; the text is
// "{question} [SEP] {passage}" (the authors' template), label true = 1.
// text_classification: train.jsonl and test.jsonl with a string field
// (cfg->text_key) and an integer label (cfg->label_key); the classes are the
// largest label of train.jsonl + 1. Index keeps the texts; text_load turns
// the kept ones into BOS + ids, right-truncated and right-padded to T
// (core/data/tokenizer.h). Layouts and messages: core/data/DATA.md.
#include "core/data/formats.h"
#include "core/data/tokenizer.h"
#include "core/runtime/memory.h"

#include <cJSON.h>
#include "core/io/json_tracked.h"
#include <math.h>
#include <string.h>

#define BOOLQ_SEP " [SEP] "

// cJSON allocates through the tracked allocator (data) while a file is
// parsed (core/io/json_tracked.h).

static const char *json_kind(const cJSON *v) {
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v) ? "true" : "false";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsObject(v)) return "an object";
    return "invalid";
}

// 1 if s[0..n) is well-formed UTF-8 (no overlong forms, surrogates or code
// points above U+10FFFF): what a Python str, the authors' input, can hold.
static int utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        int k;
        unsigned cp, min;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xe0) == 0xc0) { k = 1; cp = c & 0x1f; min = 0x80; }
        else if ((c & 0xf0) == 0xe0) { k = 2; cp = c & 0x0f; min = 0x800; }
        else if ((c & 0xf8) == 0xf0) { k = 3; cp = c & 0x07; min = 0x10000; }
        else return 0;
        for (int j = 1; j <= k; j++) {
            if (i + (size_t)j >= n || (s[i + j] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
        i += (size_t)k + 1;
    }
    return 1;
}

// ---------------------------------------------------------------------------
// records: labels and line numbers (source_add), texts in the arena

typedef struct {
    DataSource *src;
    size_t off_cap;      // allocated length of src->text_off
} Records;

static void *grow(void *p, size_t bytes) { return p ? mem_realloc(p, bytes) : mem_alloc(bytes, MEM_DATA); }

// Append one record whose text is a, then b (b may be NULL).
static void record_add(Records *R, int label, int line, const char *a, const char *b) {
    DataSource *s = R->src;
    source_add(s, NULL, label, line);
    if ((size_t)s->n > R->off_cap) {
        R->off_cap = (size_t)s->cap;
        s->text_off = grow(s->text_off, R->off_cap * sizeof(size_t));
    }
    size_t la = strlen(a), lb = b ? strlen(b) + strlen(BOOLQ_SEP) : 0, need = s->texts_len + la + lb + 1;
    if (need > s->texts_cap) {
        size_t c = s->texts_cap ? s->texts_cap : 1 << 16;
        while (c < need) c *= 2;
        s->texts = grow(s->texts, c);
        s->texts_cap = c;
    }
    char *d = s->texts + s->texts_len;
    s->text_off[s->n - 1] = s->texts_len;
    memcpy(d, a, la);
    if (b) {
        memcpy(d + la, BOOLQ_SEP, strlen(BOOLQ_SEP));
        memcpy(d + la + strlen(BOOLQ_SEP), b, lb - strlen(BOOLQ_SEP));
    }
    d[la + lb] = 0;
    s->texts_len = need;
}

// ---------------------------------------------------------------------------
// JSON Lines

// Called per object: returns 0, or -1 with err set (naming path and line).
typedef int (*LineFn)(void *ctx, const char *path, int line, const cJSON *obj, WbError *err);

static int jsonl_each(const char *path, const char *expected, LineFn fn, void *ctx, WbError *err) {
    if (!path_is_file(path)) return wb_error(err, "'%s': not found (expected %s)", path, expected);
    ByteBuf buf = {0};
    if (text_read(&buf, path, err) < 0) { bytebuf_free(&buf); return -1; }
    char *cur = (char *)buf.p, *line;
    int ln = 0, rc = 0, objects = 0;
    json_tracked_begin(MEM_DATA);
    while (rc == 0 && (line = text_next_line(&cur, &ln))) {
        size_t len = strlen(line), lead = strspn(line, " \t\f\v\r");
        if (lead == len) continue;   // blank lines (a final empty line) carry no record
        const char *end = NULL;
        cJSON *obj = cJSON_ParseWithLengthOpts(line, len, &end, 0);
        if (!obj) {
            const char *at = cJSON_GetErrorPtr();
            size_t col = at && at >= line && at <= line + len ? (size_t)(at - line) : len;
            int unterminated = !*cur && buf.p[buf.n - 1] != '\n';   // the file's last line, no newline after it
            if (col + 1 >= len)   // the parser ran out of text
                rc = wb_error(err, "'%s' line %d: the line ends inside a JSON value (truncated line? expected one whole JSON object per line)", path, ln);
            else if (unterminated)
                rc = wb_error(err, "'%s' line %d: malformed JSON at column %zu, on the last line with no newline after it (truncated line? "
                              "expected one whole JSON object per line)", path, ln, col + 1);
            else
                rc = wb_error(err, "'%s' line %d: malformed JSON at column %zu (expected one JSON object per line)", path, ln, col + 1);
            break;
        }
        if (end && end[strspn(end, " \t\f\v\r")])
            rc = wb_error(err, "'%s' line %d: text after the JSON value at column %zu (expected one JSON object per line)", path, ln,
                          (size_t)(end - line) + 1);
        else if (!cJSON_IsObject(obj))
            rc = wb_error(err, "'%s' line %d: a JSON value that is %s (expected an object {...})", path, ln, json_kind(obj));
        else {
            rc = fn(ctx, path, ln, obj, err);
            objects++;
        }
        cJSON_Delete(obj);
    }
    json_tracked_end();
    bytebuf_free(&buf);
    if (rc == 0 && objects == 0) rc = wb_error(err, "'%s': no JSON objects (expected %s)", path, expected);
    return rc;
}

// The string field key of obj (UTF-8), or -1 with err set.
static int get_text(const char *path, int ln, const cJSON *obj, const char *key, const char **out, WbError *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return wb_error(err, "'%s' line %d: missing field '%s' (expected a string)", path, ln, key);
    if (!cJSON_IsString(v) || !v->valuestring) return wb_error(err, "'%s' line %d: field '%s' is %s (expected a string)", path, ln, key, json_kind(v));
    if (!utf8_valid((const unsigned char *)v->valuestring, strlen(v->valuestring)))
        return wb_error(err, "'%s' line %d: field '%s' is not valid UTF-8 (expected UTF-8 text)", path, ln, key);
    *out = v->valuestring;
    return 0;
}

// ---------------------------------------------------------------------------
// boolq

typedef struct { Records R; } BoolqCtx;

static int boolq_line(void *vctx, const char *path, int ln, const cJSON *obj, WbError *err) {
    BoolqCtx *c = vctx;
    const char *q, *p;
    if (get_text(path, ln, obj, "question", &q, err) < 0 || get_text(path, ln, obj, "passage", &p, err) < 0) return -1;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "label");
    int label;
    if (!v) return wb_error(err, "'%s' line %d: missing field 'label' (expected true or false)", path, ln);
    if (cJSON_IsBool(v)) label = cJSON_IsTrue(v);
    else if (cJSON_IsNumber(v)) {   // the Hugging Face export of super_glue/boolq writes 0 / 1
        if (v->valuedouble != 0.0 && v->valuedouble != 1.0)
            return wb_error(err, "'%s' line %d: label %g out of range (expected true, false, 0 or 1)", path, ln, v->valuedouble);
        label = v->valuedouble == 1.0;
    } else return wb_error(err, "'%s' line %d: field 'label' is %s (expected true or false)", path, ln, json_kind(v));
    record_add(&c->R, label, ln, q, p);
    return 0;
}

int boolq_index(DataSource *src, const DataConfig *cfg, const char *dir, WbError *err) {
    snprintf(src->listing, sizeof src->listing, "%s/%s", dir, cfg->split == SPLIT_TEST ? "val.jsonl" : "train.jsonl");
    src->record_kind = "line";
    src->num_classes = 2;
    BoolqCtx c = {{src, 0}};
    return jsonl_each(src->listing, "BoolQ's JSON Lines: one {\"question\": str, \"passage\": str, \"label\": true|false} per line",
                      boolq_line, &c, err);
}

// ---------------------------------------------------------------------------
// text_classification

typedef struct {
    Records R;            // NULL src: only the labels are checked (train.jsonl for the test split)
    const DataConfig *cfg;
    int max_label;        // largest label seen
    int K;                // > 0: labels must be below it (the test split)
    const char *train;    // where K comes from
} TextClsCtx;

static int textcls_line(void *vctx, const char *path, int ln, const cJSON *obj, WbError *err) {
    TextClsCtx *c = vctx;
    const char *text, *lk = c->cfg->label_key;
    if (get_text(path, ln, obj, c->cfg->text_key, &text, err) < 0) return -1;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, lk);
    if (!v) return wb_error(err, "'%s' line %d: missing field '%s' (expected an integer label 0..%d)", path, ln, lk, DATA_MAX_CLASSES - 1);
    if (!cJSON_IsNumber(v)) return wb_error(err, "'%s' line %d: field '%s' is %s (expected an integer label 0..%d)", path, ln, lk, json_kind(v), DATA_MAX_CLASSES - 1);
    double d = v->valuedouble;
    if (d != floor(d)) return wb_error(err, "'%s' line %d: label %g is not an integer (expected an integer 0..%d)", path, ln, d, DATA_MAX_CLASSES - 1);
    if (c->K > 0 && !(d >= 0 && d < c->K))
        return wb_error(err, "'%s' line %d: label %g out of range (expected 0..%d: the classes of '%s')", path, ln, d, c->K - 1, c->train);
    if (!(d >= 0 && d < DATA_MAX_CLASSES))
        return wb_error(err, "'%s' line %d: label %g out of range (expected an integer 0..%d)", path, ln, d, DATA_MAX_CLASSES - 1);
    int label = (int)d;
    if (label > c->max_label) c->max_label = label;
    if (c->R.src) record_add(&c->R, label, ln, text, NULL);
    return 0;
}

static const char *textcls_expected(const DataConfig *cfg, char *buf, size_t cap) {
    snprintf(buf, cap, "JSON Lines: one {\"%s\": str, \"%s\": integer} per line", cfg->text_key, cfg->label_key);
    return buf;
}

int textcls_index(DataSource *src, const DataConfig *cfg, const char *dir, WbError *err) {
    char train[DATA_PATH_MAX + 32], expected[256];
    snprintf(train, sizeof train, "%s/train.jsonl", dir);
    snprintf(src->listing, sizeof src->listing, "%s/%s", dir, cfg->split == SPLIT_TEST ? "test.jsonl" : "train.jsonl");
    src->record_kind = "line";
    textcls_expected(cfg, expected, sizeof expected);
    // The classes are those of the training file, whichever split is opened.
    TextClsCtx c = {{cfg->split == SPLIT_TEST ? NULL : src, 0}, cfg, -1, 0, train};
    if (jsonl_each(train, expected, textcls_line, &c, err) < 0) return -1;
    if (c.max_label < 1)
        return wb_error(err, "'%s': every label is %d (expected at least two classes, labels 0..K-1)", train, c.max_label);
    src->num_classes = c.max_label + 1;
    if (cfg->split != SPLIT_TEST) return 0;
    TextClsCtx t = {{src, 0}, cfg, -1, src->num_classes, train};
    return jsonl_each(src->listing, expected, textcls_line, &t, err);
}

// ---------------------------------------------------------------------------
// tokenization of the kept records

int text_load(DataSource *src, const DataConfig *cfg, const int *keep, int nkeep, WbError *err) {
    CHECK(cfg->tokenizer[0], "tokenizer path unresolved");
    int T = cfg->max_length, rc = 0;
    Tokenizer *tok = tokenizer_open(cfg->tokenizer, err);
    if (!tok) return -1;
    int V = tokenizer_vocab_size(tok), pad = cfg->pad_id >= 0 ? cfg->pad_id : tokenizer_eos_id(tok);
    if (pad < 0) rc = wb_error(err, "dataset.pad_id: the tokenizer '%s' has no eos id to pad with (set dataset.pad_id)", cfg->tokenizer);
    else if (pad >= V) rc = wb_error(err, "dataset.pad_id: %d is not an id of the tokenizer '%s' (expected 0..%d)", pad, cfg->tokenizer, V - 1);
    if (rc < 0) { tokenizer_free(tok); return -1; }
    src->tokens = mem_alloc((size_t)(nkeep ? nkeep : 1) * (size_t)T * sizeof(int32_t), MEM_DATA);
    src->n_truncated = 0;
    for (int k = 0; k < nkeep && rc == 0; k++) {
        int i = keep[k], cut;
        const char *text = src->texts + src->text_off[i];
        int32_t *row = src->tokens + (size_t)k * T;
        int len = tokenizer_encode_padded(tok, text, strlen(text), T, pad, row, &cut, err);
        if (len < 0) {
            WbError e = *err;
            rc = wb_error(err, "%s (the text of line %d of '%s')", e.msg, src->record[i], src->listing);
            break;
        }
        src->n_truncated += cut;
        // A sequence's length is the index of its first pad (core/models/llama.h):
        // a pad inside the text would silently cut it short.
        for (int t = 0; t < len; t++)
            if (row[t] == pad) {
                rc = wb_error(err, "'%s' line %d: the text encodes to the pad id %d at position %d (the model takes a sequence to end at "
                              "its first pad; choose a dataset.pad_id the texts never produce, such as the eos id)", src->listing,
                              src->record[i], pad, t);
                break;
            }
    }
    tokenizer_free(tok);
    src->T = T;
    src->vocab = V;
    src->pad_id = pad;
    mem_free(src->texts); mem_free(src->text_off);
    src->texts = NULL; src->text_off = NULL; src->texts_len = src->texts_cap = 0;
    return rc;
}
