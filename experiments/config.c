// config.c: the experiment YAML loader of config.h. Four parts, in order:
//   1. libyaml -> a small node tree that keeps file:line:column of every key
//      and value (arena of tracked workspace memory), with `extends:` files
//      deep-merged under the including one;
//   2. the schema: one typed reader per section, strict (unknown keys, types,
//      ranges, enums, missing keys are errors naming file:line:column);
//   3. the sweep expansion: a list where a scalar is expected is an axis;
//      the runs of a stage are the cartesian product, in the documented order
//      (model, dataset, training, layers, num_of_finetune, method, method
//      axes, budget, seed), with method axes applied only to their method;
//   4. each run's name (from the settings that vary) and resolved YAML.
// Keys, defaults and examples: experiments/README.md.
#include "experiments/config.h"
#include "core/memory.h"

#include <yaml.h>

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

#define MAX_FILE_BYTES (4 << 20)   // a YAML file larger than this is surely not an experiment
#define MAX_NODES 200000           // per file, after alias expansion (stops "billion laughs")
#define MAX_DEPTH 64               // nesting of mappings and lists
#define MAX_MAP_KEYS 1000
#define MAX_EXTENDS 16             // length of an extends chain
#define MAX_AXES 64                // list-valued settings per stage
#define MAX_ENTRIES 64             // method entries per stage
#define MAX_STAGES 64
#define MAX_RUNS 10000             // whole experiment (a RunSpec is ~5 KB)
#define MAX_TOKS (MAX_AXES + 16)

// ---------------------------------------------------------------------------
// arena: every node and string of one cfg_load, freed at its end

typedef struct Block { struct Block *next; size_t used, cap; } Block;
#define BLOCK_HDR 32   // >= sizeof(Block), keeps 16-byte alignment
typedef struct { Block *head; } Arena;

static void *ar_alloc(Arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (!a->head || a->head->used + n > a->head->cap) {
        size_t cap = n > 65536 ? n : 65536;
        Block *b = mem_alloc(BLOCK_HDR + cap, MEM_WORKSPACE);
        b->cap = cap;
        if (a->head && n > 65536) { b->next = a->head->next; a->head->next = b; b->used = n; return (char *)b + BLOCK_HDR; }
        b->next = a->head; a->head = b;
    }
    void *p = (char *)a->head + BLOCK_HDR + a->head->used;
    a->head->used += n;
    return p;   // zero-filled: blocks come from mem_alloc and are never reused
}

static char *ar_strndup(Arena *a, const char *s, size_t n) {
    char *p = ar_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}
static char *ar_strdup(Arena *a, const char *s) { return ar_strndup(a, s, strlen(s)); }

static void ar_free(Arena *a) {
    for (Block *b = a->head, *next; b; b = next) { next = b->next; mem_free(b); }
    a->head = NULL;
}

// ---------------------------------------------------------------------------
// string builder (resolved YAML, messages)

typedef struct { char *p; size_t len, cap; } Sb;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sb_printf(Sb *b, const char *fmt, ...) {
    for (;;) {
        size_t room = b->cap - b->len;
        int k = 0;
        if (b->p) {
            va_list ap;
            va_start(ap, fmt);
            k = vsnprintf(b->p + b->len, room, fmt, ap);
            va_end(ap);
            if (k < 0) return;
            if ((size_t)k < room) { b->len += (size_t)k; return; }
        }
        size_t cap = b->cap ? 2 * b->cap : 4096;
        while (cap < b->len + (size_t)k + 1) cap *= 2;
        b->p = b->p ? mem_realloc(b->p, cap) : mem_alloc(cap, MEM_WORKSPACE);
        b->cap = cap;
    }
}

// Shortest text that reads back to the same value.
static void fmt_double(char *buf, size_t cap, double v) {
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, cap, "%.*g", p, v);
        if (strtod(buf, NULL) == v) return;
    }
}
static void fmt_float(char *buf, size_t cap, float v) {
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, cap, "%.*g", p, (double)v);
        if (strtof(buf, NULL) == v) return;
    }
}

// ---------------------------------------------------------------------------
// 1. the node tree

typedef struct { const char *file; int line, col; } Pos;   // 1-based
typedef enum { N_SCALAR = 0, N_SEQ, N_MAP } NodeKind;
typedef struct Node Node;
struct Node {
    NodeKind kind;
    Pos pos;
    const char *s;      // scalar text
    int quoted;         // scalar written quoted or as a block literal: always a string
    int n;              // items (list) or pairs (mapping)
    const Node **v;     // items or values (n)
    const char **k;     // mapping keys (n)
    Pos *kpos;          // their positions (n)
};

static const char *kind_name(const Node *v) {
    return v->kind == N_MAP ? "a mapping" : v->kind == N_SEQ ? "a list" : "a scalar";
}

static const Node *map_get(const Node *m, const char *key, int *at) {
    if (!m || m->kind != N_MAP) return NULL;
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->k[i], key)) { if (at) *at = i; return m->v[i]; }
    return NULL;
}

typedef struct {
    Arena *A;
    WbError *err;
    const char *file;
    yaml_document_t *doc;
    long count;
} Conv;

static const Node *conv(Conv *cv, yaml_node_t *yn, int depth, const char *path) {
    if (!yn) { wb_error(cv->err, "%s: internal: libyaml returned a dangling node", cv->file); return NULL; }
    int line = (int)yn->start_mark.line + 1, col = (int)yn->start_mark.column + 1;
    if (depth > MAX_DEPTH) {
        wb_error(cv->err, "%s:%d:%d: %s: nested deeper than %d levels", cv->file, line, col, path, MAX_DEPTH);
        return NULL;
    }
    if (++cv->count > MAX_NODES) {
        wb_error(cv->err, "%s:%d:%d: more than %d YAML nodes (after expanding aliases); not an experiment file", cv->file, line, col, MAX_NODES);
        return NULL;
    }
    Node *n = ar_alloc(cv->A, sizeof *n);
    n->pos = (Pos){cv->file, line, col};
    char sub[256];
    switch (yn->type) {
    case YAML_SCALAR_NODE: {
        size_t len = yn->data.scalar.length;
        const char *s = (const char *)yn->data.scalar.value;
        if (len && memchr(s, 0, len)) {
            wb_error(cv->err, "%s:%d:%d: %s: the value contains a NUL character", cv->file, line, col, path);
            return NULL;
        }
        n->kind = N_SCALAR;
        n->s = ar_strndup(cv->A, s, len);
        n->quoted = yn->data.scalar.style != YAML_PLAIN_SCALAR_STYLE && yn->data.scalar.style != YAML_ANY_SCALAR_STYLE;
        return n;
    }
    case YAML_SEQUENCE_NODE: {
        n->kind = N_SEQ;
        n->n = (int)(yn->data.sequence.items.top - yn->data.sequence.items.start);
        n->v = ar_alloc(cv->A, (size_t)(n->n ? n->n : 1) * sizeof *n->v);
        for (int i = 0; i < n->n; i++) {
            snprintf(sub, sizeof sub, "%s[%d]", path, i);
            n->v[i] = conv(cv, yaml_document_get_node(cv->doc, yn->data.sequence.items.start[i]), depth + 1, sub);
            if (!n->v[i]) return NULL;
        }
        return n;
    }
    case YAML_MAPPING_NODE: {
        n->kind = N_MAP;
        n->n = (int)(yn->data.mapping.pairs.top - yn->data.mapping.pairs.start);
        if (n->n > MAX_MAP_KEYS) {
            wb_error(cv->err, "%s:%d:%d: %s: more than %d keys in one mapping", cv->file, line, col, path, MAX_MAP_KEYS);
            return NULL;
        }
        size_t cnt = (size_t)(n->n ? n->n : 1);
        n->v = ar_alloc(cv->A, cnt * sizeof *n->v);
        n->k = ar_alloc(cv->A, cnt * sizeof *n->k);
        n->kpos = ar_alloc(cv->A, cnt * sizeof *n->kpos);
        for (int i = 0; i < n->n; i++) {
            yaml_node_pair_t *pr = yn->data.mapping.pairs.start + i;
            yaml_node_t *kn = yaml_document_get_node(cv->doc, pr->key);
            if (!kn) { wb_error(cv->err, "%s: internal: libyaml returned a dangling key", cv->file); return NULL; }
            int kl = (int)kn->start_mark.line + 1, kc = (int)kn->start_mark.column + 1;
            if (kn->type != YAML_SCALAR_NODE) {
                wb_error(cv->err, "%s:%d:%d: %s: a key must be a plain word, got %s", cv->file, kl, kc, path,
                         kn->type == YAML_MAPPING_NODE ? "a mapping" : "a list");
                return NULL;
            }
            size_t len = kn->data.scalar.length;
            const char *ks = (const char *)kn->data.scalar.value;
            if (len && memchr(ks, 0, len)) {
                wb_error(cv->err, "%s:%d:%d: %s: a key contains a NUL character", cv->file, kl, kc, path);
                return NULL;
            }
            n->k[i] = ar_strndup(cv->A, ks, len);
            n->kpos[i] = (Pos){cv->file, kl, kc};
            for (int j = 0; j < i; j++)
                if (!strcmp(n->k[j], n->k[i])) {
                    wb_error(cv->err, "%s:%d:%d: duplicate key '%s' in %s (first at line %d, column %d)", cv->file, kl, kc,
                             n->k[i], path, n->kpos[j].line, n->kpos[j].col);
                    return NULL;
                }
            if (!strcmp(path, "the top level")) snprintf(sub, sizeof sub, "%s", n->k[i]);
            else snprintf(sub, sizeof sub, "%s.%s", path, n->k[i]);
            n->v[i] = conv(cv, yaml_document_get_node(cv->doc, pr->value), depth + 1, sub);
            if (!n->v[i]) return NULL;
        }
        return n;
    }
    default:
        wb_error(cv->err, "%s:%d:%d: %s: empty YAML node", cv->file, line, col, path);
        return NULL;
    }
}

// libyaml's problem and marks as file:line:column.
static int yaml_fail(WbError *err, const char *file, const yaml_parser_t *p, const char *text, size_t len) {
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    if (p->error == YAML_READER_ERROR) {   // reader errors carry a byte offset, not a mark
        line = 1; col = 1;
        for (size_t i = 0; i < p->problem_offset && i < len; i++) {
            if (text[i] == '\n') { line++; col = 1; } else col++;
        }
    }
    const char *kind = p->error == YAML_READER_ERROR ? "cannot read the text" :
                       p->error == YAML_SCANNER_ERROR ? "syntax error" :
                       p->error == YAML_PARSER_ERROR ? "syntax error" :
                       p->error == YAML_COMPOSER_ERROR ? "structure error" :
                       p->error == YAML_MEMORY_ERROR ? "out of memory" : "error";
    const char *prob = p->problem ? p->problem : "unknown problem";
    if (p->context && p->error != YAML_READER_ERROR)
        return wb_error(err, "%s:%d:%d: YAML %s: %s (%s at line %d, column %d)", file, line, col, kind, prob, p->context,
                        (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    return wb_error(err, "%s:%d:%d: YAML %s: %s", file, line, col, kind, prob);
}

// Read and parse one file into a tree whose root is a mapping.
static int parse_file(Arena *A, const char *file, const Node **root, WbError *err) {
    struct stat st;
    if (stat(file, &st) == 0 && S_ISDIR(st.st_mode)) return wb_error(err, "%s: is a directory, not a YAML file", file);
    FILE *f = fopen(file, "rb");
    if (!f) return wb_error(err, "%s: cannot open: %s", file, strerror(errno));
    size_t cap = 4096, len = 0;
    char *text = mem_alloc(cap, MEM_WORKSPACE);
    for (;;) {
        if (len + 1 >= cap) {
            if (cap > MAX_FILE_BYTES) { fclose(f); mem_free(text); return wb_error(err, "%s: larger than %d bytes; not an experiment file", file, MAX_FILE_BYTES); }
            cap *= 2;
            text = mem_realloc(text, cap);
        }
        size_t got = fread(text + len, 1, cap - 1 - len, f);
        len += got;
        if (got == 0) break;
    }
    int rerr = ferror(f) ? errno : 0;
    fclose(f);
    if (rerr) { mem_free(text); return wb_error(err, "%s: cannot read: %s", file, strerror(rerr)); }

    yaml_parser_t p;
    yaml_document_t doc, doc2;
    int rc = -1;
    if (!yaml_parser_initialize(&p)) { mem_free(text); return wb_error(err, "%s: cannot initialise libyaml (out of memory)", file); }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &doc)) {
        yaml_fail(err, file, &p, text, len);
        yaml_parser_delete(&p);
        mem_free(text);
        return -1;
    }
    yaml_node_t *yr = yaml_document_get_root_node(&doc);
    if (!yr) {
        wb_error(err, "%s:1:1: the file is empty (expected a mapping with model, dataset, training and methods)", file);
        goto done;
    }
    // A second document would be silently ignored: refuse it.
    if (!yaml_parser_load(&p, &doc2)) { yaml_fail(err, file, &p, text, len); goto done; }
    yaml_node_t *yr2 = yaml_document_get_root_node(&doc2);
    if (yr2) {
        wb_error(err, "%s:%d:%d: a second YAML document ('---'); an experiment file holds one", file,
                 (int)yr2->start_mark.line + 1, (int)yr2->start_mark.column + 1);
        yaml_document_delete(&doc2);
        goto done;
    }
    yaml_document_delete(&doc2);
    Conv cv = {A, err, file, &doc, 0};
    const Node *r = conv(&cv, yr, 0, "the top level");
    if (!r) goto done;
    if (r->kind != N_MAP) {
        wb_error(err, "%s:%d:%d: expected a mapping of sections (model:, dataset:, ...) at the top level, got %s", file,
                 r->pos.line, r->pos.col, kind_name(r));
        goto done;
    }
    *root = r;
    rc = 0;
done:
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    mem_free(text);
    return rc;
}

// Mapping `over` deep-merged over `base`: mappings merge key by key, anything
// else (scalars, lists) in `over` replaces. Nodes are shared, not copied.
static const Node *merge(Arena *A, const Node *base, const Node *over) {
    if (!base) return over;
    if (!over) return base;
    Node *m = ar_alloc(A, sizeof *m);
    *m = *over;
    int cap = base->n + over->n;
    size_t c1 = (size_t)(cap ? cap : 1);
    m->v = ar_alloc(A, c1 * sizeof *m->v);
    m->k = ar_alloc(A, c1 * sizeof *m->k);
    m->kpos = ar_alloc(A, c1 * sizeof *m->kpos);
    m->n = base->n;
    for (int i = 0; i < base->n; i++) { m->v[i] = base->v[i]; m->k[i] = base->k[i]; m->kpos[i] = base->kpos[i]; }
    for (int i = 0; i < over->n; i++) {
        int j = -1;
        for (int t = 0; t < m->n; t++) if (!strcmp(m->k[t], over->k[i])) { j = t; break; }
        if (j < 0) { j = m->n++; m->k[j] = over->k[i]; m->v[j] = over->v[i]; }
        else if (m->v[j]->kind == N_MAP && over->v[i]->kind == N_MAP) m->v[j] = merge(A, m->v[j], over->v[i]);
        else m->v[j] = over->v[i];
        m->kpos[j] = over->kpos[i];
    }
    return m;
}

// A copy of mapping m without the listed keys.
static const Node *map_without(Arena *A, const Node *m, const char *const *drop, int ndrop) {
    Node *c = ar_alloc(A, sizeof *c);
    *c = *m;
    size_t c1 = (size_t)(m->n ? m->n : 1);
    c->v = ar_alloc(A, c1 * sizeof *c->v);
    c->k = ar_alloc(A, c1 * sizeof *c->k);
    c->kpos = ar_alloc(A, c1 * sizeof *c->kpos);
    c->n = 0;
    for (int i = 0; i < m->n; i++) {
        int skip = 0;
        for (int d = 0; d < ndrop; d++) skip |= !strcmp(m->k[i], drop[d]);
        if (skip) continue;
        c->k[c->n] = m->k[i]; c->v[c->n] = m->v[i]; c->kpos[c->n] = m->kpos[i]; c->n++;
    }
    return c;
}

// Load `file` and, recursively, the files it extends (paths relative to the
// including file); chain holds the real paths being loaded (cycles).
static int load_tree(Arena *A, const char *file, const Node *via, const char **chain, int depth, const Node **out, WbError *err) {
    char real[PATH_MAX];
    if (!realpath(file, real)) {
        if (via) return wb_error(err, "%s:%d:%d: extends: cannot open '%s' (looked for %s: %s)", via->pos.file, via->pos.line,
                                 via->pos.col, via->s, file, strerror(errno));
        return wb_error(err, "%s: cannot open: %s", file, strerror(errno));
    }
    struct stat st;
    if (via && stat(real, &st) == 0 && !S_ISREG(st.st_mode))
        return wb_error(err, "%s:%d:%d: extends: '%s' is not a regular file", via->pos.file, via->pos.line, via->pos.col, via->s);
    for (int i = 0; i < depth; i++)
        if (!strcmp(chain[i], real)) {
            char cyc[768] = "";
            size_t used = 0;
            for (int j = i; j < depth && used < sizeof cyc; j++) {
                int k = snprintf(cyc + used, sizeof cyc - used, "%s -> ", chain[j]);
                if (k < 0) break;
                used += (size_t)k;
            }
            return wb_error(err, "%s:%d:%d: extends: cycle: %s%s", via->pos.file, via->pos.line, via->pos.col, cyc, real);
        }
    if (depth >= MAX_EXTENDS)
        return wb_error(err, "%s:%d:%d: extends: chain longer than %d files", via->pos.file, via->pos.line, via->pos.col, MAX_EXTENDS);
    chain[depth] = ar_strdup(A, real);
    const Node *root = NULL;
    const char *fname = ar_strdup(A, file);
    if (parse_file(A, fname, &root, err) < 0) return -1;
    int at;
    const Node *ext = map_get(root, "extends", &at);
    if (!ext) { *out = root; return 0; }
    if (ext->kind != N_SCALAR || !ext->s[0])
        return wb_error(err, "%s:%d:%d: extends: expected the path of a base YAML file, got %s", ext->pos.file, ext->pos.line,
                        ext->pos.col, ext->kind == N_SCALAR ? "an empty value" : kind_name(ext));
    char base[PATH_MAX];
    const char *slash = strrchr(file, '/');
    int k;
    if (ext->s[0] == '/' || !slash) k = snprintf(base, sizeof base, "%s", ext->s);
    else k = snprintf(base, sizeof base, "%.*s/%s", (int)(slash - file), file, ext->s);
    if (k < 0 || (size_t)k >= sizeof base)
        return wb_error(err, "%s:%d:%d: extends: path too long", ext->pos.file, ext->pos.line, ext->pos.col);
    const Node *broot;
    if (load_tree(A, base, ext, chain, depth + 1, &broot, err) < 0) return -1;
    static const char *const drop[] = {"extends"};
    *out = merge(A, broot, map_without(A, root, drop, 1));
    return 0;
}

// ---------------------------------------------------------------------------
// 2. the schema: context, errors, typed readers

typedef struct {
    const Node *seq;     // the list
    int sel;             // the item of the run being resolved
    const char *key;     // "training.lr", for names and messages
} Axis;

typedef struct {
    const char *name;
    int first, count;    // runs in ex->runs
    int save;            // save_checkpoint
} StageInfo;

typedef struct {             // what a run needs besides its RunSpec (names, YAML, checks)
    const char **tok_scope;  // name parts, in order
    const char **tok_text;
    unsigned char *tok_always;
    int ntok;
    const Node *entry;       // its method entry (messages)
    int budget_src;          // 0 none, 1 top-level budget_mb, 2 the method's own
    int eta_abs;             // eta_min given (not eta_min_ratio)
    size_t body;             // offset of the YAML body (after the header comments)
} RunAux;

typedef struct {
    Arena A;
    WbError *err;
    Experiment *ex;
    RunAux *aux;             // (cap) parallel to ex->runs
    int cap;
    const char *stage;       // NULL when the file has no stages
    StageInfo stages[MAX_STAGES];
    int nstages;
    Axis ax[MAX_AXES];
    int nax;
    int discover;            // 1: lists met are registered as axes (first pass of a stage)
    // name parts collected while resolving one run
    const char *ts[MAX_TOKS], *tt[MAX_TOKS];
    unsigned char ta[MAX_TOKS];
    int nt;
} Ctx;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(Ctx *c, Pos p, const char *fmt, ...) {
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->stage) return wb_error(c->err, "%s:%d:%d: %s [stage '%s']", p.file, p.line, p.col, msg, c->stage);
    return wb_error(c->err, "%s:%d:%d: %s", p.file, p.line, p.col, msg);
}

// A value quoted for messages, shortened and with control bytes escaped.
static const char *shown(const Node *v, char *buf, size_t cap) {
    if (v->kind != N_SCALAR) { snprintf(buf, cap, "%s", kind_name(v)); return buf; }
    if (!v->s[0]) { snprintf(buf, cap, "an empty value"); return buf; }
    size_t o = 0;
    if (o + 1 < cap) buf[o++] = '\'';
    for (const unsigned char *s = (const unsigned char *)v->s; *s && o + 8 < cap; s++) {
        if (s - (const unsigned char *)v->s >= 60) { memcpy(buf + o, "...", 3); o += 3; break; }
        if (*s < 32 || *s == 127) o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", *s);
        else buf[o++] = (char)*s;
    }
    if (o + 1 < cap) buf[o++] = '\'';
    buf[o < cap ? o : cap - 1] = 0;
    return buf;
}

static void join_names(char *buf, size_t cap, const char *const *names, int n) {
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < n && o < cap; i++) {
        int k = snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", names[i]);
        if (k < 0) break;
        o += (size_t)k;
    }
}

// A section being read: its (merged) mapping, and its name for messages.
typedef struct {
    Ctx *c;
    const Node *map;    // NULL when the section is absent
    const char *name;   // "training", "methods[1] (wasi)", "" for the top level
    Pos pos;            // where to report a missing key
} Sec;

static void key_path(char *buf, size_t cap, const Sec *s, const char *key) {
    if (s->name[0]) snprintf(buf, cap, "%s.%s", s->name, key);
    else snprintf(buf, cap, "%s", key);
}

// Hints for keys people are likely to try.
typedef struct { const char *sect, *key, *hint; } Hint;
static const Hint hints[] = {
    {"dataset", "split", "the split is not set in the config: the runner opens train and val itself"},
    {"dataset", "seed", "the data order and augmentation seed is the run seed (seeds:)"},
    {"dataset", "norm", "the key is normalize"},
    {"dataset", "mean", "give normalize: {mean: [...], std: [...]}"},
    {"dataset", "std", "give normalize: {mean: [...], std: [...]}"},
    {"dataset", "hflip", "use augment: flip | crop_flip | random_resized_crop"},
    {"dataset", "random_resized_crop", "use augment: random_resized_crop"},
    {"model", "num_classes", "num_classes comes from the dataset (its listed classes, or the format's count)"},
    {"", "seed", "the key is seeds (an integer or a list)"},
    {"", "method", "the key is methods (a list)"},
    {"training", "scheduler", "the key is schedule"},
};

static int check_keys(const Sec *s, const char *const *valid, int nvalid) {
    if (!s->map) return 0;
    for (int i = 0; i < s->map->n; i++) {
        int ok = 0;
        for (int j = 0; j < nvalid && !ok; j++) ok = !strcmp(s->map->k[i], valid[j]);
        if (ok) continue;
        char list[600], hint[200] = "";
        join_names(list, sizeof list, valid, nvalid);
        const char *sect = s->name[0] ? s->name : "";
        for (size_t h = 0; h < sizeof hints / sizeof hints[0]; h++)
            if (!strcmp(hints[h].sect, sect) && !strcmp(hints[h].key, s->map->k[i])) snprintf(hint, sizeof hint, " (%s)", hints[h].hint);
        return fail(s->c, s->map->kpos[i], "unknown key '%s' %s%s; valid keys: %s%s", s->map->k[i], s->name[0] ? "in " : "at the top level",
                    s->name, list, hint);
    }
    return 0;
}

static int key_pos(const Sec *s, const char *key, Pos *p) {
    int at;
    if (!map_get(s->map, key, &at)) return 0;
    *p = s->map->kpos[at];
    return 1;
}

// The axis of list `seq` (registered in the first pass of a stage); the item to use.
static int axis_pick(Ctx *c, const Node *seq, const char *path, int lists, const Node **out) {
    for (int a = 0; a < c->nax; a++)
        if (c->ax[a].seq == seq) { *out = seq->v[c->ax[a].sel]; return 0; }
    if (!c->discover) return fail(c, seq->pos, "internal: %s: a list not seen in the first pass", path);
    if (seq->n == 0) return fail(c, seq->pos, "%s: empty list (a sweep needs at least one value)", path);
    char b1[96];
    for (int i = 0; i < seq->n; i++) {
        const Node *it = seq->v[i];
        if (lists ? it->kind != N_SEQ : it->kind != N_SCALAR)
            return fail(c, it->pos, "%s: expected %s in the sweep list, got %s", path, lists ? "a list" : "a value", shown(it, b1, sizeof b1));
        if (lists)
            for (int j = 0; j < it->n; j++)
                if (it->v[j]->kind != N_SCALAR)
                    return fail(c, it->v[j]->pos, "%s: expected a value, got %s", path, kind_name(it->v[j]));
        if (!lists && it->kind == N_SCALAR)
            for (int j = 0; j < i; j++)
                if (!strcmp(seq->v[j]->s, it->s))
                    return fail(c, it->pos, "%s: duplicate value %s in the sweep (also at line %d, column %d)", path,
                                shown(it, b1, sizeof b1), seq->v[j]->pos.line, seq->v[j]->pos.col);
    }
    if (c->nax >= MAX_AXES) return fail(c, seq->pos, "%s: more than %d swept settings in one stage", path, MAX_AXES);
    c->ax[c->nax] = (Axis){seq, 0, ar_strdup(&c->A, path)};
    c->nax++;
    *out = seq->v[0];
    return 0;
}

// The value of a scalar setting: absent 0, present 1 (*out = the scalar, or
// the selected item of a sweep), error -1.
static int sec_val(Sec *s, const char *key, int sweepable, const char *what, const Node **out) {
    const Node *v = map_get(s->map, key, NULL);
    if (!v) return 0;
    char path[160];
    key_path(path, sizeof path, s, key);
    if (v->kind == N_MAP) return fail(s->c, v->pos, "%s: expected %s, got a mapping", path, what);
    if (v->kind == N_SEQ) {
        if (!sweepable) return fail(s->c, v->pos, "%s: expected %s, got a list (this key cannot be swept)", path, what);
        return axis_pick(s->c, v, path, 0, out) < 0 ? -1 : 1;
    }
    *out = v;
    return 1;
}

// The value of a list setting (classes, betas, ranks, ...): a list of
// scalars, a sweep (list of lists: the selected one), or a scalar the caller
// interprets (e.g. `classes: all`).
static int sec_list(Sec *s, const char *key, int sweepable, const char *what, const Node **out) {
    const Node *v = map_get(s->map, key, NULL);
    if (!v) return 0;
    char path[160];
    key_path(path, sizeof path, s, key);
    if (v->kind == N_MAP) return fail(s->c, v->pos, "%s: expected %s, got a mapping", path, what);
    if (v->kind == N_SCALAR) { *out = v; return 1; }
    if (v->n > 0 && v->v[0]->kind == N_SEQ) {
        if (!sweepable) return fail(s->c, v->pos, "%s: expected %s, got a list of lists (this key cannot be swept)", path, what);
        if (axis_pick(s->c, v, path, 1, out) < 0) return -1;
        return 1;
    }
    for (int i = 0; i < v->n; i++)
        if (v->v[i]->kind != N_SCALAR) return fail(s->c, v->v[i]->pos, "%s: expected %s, got a list holding %s", path, what, kind_name(v->v[i]));
    *out = v;
    return 1;
}

static int is_null(const Node *v) {
    return v->kind == N_SCALAR && !v->quoted && (!v->s[0] || !strcmp(v->s, "~") || !strcmp(v->s, "null") || !strcmp(v->s, "none"));
}

static int type_error(Ctx *c, const Node *v, const char *path, const char *what) {
    char b1[96];
    if (v->kind == N_SCALAR && v->quoted && v->s[0])
        return fail(c, v->pos, "%s: expected %s, got the quoted string %s (remove the quotes)", path, what, shown(v, b1, sizeof b1));
    return fail(c, v->pos, "%s: expected %s, got %s", path, what, shown(v, b1, sizeof b1));
}

// Plain scalars only: "10" in quotes is a string.
static int parse_long(const Node *v, long *out) {
    if (v->kind != N_SCALAR || v->quoted) return -1;
    const char *s = v->s;
    if (!((*s >= '0' && *s <= '9') || ((*s == '-' || *s == '+') && s[1] >= '0' && s[1] <= '9'))) return -1;
    errno = 0;
    char *end;
    long x = strtol(s, &end, 10);
    if (*end) return -1;
    if (errno) return -2;   // too large for a long
    *out = x;
    return 0;
}

static int parse_double(const Node *v, double *out) {
    if (v->kind != N_SCALAR || v->quoted) return -1;
    const char *s = v->s;
    const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
    if (!((*d >= '0' && *d <= '9') || (*d == '.' && d[1] >= '0' && d[1] <= '9'))) return -1;
    if (d[0] == '0' && (d[1] == 'x' || d[1] == 'X')) return -1;
    char *end;
    double x = strtod(s, &end);
    if (*end || !isfinite(x)) return -1;
    *out = x;
    return 0;
}

static int to_long(Ctx *c, const Node *v, const char *path, long lo, long hi, long *out) {
    long x = 0;
    int pr = parse_long(v, &x);
    if (pr == -1) return type_error(c, v, path, "an integer");
    if (pr == -2 || x < lo || x > hi) {
        char shown_x[80];
        if (pr == -2) snprintf(shown_x, sizeof shown_x, "%.60s", v->s);
        else snprintf(shown_x, sizeof shown_x, "%ld", x);
        if (hi == LONG_MAX) return fail(c, v->pos, "%s: %s is out of range (expected an integer >= %ld)", path, shown_x, lo);
        return fail(c, v->pos, "%s: %s is out of range (expected an integer from %ld to %ld)", path, shown_x, lo, hi);
    }
    *out = x;
    return 0;
}

static int to_u64(Ctx *c, const Node *v, const char *path, uint64_t *out) {
    if (v->kind != N_SCALAR || v->quoted || !(v->s[0] >= '0' && v->s[0] <= '9')) return type_error(c, v, path, "a non-negative integer");
    errno = 0;
    char *end;
    unsigned long long x = strtoull(v->s, &end, 10);
    if (*end) return type_error(c, v, path, "a non-negative integer");
    if (errno) return fail(c, v->pos, "%s: %s does not fit in 64 bits", path, v->s);
    *out = (uint64_t)x;
    return 0;
}

typedef struct { double lo, hi; int lo_open, hi_open; } Range;
#define R_POS ((Range){0, INFINITY, 1, 0})        // > 0
#define R_NONNEG ((Range){0, INFINITY, 0, 0})     // >= 0
#define R_UNIT ((Range){0, 1, 1, 0})              // (0, 1]

static int to_num(Ctx *c, const Node *v, const char *path, Range r, double *out) {
    double x;
    if (parse_double(v, &x) < 0) return type_error(c, v, path, "a number");
    // Settings are stored as float: the range must also hold after rounding
    // (1e-59 is > 0 as a double but 0 as a float, and would not load back).
    double xf = (double)(float)x;
    int ok = (r.lo_open ? x > r.lo : x >= r.lo) && (r.hi_open ? x < r.hi : x <= r.hi) &&
             (r.lo_open ? xf > r.lo : xf >= r.lo) && (r.hi_open ? xf < r.hi : xf <= r.hi);
    if (!ok) {
        char lo[32], hi[32];
        fmt_double(lo, sizeof lo, r.lo);
        fmt_double(hi, sizeof hi, r.hi);
        const char *name = strrchr(path, '.');
        name = name ? name + 1 : path;
        if (isinf(r.hi)) return fail(c, v->pos, "%s: %s is out of range (expected %s %s %s)", path, v->s, name, r.lo_open ? ">" : ">=", lo);
        return fail(c, v->pos, "%s: %s is out of range (expected %s %s %s %s %s)", path, v->s, lo, r.lo_open ? "<" : "<=", name,
                    r.hi_open ? "<" : "<=", hi);
    }
    if (fabs(x) > 3.0e38) return fail(c, v->pos, "%s: %s does not fit in a float", path, v->s);
    *out = x;
    return 0;
}

static int to_bool(Ctx *c, const Node *v, const char *path, int *out) {
    if (v->kind == N_SCALAR && !v->quoted) {
        if (!strcmp(v->s, "true") || !strcmp(v->s, "True") || !strcmp(v->s, "TRUE")) { *out = 1; return 0; }
        if (!strcmp(v->s, "false") || !strcmp(v->s, "False") || !strcmp(v->s, "FALSE")) { *out = 0; return 0; }
    }
    return type_error(c, v, path, "true or false");
}

static int to_enum(Ctx *c, const Node *v, const char *path, const char *const *names, int n, int *out) {
    if (v->kind == N_SCALAR)
        for (int i = 0; i < n; i++)
            if (!strcmp(v->s, names[i])) { *out = i; return 0; }
    char list[400], b1[96];
    join_names(list, sizeof list, names, n);
    return fail(c, v->pos, "%s: unknown value %s; valid: %s", path, shown(v, b1, sizeof b1), list);
}

static int to_str(Ctx *c, const Node *v, const char *path, char *buf, size_t cap) {
    if (v->kind != N_SCALAR || !v->s[0]) return type_error(c, v, path, "a string");
    if (strlen(v->s) >= cap) return fail(c, v->pos, "%s: longer than %zu characters", path, cap - 1);
    snprintf(buf, cap, "%s", v->s);
    return 0;
}

// Sec wrappers: 1 present, 0 absent, -1 error.
static int rd_long(Sec *s, const char *key, long lo, long hi, long *out) {
    const Node *v;
    int r = sec_val(s, key, 1, "an integer", &v);
    if (r <= 0) return r;
    char path[160];
    key_path(path, sizeof path, s, key);
    return to_long(s->c, v, path, lo, hi, out) < 0 ? -1 : 1;
}
static int rd_int(Sec *s, const char *key, long lo, long hi, int *out) {
    long x;
    int r = rd_long(s, key, lo, hi, &x);
    if (r == 1) *out = (int)x;
    return r;
}
static int rd_u64(Sec *s, const char *key, uint64_t *out) {
    const Node *v;
    int r = sec_val(s, key, 1, "a non-negative integer", &v);
    if (r <= 0) return r;
    char path[160];
    key_path(path, sizeof path, s, key);
    return to_u64(s->c, v, path, out) < 0 ? -1 : 1;
}
static int rd_num(Sec *s, const char *key, Range rg, float *out) {
    const Node *v;
    int r = sec_val(s, key, 1, "a number", &v);
    if (r <= 0) return r;
    char path[160];
    key_path(path, sizeof path, s, key);
    double x;
    if (to_num(s->c, v, path, rg, &x) < 0) return -1;
    *out = (float)x;
    return 1;
}
static int rd_bool(Sec *s, const char *key, int *out) {
    const Node *v;
    int r = sec_val(s, key, 1, "true or false", &v);
    if (r <= 0) return r;
    char path[160];
    key_path(path, sizeof path, s, key);
    return to_bool(s->c, v, path, out) < 0 ? -1 : 1;
}
static int rd_enum(Sec *s, const char *key, int sweepable, const char *const *names, int n, int *out) {
    const Node *v;
    char list[400];
    join_names(list, sizeof list, names, n);
    char what[440];
    snprintf(what, sizeof what, "one of %s", list);
    int r = sec_val(s, key, sweepable, what, &v);
    if (r <= 0) return r;
    char path[160];
    key_path(path, sizeof path, s, key);
    return to_enum(s->c, v, path, names, n, out) < 0 ? -1 : 1;
}
// A string; `none` (or null) gives "" when allow_none.
static int rd_str(Sec *s, const char *key, int sweepable, int allow_none, char *buf, size_t cap) {
    const Node *v;
    int r = sec_val(s, key, sweepable, "a string", &v);
    if (r <= 0) return r;
    if (allow_none && is_null(v)) { buf[0] = 0; return 1; }
    char path[160];
    key_path(path, sizeof path, s, key);
    return to_str(s->c, v, path, buf, cap) < 0 ? -1 : 1;
}

// Numbers of a list node (already a list of scalars): count in [minn, maxn].
static int list_nums(Sec *s, const char *key, const Node *l, int minn, int maxn, Range rg, double *out, int *n) {
    char path[160];
    key_path(path, sizeof path, s, key);
    if (l->kind != N_SEQ) return type_error(s->c, l, path, "a list of numbers");
    if (l->n < minn || l->n > maxn) {
        if (minn == maxn) return fail(s->c, l->pos, "%s: %d values given (expected %d)", path, l->n, minn);
        return fail(s->c, l->pos, "%s: %d values given (expected %d to %d)", path, l->n, minn, maxn);
    }
    for (int i = 0; i < l->n; i++)
        if (to_num(s->c, l->v[i], path, rg, &out[i]) < 0) return -1;
    *n = l->n;
    return 0;
}
static int list_longs(Sec *s, const char *key, const Node *l, int minn, int maxn, long lo, long hi, long *out, int *n) {
    char path[160];
    key_path(path, sizeof path, s, key);
    if (l->kind != N_SEQ) return type_error(s->c, l, path, "a list of integers");
    if (l->n < minn || l->n > maxn) {
        if (minn == maxn) return fail(s->c, l->pos, "%s: %d values given (expected %d)", path, l->n, minn);
        return fail(s->c, l->pos, "%s: %d values given (expected %d to %d)", path, l->n, minn, maxn);
    }
    for (int i = 0; i < l->n; i++)
        if (to_long(s->c, l->v[i], path, lo, hi, &out[i]) < 0) return -1;
    *n = l->n;
    return 0;
}

static int section(Ctx *c, const Node *tree, const char *name, int required, Sec *s) {
    int at;
    const Node *m = map_get(tree, name, &at);
    *s = (Sec){c, NULL, name, tree->pos};
    if (!m) {
        if (required) return fail(c, tree->pos, "missing required section '%s'", name);
        return 0;
    }
    if (m->kind != N_MAP) {
        char b1[96];
        return fail(c, m->pos, "%s: expected a mapping of settings, got %s", name, shown(m, b1, sizeof b1));
    }
    s->map = m;
    s->pos = m->pos;
    return 0;
}

// ---------------------------------------------------------------------------
// name parts

// Short prefixes of run-name parts; "" = the value alone; missing = the key.
static const char *const tok_prefix[][2] = {
    {"preset", ""}, {"image_size", "img"}, {"patch", "p"}, {"channels", "ch"}, {"dim", "dim"}, {"depth", "depth"},
    {"heads", "heads"}, {"mlp_dim", "mlp"}, {"pretrained", ""}, {"init_seed", "init"}, {"format", ""}, {"path", ""},
    {"classes", "cls"}, {"val_fraction", "val"}, {"split_seed", "split"}, {"normalize", "norm_"}, {"resize", ""},
    {"resize_size", "rs"}, {"augment", ""}, {"cache", "cache_"}, {"limit_train", "ntrain"}, {"limit_val", "nval"},
    {"epochs", "ep"}, {"batch_size", "bs"}, {"optimizer", ""}, {"lr", "lr"}, {"momentum", "mom"}, {"dampening", "damp"},
    {"weight_decay", "wd"}, {"betas", "betas"}, {"eps", "adameps"}, {"schedule", ""}, {"warmup_epochs", "warmup"},
    {"warmup_start", "wstart"}, {"eta_min", "etamin"}, {"eta_min_ratio", "etaratio"}, {"grad_clip", "clip"},
    {"max_steps", "steps"}, {"eval_every", "eval"}, {"layers", ""}, {"num_of_finetune", "ft"}, {"rank", "r"},
    {"alpha", "alpha"}, {"epsilon", "eps"}, {"ranks", "k"}, {"candidates", "cand"}, {"storage", ""},
    {"r_update", "rupd_"}, {"activation.ranks", "ak"}, {"activation.epsilon", "aeps"}, {"activation.candidates", "acand"},
    {"budget_mb", "budget"}, {"seeds", "seed"}, {"rrc_scale", "rrcs"}, {"rrc_ratio", "rrcr"},
};

static void sanitize(char *s) {
    for (; *s; s++) {
        char ch = *s;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' || ch == '+';
        if (!ok) *s = '_';
    }
}

static void scalar_text(char *buf, size_t cap, const Node *v, int path_like) {
    double x;
    if (v->kind != N_SCALAR) { snprintf(buf, cap, "?"); return; }
    if (parse_double(v, &x) == 0) { fmt_double(buf, cap, x); return; }
    const char *s = v->s;
    if (path_like && !is_null(v)) {   // base name without extension
        const char *sl = strrchr(s, '/');
        if (sl && sl[1]) s = sl + 1;
        const char *dot = strrchr(s, '.');
        int n = dot && dot != s ? (int)(dot - s) : (int)strlen(s);
        snprintf(buf, cap, "%.*s", n, s);
        return;
    }
    snprintf(buf, cap, "%s", is_null(v) ? "none" : s);
}

// One name part for setting `key` (a key path) with value v.
static const char *tok_make(Ctx *c, const char *key, const Node *v) {
    const char *last = key;
    const char *pfx = NULL;
    size_t best = 0;
    for (size_t i = 0; i < sizeof tok_prefix / sizeof tok_prefix[0]; i++) {   // the longest matching key suffix
        size_t kl = strlen(key), pl = strlen(tok_prefix[i][0]);
        if (pl > best && kl >= pl && !strcmp(key + kl - pl, tok_prefix[i][0]) && (kl == pl || key[kl - pl - 1] == '.')) {
            pfx = tok_prefix[i][1];
            best = pl;
        }
    }
    const char *dot = strrchr(key, '.');
    if (dot) last = dot + 1;
    if (!pfx) pfx = last;
    char out[160], item[64];
    int path_like = !strcmp(last, "pretrained") || !strcmp(last, "path");
    if (v->kind == N_SCALAR && !v->quoted && (!strcmp(v->s, "true") || !strcmp(v->s, "false")))
        snprintf(out, sizeof out, "%s%s", v->s[0] == 't' ? "" : "no_", last);
    else if (v->kind == N_SEQ) {
        size_t o = (size_t)snprintf(out, sizeof out, "%s", pfx);
        const char *sep = strstr(last, "ranks") ? "x" : "_";
        for (int i = 0; i < v->n && o < sizeof out; i++) {
            scalar_text(item, sizeof item, v->v[i], 0);
            int k = snprintf(out + o, sizeof out - o, "%s%s", i ? sep : "", item);
            if (k < 0) break;
            o += (size_t)k;
        }
    } else {
        scalar_text(item, sizeof item, v, path_like);
        snprintf(out, sizeof out, "%s%s", pfx, item);
    }
    sanitize(out);
    return ar_strdup(&c->A, out);
}

static void tok_add(Ctx *c, const char *scope, const char *text, int always) {
    if (c->nt >= MAX_TOKS) return;
    c->ts[c->nt] = scope;
    c->tt[c->nt] = text;
    c->ta[c->nt] = (unsigned char)always;
    c->nt++;
}

// A method-entry setting that was given explicitly becomes a name part.
static void tok_key(Sec *s, const char *scope, const char *key) {
    const Node *v = map_get(s->map, key, NULL);
    if (!v) return;
    for (int a = 0; a < s->c->nax; a++)
        if (s->c->ax[a].seq == v) { v = v->v[s->c->ax[a].sel]; break; }
    tok_add(s->c, scope, tok_make(s->c, scope, v), 0);
}

// ---------------------------------------------------------------------------
// the sections

static int format_classes(DataFormat f, int coarse) {
    switch (f) {
    case DATA_FASHION_MNIST: case DATA_MNIST: case DATA_CIFAR10: return 10;
    case DATA_CIFAR100: return coarse ? 20 : 100;
    case DATA_PETS: return 37;
    case DATA_FLOWERS102: return 102;
    case DATA_CUB200: return 200;
    case DATA_ISIC2018: return 7;
    default: return 0;
    }
}

static const char *const top_keys[] = {"experiment", "output", "extends", "model", "dataset", "training", "methods", "layers",
                                       "num_of_finetune", "seeds", "budget_mb", "strict_budget", "save_checkpoint", "stages"};
static const char *const stage_keys[] = {"name", "model", "dataset", "training", "methods", "layers", "num_of_finetune",
                                         "seeds", "budget_mb", "strict_budget", "save_checkpoint"};
static const char *const model_keys[] = {"preset", "image_size", "patch", "channels", "dim", "depth", "heads", "mlp_dim",
                                         "pretrained", "from_stage", "new_head", "init_seed"};
static const char *const dataset_keys[] = {"format", "path", "image_size", "channels", "classes", "val_fraction", "split_seed",
                                           "normalize", "resize", "resize_size", "augment", "rrc_scale", "rrc_ratio", "shuffle",
                                           "skip_corrupt", "cache", "coarse_labels", "limit_train", "limit_val"};
static const char *const training_keys[] = {"epochs", "batch_size", "optimizer", "lr", "momentum", "dampening", "nesterov",
                                            "weight_decay", "betas", "eps", "schedule", "warmup_epochs", "warmup_start",
                                            "eta_min", "eta_min_ratio", "grad_clip", "max_steps", "eval_every"};
static const char *const layers_names[] = {"mlp", "all_linear"};
static const char *const optim_names[] = {"sgd", "adamw"};
static const char *const sched_names[] = {"cosine", "constant"};
static const char *const augment_names[] = {"none", "flip", "crop_flip", "random_resized_crop"};
static const char *const norm_names[] = {"half", "imagenet", "dataset", "none"};
static const char *const resize_names[] = {"squash", "short_crop"};
static const char *const cache_names[] = {"auto", "off", "on"};
static const char *const storage_names[] = {"dense", "factored"};
static const char *const rupdate_names[] = {"current", "previous"};
enum { M_VANILLA = 0, M_LORA, M_HOSVD, M_ASI, M_WASI, M_N };
static const char *const method_names[M_N] = {"vanilla", "lora", "hosvd", "asi", "wasi"};
static const char *const method_keys[M_N][6] = {
    {"name"}, {"name", "rank", "alpha"}, {"name", "epsilon"}, {"name", "ranks", "budget_mb", "candidates"},
    {"name", "epsilon", "storage", "r_update", "activation"}};
static const int method_nkeys[M_N] = {1, 3, 2, 4, 5};
static const char *const activation_keys[] = {"ranks", "epsilon", "budget_mb", "candidates"};
static const float default_candidates[] = {0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f};

#define NK(a) ((int)(sizeof(a) / sizeof((a)[0])))

// Counted linears of the run's model (the range of num_of_finetune).
static long counted_linears(const RunSpec *r) {
    int per = r->all_linear ? 6 : 2;
    if (r->model.kind == MODEL_VIT) return (long)r->model.vit.depth * per;
    long blocks = 0;
    for (int i = 0; i < r->model.swin.stages; i++) blocks += r->model.swin.depths[i];
    return blocks * (r->all_linear ? 4 : 2);   // Swin: qkv, proj, fc1, fc2
}

int cfg_lora_rank_max(const RunSpec *r) {
    return r->model.kind == MODEL_SWIN ? r->model.swin.embed_dim : wb_min(r->model.vit.dim, r->model.vit.mlp_dim);
}

// Settings bounded by the model's shapes, checked here so that --dry-run
// catches them (a run would stop at a CHECK in the method's init).
static int check_model_bounds(Ctx *c, const Node *entry, int idx, const RunSpec *r) {
    if (strcmp(r->method, "lora")) return 0;
    int rmax = cfg_lora_rank_max(r);
    if (r->mcfg.lora_rank <= rmax) return 0;
    Pos p = entry->pos;
    Sec s = {c, entry->kind == N_MAP ? entry : NULL, "", entry->pos};
    if (s.map) key_pos(&s, "rank", &p);
    return fail(c, p, "methods[%d].rank: %d is larger than the model (%s) allows: LoRA rank 1 .. %d, min(out, in features) of its smallest linear",
                idx, r->mcfg.lora_rank, r->model_preset, rmax);
}

static int model_section(Ctx *c, const Node *tree, RunSpec *r, int *from_stage_given) {
    Sec s;
    if (section(c, tree, "model", 1, &s) < 0 || check_keys(&s, model_keys, NK(model_keys)) < 0) return -1;
    const Node *pv;
    int have_preset = sec_val(&s, "preset", 1, "a preset name", &pv);
    if (have_preset < 0) return -1;
    if (have_preset) {
        if (pv->kind != N_SCALAR || model_preset(pv->s, &r->model) < 0) {
            char b1[96];
            return fail(c, pv->pos, "model.preset: unknown value %s; valid: %s", shown(pv, b1, sizeof b1), model_preset_names());
        }
        snprintf(r->model_preset, sizeof r->model_preset, "%s", pv->s);
    } else {
        snprintf(r->model_preset, sizeof r->model_preset, "custom");
        r->model.kind = MODEL_VIT;
        r->model.vit.ln_eps = 1e-6f;
    }
    static const char *const sizes[] = {"image_size", "patch", "channels", "dim", "depth", "heads", "mlp_dim"};
    if (r->model.kind == MODEL_SWIN) {   // Swin sizes are its preset's (torchvision's)
        Pos p;
        for (int i = 0; i < 7; i++)
            if (key_pos(&s, sizes[i], &p))
                return fail(c, p, "model.%s: a Swin preset (%s) is used with its own sizes; size keys apply to ViT models only",
                            sizes[i], r->model_preset);
    } else {
        int *dst[] = {&r->model.vit.image_size, &r->model.vit.patch, &r->model.vit.channels, &r->model.vit.dim,
                      &r->model.vit.depth, &r->model.vit.heads, &r->model.vit.mlp_dim};
        static const long hi[] = {4096, 4096, 3, 16384, 256, 1024, 65536};
        char missing[200] = "";
        for (int i = 0; i < 7; i++) {
            int got = rd_int(&s, sizes[i], 1, hi[i], dst[i]);
            if (got < 0) return -1;
            if (!got && !have_preset) {
                size_t o = strlen(missing);
                snprintf(missing + o, sizeof missing - o, "%s'%s'", o ? ", " : "", sizes[i]);
            }
        }
        if (missing[0])
            return fail(c, s.pos, "model: missing key(s) %s (give preset: one of %s, or all of image_size, patch, channels, dim, depth, heads, mlp_dim)",
                        missing, model_preset_names());
        ViTConfig *v = &r->model.vit;
        Pos p = s.pos;
        if (v->channels != 1 && v->channels != 3) {
            key_pos(&s, "channels", &p);
            return fail(c, p, "model.channels: %d is out of range (expected 1 or 3)", v->channels);
        }
        if (v->image_size % v->patch) {
            if (!key_pos(&s, "patch", &p)) key_pos(&s, "image_size", &p);
            return fail(c, p, "model.patch: %d does not divide model.image_size %d", v->patch, v->image_size);
        }
        if (v->dim % v->heads) {
            if (!key_pos(&s, "heads", &p)) key_pos(&s, "dim", &p);
            return fail(c, p, "model.heads: %d does not divide model.dim %d", v->heads, v->dim);
        }
    }
    int got = rd_str(&s, "pretrained", 1, 1, r->pretrained, sizeof r->pretrained);
    if (got < 0) return -1;
    const Node *fs;
    got = sec_val(&s, "from_stage", 0, "a stage name", &fs);
    if (got < 0) return -1;
    *from_stage_given = got;
    if (got) {
        if (to_str(c, fs, "model.from_stage", r->pretrained_stage, sizeof r->pretrained_stage) < 0) return -1;
        if (r->pretrained[0]) return fail(c, fs->pos, "model.from_stage: cannot be combined with model.pretrained (%s)", r->pretrained);
    }
    r->new_head = r->pretrained[0] || r->pretrained_stage[0];   // fine-tuning starts from weights: a new head by default
    if (rd_bool(&s, "new_head", &r->new_head) < 0) return -1;
    r->init_seed = r->seed;
    if (rd_u64(&s, "init_seed", &r->init_seed) < 0) return -1;
    return 0;
}

static int dataset_section(Ctx *c, const Node *tree, RunSpec *r) {
    Sec s;
    if (section(c, tree, "dataset", 1, &s) < 0 || check_keys(&s, dataset_keys, NK(dataset_keys)) < 0) return -1;
    DataConfig *d = &r->data;
    const char *fmts[DATA_NFORMATS];
    for (int i = 0; i < DATA_NFORMATS; i++) fmts[i] = data_format_name((DataFormat)i);
    int f = 0, got = rd_enum(&s, "format", 1, fmts, DATA_NFORMATS, &f);
    if (got < 0) return -1;
    if (!got) return fail(c, s.pos, "dataset: missing required key 'format' (one of fashion_mnist, mnist, cifar10, cifar100, pets, flowers102, cub200, isic2018)");
    d->format = (DataFormat)f;
    Pos fpos = s.pos;
    key_pos(&s, "format", &fpos);
    if ((got = rd_str(&s, "path", 1, 0, d->path, sizeof d->path)) < 0) return -1;
    if (!got) {
        if (d->format != DATA_FASHION_MNIST)
            return fail(c, fpos, "dataset: missing key 'path' (required for format %s; only fashion_mnist has a default)", data_format_name(d->format));
        snprintf(d->path, sizeof d->path, "%s", FASHION_MNIST_DEFAULT_PATH);
    }
    d->split = SPLIT_TRAIN;
    d->seed = r->seed;
    // The data feeds the model: its size and channels are the model's.
    int m_size, m_channels, m_classes;
    model_config_io(&r->model, &m_size, &m_channels, &m_classes);
    d->image_size = m_size;
    d->channels = m_channels;
    int x;
    Pos p;
    if ((got = rd_int(&s, "image_size", 1, 4096, &x)) < 0) return -1;
    if (got && x != m_size) {
        key_pos(&s, "image_size", &p);
        return fail(c, p, "dataset.image_size: %d differs from model.image_size %d (set the size under model:)", x, m_size);
    }
    if ((got = rd_int(&s, "channels", 1, 3, &x)) < 0) return -1;
    if (got && x != m_channels) {
        key_pos(&s, "channels", &p);
        return fail(c, p, "dataset.channels: %d differs from model.channels %d (set it under model:)", x, m_channels);
    }
    if (rd_bool(&s, "coarse_labels", &d->coarse_labels) < 0) return -1;
    if (d->coarse_labels && d->format != DATA_CIFAR100) {
        key_pos(&s, "coarse_labels", &p);
        return fail(c, p, "dataset.coarse_labels: only cifar100 has coarse labels (format is %s)", data_format_name(d->format));
    }
    int K = format_classes(d->format, d->coarse_labels);
    const Node *cl;
    if ((got = sec_list(&s, "classes", 1, "a list of class ids or all", &cl)) < 0) return -1;
    if (got && !(cl->kind == N_SCALAR && !strcmp(cl->s, "all"))) {
        long ids[DATA_MAX_CLASSES];
        int n;
        if (cl->kind == N_SCALAR) return type_error(c, cl, "dataset.classes", "a list of class ids or all");
        if (list_longs(&s, "classes", cl, 1, DATA_MAX_CLASSES, 0, K - 1, ids, &n) < 0) return -1;
        if (n < 2) return fail(c, cl->pos, "dataset.classes: one class (%ld) makes a one-class problem (list at least 2 classes, or all)", ids[0]);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < i; j++)
                if (ids[j] == ids[i]) return fail(c, cl->v[i]->pos, "dataset.classes: class %ld listed twice", ids[i]);
            d->classes[i] = (int)ids[i];
        }
        d->n_classes = n;
    }
    model_config_set_classes(&r->model, d->n_classes ? d->n_classes : K);
    // 0 would leave the val split, on which every run is evaluated, empty
    if (rd_num(&s, "val_fraction", (Range){0, 1, 1, 1}, &d->val_fraction) < 0) return -1;
    if (rd_u64(&s, "split_seed", &d->split_seed) < 0) return -1;
    // normalize: a preset name, or {mean: [...], std: [...]}
    const Node *nv = map_get(s.map, "normalize", NULL);
    if (nv && nv->kind == N_MAP) {
        Sec ns = {c, nv, "dataset.normalize", nv->pos};
        static const char *const nk[] = {"mean", "std"};
        if (check_keys(&ns, nk, 2) < 0) return -1;
        float *dst[2] = {d->mean, d->std};
        for (int k = 0; k < 2; k++) {
            const Node *l;
            if ((got = sec_list(&ns, nk[k], 1, "a list of numbers", &l)) < 0) return -1;
            if (!got) return fail(c, nv->pos, "dataset.normalize: missing key '%s' (give both mean and std, one value per channel)", nk[k]);
            double vals[3];
            int n;
            if (list_nums(&ns, nk[k], l, 1, 3, k ? R_POS : (Range){-INFINITY, INFINITY, 0, 0}, vals, &n) < 0) return -1;
            if (n != 1 && n != d->channels)
                return fail(c, l->pos, "dataset.normalize.%s: %d values for %d channel(s) (expected 1 or %d)", nk[k], n, d->channels, d->channels);
            for (int ch = 0; ch < 3; ch++) dst[k][ch] = ch < d->channels ? (float)vals[n == 1 ? 0 : ch] : 0.0f;
        }
        d->norm = NORM_EXPLICIT;
    } else {
        int nm;
        if ((got = rd_enum(&s, "normalize", 1, norm_names, NK(norm_names), &nm)) < 0) return -1;
        if (got) d->norm = (DataNorm)data_norm_parse(norm_names[nm]);
        key_pos(&s, "normalize", &p);
        if (d->norm == NORM_IMAGENET && d->channels != 3)
            return fail(c, p, "dataset.normalize: imagenet statistics are for 3 channels, the model has %d", d->channels);
        if (d->norm == NORM_DATASET && !(d->format == DATA_FASHION_MNIST || d->format == DATA_MNIST ||
                                         ((d->format == DATA_CIFAR10 || d->format == DATA_CIFAR100) && d->channels == 3)))
            return fail(c, p, "dataset.normalize: no per-dataset statistics for %s with %d channel(s) (use half, imagenet, none or {mean, std})",
                        data_format_name(d->format), d->channels);
    }
    int rs;
    if ((got = rd_enum(&s, "resize", 1, resize_names, NK(resize_names), &rs)) < 0) return -1;
    if (got) d->resize = (DataResize)rs;
    if ((got = rd_int(&s, "resize_size", 1, 8192, &d->resize_size)) < 0) return -1;
    key_pos(&s, "resize_size", &p);
    if (got && d->resize != RESIZE_SHORT_CROP)
        return fail(c, p, "dataset.resize_size: only applies to resize: short_crop (resize is %s)", resize_names[d->resize]);
    if (got && d->resize_size < d->image_size)
        return fail(c, p, "dataset.resize_size: %d is smaller than the image size %d", d->resize_size, d->image_size);
    if (d->resize == RESIZE_SHORT_CROP && !got) d->resize_size = d->image_size;
    int aug = 0;
    if (rd_enum(&s, "augment", 1, augment_names, NK(augment_names), &aug) < 0) return -1;
    d->hflip = aug == 1 || aug == 2;
    d->random_resized_crop = aug == 2 || aug == 3;
    static const char *const rk[] = {"rrc_scale", "rrc_ratio"};
    float *rdst[2] = {d->rrc_scale, d->rrc_ratio};
    for (int k = 0; k < 2; k++) {
        const Node *l;
        if ((got = sec_list(&s, rk[k], 1, "a list of two numbers", &l)) < 0) return -1;
        if (!got) continue;
        if (!d->random_resized_crop)
            return fail(c, l->pos, "dataset.%s: only applies to augment: crop_flip or random_resized_crop (augment is %s)", rk[k], augment_names[aug]);
        double vals[2];
        int n;
        if (list_nums(&s, rk[k], l, 2, 2, R_POS, vals, &n) < 0) return -1;
        if (vals[0] > vals[1] || (k == 0 && vals[1] > 1.0))
            return fail(c, l->pos, "dataset.%s: [%g, %g] is out of range (expected lo <= hi%s)", rk[k], vals[0], vals[1], k ? "" : " <= 1");
        rdst[k][0] = (float)vals[0];
        rdst[k][1] = (float)vals[1];
    }
    if (rd_bool(&s, "shuffle", &d->shuffle) < 0 || rd_bool(&s, "skip_corrupt", &d->skip_corrupt) < 0) return -1;
    int cache;
    if ((got = rd_enum(&s, "cache", 1, cache_names, NK(cache_names), &cache)) < 0) return -1;
    if (got) d->cache = (DataCache)cache;
    if (rd_int(&s, "limit_train", 0, INT_MAX, &r->limit_train) < 0 || rd_int(&s, "limit_val", 0, INT_MAX, &r->limit_val) < 0) return -1;
    return 0;
}

static int training_section(Ctx *c, const Node *tree, RunSpec *r, RunAux *x) {
    Sec s;
    if (section(c, tree, "training", 1, &s) < 0 || check_keys(&s, training_keys, NK(training_keys)) < 0) return -1;
    int got, ge = 0, gb = 0, gl = 0;
    if ((ge = rd_int(&s, "epochs", 1, 1000000, &r->epochs)) < 0) return -1;
    if ((gb = rd_int(&s, "batch_size", 1, 1000000, &r->batch_size)) < 0) return -1;
    int opt = 0;
    if (rd_enum(&s, "optimizer", 1, optim_names, NK(optim_names), &opt) < 0) return -1;
    float lr = 0;
    if ((gl = rd_num(&s, "lr", R_POS, &lr)) < 0) return -1;
    if (!ge || !gb || !gl) {
        char miss[80] = "";
        const char *names[3] = {"epochs", "batch_size", "lr"};
        int have[3] = {ge, gb, gl};
        for (int i = 0; i < 3; i++)
            if (!have[i]) { size_t o = strlen(miss); snprintf(miss + o, sizeof miss - o, "%s'%s'", o ? ", " : "", names[i]); }
        return fail(c, s.pos, "training: missing required key(s) %s", miss);
    }
    // torch defaults: SGD momentum 0, AdamW betas (0.9, 0.999), eps 1e-8, weight decay 0.01
    r->opt = opt == 0 ? optim_sgd(0.0f, 0.0f) : optim_adamw(0.9f, 0.999f, 1e-8f, 0.01f);
    static const char *const sgd_only[] = {"momentum", "dampening", "nesterov"};
    static const char *const adam_only[] = {"betas", "eps"};
    for (int i = 0; i < 3; i++) {
        Pos p;
        if (opt != 0 && key_pos(&s, sgd_only[i], &p)) return fail(c, p, "training.%s: an sgd setting, but optimizer is adamw", sgd_only[i]);
        if (i < 2 && opt != 1 && key_pos(&s, adam_only[i], &p)) return fail(c, p, "training.%s: an adamw setting, but optimizer is sgd", adam_only[i]);
    }
    if (rd_num(&s, "momentum", (Range){0, 1, 0, 1}, &r->opt.momentum) < 0) return -1;
    if (rd_num(&s, "dampening", (Range){0, 1, 0, 0}, &r->opt.dampening) < 0) return -1;
    if (rd_bool(&s, "nesterov", &r->opt.nesterov) < 0) return -1;
    if (r->opt.nesterov && (r->opt.momentum <= 0.0f || r->opt.dampening != 0.0f)) {
        Pos p;
        key_pos(&s, "nesterov", &p);
        return fail(c, p, "training.nesterov: needs momentum > 0 and dampening 0 (as torch.optim.SGD)");
    }
    if (rd_num(&s, "weight_decay", R_NONNEG, &r->opt.weight_decay) < 0) return -1;
    const Node *bl;
    if ((got = sec_list(&s, "betas", 1, "a list [beta1, beta2]", &bl)) < 0) return -1;
    if (got) {
        double b[2];
        int n;
        if (list_nums(&s, "betas", bl, 2, 2, (Range){0, 1, 0, 1}, b, &n) < 0) return -1;
        r->opt.beta1 = (float)b[0];
        r->opt.beta2 = (float)b[1];
    }
    if (rd_num(&s, "eps", R_POS, &r->opt.eps) < 0) return -1;
    int sched = 0;
    if (rd_enum(&s, "schedule", 1, sched_names, NK(sched_names), &sched) < 0) return -1;
    r->sched.lr = lr;
    r->sched.cosine = sched == 0;
    if ((got = rd_num(&s, "warmup_epochs", R_NONNEG, &r->warmup_epochs)) < 0) return -1;
    Pos p;
    if (got && r->warmup_epochs > (float)r->epochs) {
        key_pos(&s, "warmup_epochs", &p);
        return fail(c, p, "training.warmup_epochs: %g is more than training.epochs %d", (double)r->warmup_epochs, r->epochs);
    }
    r->sched.warmup_start = 1.0f / 3.0f;   // torch LinearLR's default start_factor
    if (rd_num(&s, "warmup_start", R_UNIT, &r->sched.warmup_start) < 0) return -1;
    float eta = 0, ratio = 0.1f;   // the paper: eta_min = 0.1 lr
    int ga, gr;
    if ((ga = rd_num(&s, "eta_min", R_NONNEG, &eta)) < 0 || (gr = rd_num(&s, "eta_min_ratio", (Range){0, 1, 0, 0}, &ratio)) < 0) return -1;
    if (ga && gr) {
        key_pos(&s, "eta_min_ratio", &p);
        return fail(c, p, "training.eta_min_ratio: give eta_min or eta_min_ratio, not both");
    }
    if ((ga || gr) && !r->sched.cosine) {
        key_pos(&s, ga ? "eta_min" : "eta_min_ratio", &p);
        return fail(c, p, "training.%s: only applies to schedule: cosine", ga ? "eta_min" : "eta_min_ratio");
    }
    if (ga && eta > lr) {
        key_pos(&s, "eta_min", &p);
        return fail(c, p, "training.eta_min: %g is more than training.lr %g", (double)eta, (double)lr);
    }
    x->eta_abs = ga;
    r->eta_min_ratio = ga ? eta / lr : ratio;
    r->sched.eta_min = ga ? eta : ratio * lr;
    const Node *gc;
    if ((got = sec_val(&s, "grad_clip", 1, "a number or none", &gc)) < 0) return -1;
    if (got && !is_null(gc)) {
        double v;
        if (to_num(c, gc, "training.grad_clip", R_POS, &v) < 0) return -1;
        r->grad_clip = (float)v;
    }
    if (rd_long(&s, "max_steps", 0, LONG_MAX, &r->max_steps) < 0) return -1;
    if (rd_int(&s, "eval_every", 1, 1000000, &r->eval_every) < 0) return -1;
    return 0;
}

// Stage-level settings that are not sections: layers and num_of_finetune.
static int layer_settings(Ctx *c, const Node *tree, RunSpec *r) {
    Sec s = {c, tree, "", tree->pos};
    int lay = 0;
    if (rd_enum(&s, "layers", 1, layers_names, NK(layers_names), &lay) < 0) return -1;
    r->all_linear = lay;
    const Node *v;
    int got = sec_val(&s, "num_of_finetune", 1, "all or an integer", &v);
    if (got < 0) return -1;
    r->num_finetune = -1;
    if (got && !(v->kind == N_SCALAR && !strcmp(v->s, "all"))) {
        long counted = counted_linears(r), n;
        long x;
        if (parse_long(v, &x) == -1) return type_error(c, v, "num_of_finetune", "all or an integer");
        if (to_long(c, v, "num_of_finetune", 0, counted, &n) < 0) return -1;
        r->num_finetune = (int)n;
    }
    return 0;
}

// Keys of a method entry: unknown ones, and ones of another method (named).
static int check_method_keys(Ctx *c, const Node *e, int m, const char *sect) {
    for (int i = 0; i < e->n; i++) {
        const char *k = e->k[i];
        int ok = 0;
        for (int j = 0; j < method_nkeys[m] && !ok; j++) ok = !strcmp(k, method_keys[m][j]);
        if (ok) continue;
        char owners[80] = "", list[200];
        for (int o = 0; o < M_N; o++)
            for (int j = 1; j < method_nkeys[o]; j++)
                if (!strcmp(k, method_keys[o][j])) {
                    size_t len = strlen(owners);
                    snprintf(owners + len, sizeof owners - len, "%s%s", len ? ", " : "", method_names[o]);
                }
        join_names(list, sizeof list, method_keys[m], method_nkeys[m]);
        int act = m == M_WASI && (!strcmp(k, "ranks") || !strcmp(k, "budget_mb") || !strcmp(k, "candidates"));
        if (owners[0])
            return fail(c, e->kpos[i], "key '%s' in %s belongs to %s, not %s; valid keys for %s: %s%s", k, sect, owners, method_names[m],
                        method_names[m], list, act ? " (for wasi put it under activation:)" : "");
        return fail(c, e->kpos[i], "unknown key '%s' in %s; valid keys: %s", k, sect, list);
    }
    return 0;
}

static int method_name(Ctx *c, const Node *e, int idx, int *m) {
    char path[64];
    snprintf(path, sizeof path, "methods[%d]", idx);
    const Node *nv = e;
    if (e->kind == N_MAP) {
        nv = map_get(e, "name", NULL);
        if (!nv) return fail(c, e->pos, "%s: missing key 'name' (one of vanilla, lora, hosvd, asi, wasi)", path);
        snprintf(path, sizeof path, "methods[%d].name", idx);
        if (nv->kind == N_SEQ) return fail(c, nv->pos, "%s: expected one method name, got a list (give each method its own entry)", path);
    } else if (e->kind == N_SEQ) {
        return fail(c, e->pos, "%s: expected a mapping (name: ..., settings), got a list", path);
    }
    return to_enum(c, nv, path, method_names, M_N, m);
}

// Activation ranks of asi / wasi: [k1, k2, k3] (ViT) checked against the run.
static int act_ranks(Sec *s, const char *key, const Node *l, RunSpec *r) {
    long k[4];
    int n;
    char path[160];
    key_path(path, sizeof path, s, key);
    if (l->kind != N_SEQ) return type_error(s->c, l, path, "a list of ranks [k1, k2, k3]");
    if (list_longs(s, key, l, 3, 4, 1, 1000000, k, &n) < 0) return -1;
    int modes = model_config_act_modes(&r->model);
    if (n != modes)
        return fail(s->c, l->pos, "%s: %d ranks given, but %s activations have %d modes (%s): give %d ranks", path, n,
                    model_kind_name(r->model.kind), modes, modes == 3 ? "B, N, I" : "B, H, W, C", modes);
    if (r->model.kind == MODEL_SWIN) {   // sizes vary by stage: ranks above a mode's size are clipped to it
        if (k[0] > r->batch_size)
            return fail(s->c, l->v[0]->pos, "%s: %ld is out of range (k1 (batch) must be <= training.batch_size, %d)", path, k[0], r->batch_size);
        for (int i = 0; i < 4; i++) r->mcfg.act_ranks[i] = (int)k[i];
        return 0;
    }
    const ViTConfig *v = &r->model.vit;
    long N = (long)(v->image_size / v->patch) * (v->image_size / v->patch) + 1;
    long I = v->dim < v->mlp_dim ? v->dim : v->mlp_dim;
    long lim[3] = {r->batch_size, N, I};
    static const char *const what[3] = {"k1 (batch) must be <= training.batch_size", "k2 (tokens) must be <= the token count",
                                        "k3 (features) must be <= min(model.dim, model.mlp_dim)"};
    for (int i = 0; i < 3; i++) {
        if (k[i] > lim[i]) return fail(s->c, l->v[i]->pos, "%s: %ld is out of range (%s, %ld)", path, k[i], what[i], lim[i]);
        r->mcfg.act_ranks[i] = (int)k[i];
    }
    return 0;
}

static int candidates(Sec *s, const char *key, const Node *l, RunSpec *r) {
    double v[16];
    int n;
    if (list_nums(s, key, l, 1, 16, R_UNIT, v, &n) < 0) return -1;
    for (int i = 1; i < n; i++)
        if (!(v[i] > v[i - 1])) {
            char path[160];
            key_path(path, sizeof path, s, key);
            return fail(s->c, l->v[i]->pos, "%s: expected increasing values (%g after %g)", path, v[i], v[i - 1]);
        }
    for (int i = 0; i < n; i++) r->candidates[i] = (float)v[i];
    r->n_candidates = n;
    return 0;
}

// Returns 1 when the method entry sets its own budget (then the top-level budget does not apply).
static int method_section(Ctx *c, const Node *e, int idx, RunSpec *r, RunAux *x) {
    int m;
    if (method_name(c, e, idx, &m) < 0) return -1;
    char sect[64], path[32];
    snprintf(sect, sizeof sect, "methods[%d] (%s)", idx, method_names[m]);
    snprintf(path, sizeof path, "methods[%d]", idx);
    Sec s = {c, e->kind == N_MAP ? e : NULL, ar_strdup(&c->A, path), e->pos};
    if (s.map && check_method_keys(c, e, m, sect) < 0) return -1;
    snprintf(r->method, sizeof r->method, "%s", method_names[m]);
    x->entry = e;
    tok_add(c, "method", method_names[m], 1);
    MethodConfig *mc = &r->mcfg;
    mc->seed = r->seed;
    int got, own_budget = 0;
    switch (m) {
    case M_VANILLA: break;
    case M_LORA: {
        if ((got = rd_int(&s, "rank", 1, 65536, &mc->lora_rank)) < 0) return -1;
        if (!got) return fail(c, e->pos, "%s: missing required key 'rank'", sect);
        mc->lora_alpha = (float)mc->lora_rank;   // scale alpha / r = 1
        if (rd_num(&s, "alpha", R_POS, &mc->lora_alpha) < 0) return -1;
        tok_key(&s, "rank", "rank");
        tok_key(&s, "alpha", "alpha");
        break;
    }
    case M_HOSVD:
        if ((got = rd_num(&s, "epsilon", R_UNIT, &mc->epsilon)) < 0) return -1;
        if (!got) return fail(c, e->pos, "%s: missing required key 'epsilon' (0 < epsilon <= 1)", sect);
        tok_key(&s, "epsilon", "epsilon");
        break;
    case M_ASI:
    case M_WASI: {
        Sec a = s;   // where the activation keys live: the entry (asi) or activation: (wasi)
        if (m == M_WASI) {
            if ((got = rd_num(&s, "epsilon", R_UNIT, &mc->epsilon)) < 0) return -1;
            if (!got) return fail(c, e->pos, "%s: missing required key 'epsilon' (the weight rank threshold, 0 < epsilon <= 1)", sect);
            int st = 0, ru = 0;
            if (rd_enum(&s, "storage", 1, storage_names, 2, &st) < 0 || rd_enum(&s, "r_update", 1, rupdate_names, 2, &ru) < 0) return -1;
            mc->factored = st;
            mc->r_update_previous = ru;
            // factored wasi keeps no dense W to hold optimizer state for: plain SGD only (core/wasi.c)
            if (st && optim_state_buffers(&r->opt) > 0) {
                Pos p = e->pos;
                key_pos(&s, "storage", &p);
                char why[96];
                if (r->opt.kind != OPT_SGD) snprintf(why, sizeof why, "training.optimizer is adamw");
                else if (r->opt.nesterov) snprintf(why, sizeof why, "training.nesterov is true");
                else snprintf(why, sizeof why, "training.momentum is %g", (double)r->opt.momentum);
                return fail(c, p, "%s.storage: factored wasi trains with plain SGD only (optimizer sgd, momentum 0, no nesterov; "
                            "weight decay is fine), but %s; use storage: dense", sect, why);
            }
            tok_key(&s, "epsilon", "epsilon");
            tok_key(&s, "storage", "storage");
            tok_key(&s, "r_update", "r_update");
            const Node *av = map_get(s.map, "activation", NULL);
            char asect[96];
            snprintf(asect, sizeof asect, "methods[%d].activation", idx);
            a = (Sec){c, NULL, ar_strdup(&c->A, asect), e->pos};
            if (av) {
                if (av->kind != N_MAP)
                    return fail(c, av->pos, "%s: expected a mapping ({ranks: [k1, k2, k3]}, {epsilon: x} or {budget_mb: x, candidates: [...]}), got %s",
                                asect, kind_name(av));
                a.map = av;
                a.pos = av->pos;
                if (check_keys(&a, activation_keys, NK(activation_keys)) < 0) return -1;
            }
        }
        const Node *rl, *cl, *bv;
        int gr, ge = 0, gb, gc;
        if ((gr = sec_list(&a, "ranks", 1, "a list of ranks [k1, k2, k3]", &rl)) < 0) return -1;
        if (m == M_WASI && (ge = rd_num(&a, "epsilon", R_UNIT, &mc->act_epsilon)) < 0) return -1;
        if ((gb = sec_val(&a, "budget_mb", 1, "a number (MB)", &bv)) < 0) return -1;
        if ((gc = sec_list(&a, "candidates", 1, "a list of candidate epsilons", &cl)) < 0) return -1;
        if (gr + ge + (gb || gc) > 1) {
            Pos p = a.pos;
            const char *second = ge && gr ? "epsilon" : gb ? "budget_mb" : "candidates";
            key_pos(&a, second, &p);
            return fail(c, p, "%s: give one of ranks, epsilon, or budget_mb/candidates ('%s' conflicts)", a.name, second);
        }
        if (gr) {
            if (act_ranks(&a, "ranks", rl, r) < 0) return -1;
            r->act_mode = ACT_RANKS_FIXED;
        } else if (ge) {
            r->act_mode = ACT_RANKS_EPSILON;
        } else {
            r->act_mode = ACT_RANKS_BUDGET;   // no budget: the minimum one (as the paper)
            memcpy(r->candidates, default_candidates, sizeof default_candidates);
            r->n_candidates = NK(default_candidates);
            if (gc && candidates(&a, "candidates", cl, r) < 0) return -1;
            if (gb) {
                char bpath[160];
                double b;
                key_path(bpath, sizeof bpath, &a, "budget_mb");
                if (to_num(c, bv, bpath, R_POS, &b) < 0) return -1;
                r->budget_mb = (float)b;
                own_budget = 1;
                x->budget_src = 2;
            }
        }
        const char *pre = m == M_WASI ? "activation." : "";
        char k1[40], k2[40];
        snprintf(k1, sizeof k1, "%sranks", pre);
        snprintf(k2, sizeof k2, "%scandidates", pre);
        tok_key(&a, ar_strdup(&c->A, k1), "ranks");
        if (m == M_WASI) tok_key(&a, "activation.epsilon", "epsilon");
        tok_key(&a, ar_strdup(&c->A, k2), "candidates");
        break;
    }
    }
    return own_budget;
}

// ---------------------------------------------------------------------------
// 4. resolved YAML

static int plain_ok(const char *s) {
    if (!s[0]) return 0;
    double d;
    Node tmp = {0};
    tmp.kind = N_SCALAR;
    tmp.s = s;
    if (parse_double(&tmp, &d) == 0 || is_null(&tmp) || !strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "all")) return 0;
    for (const char *p = s; *p; p++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '/' || ch == '-' || ch == '+'))
            return 0;
    }
    return s[0] != '-';
}

static void sb_str(Sb *b, const char *s) {
    if (plain_ok(s)) { sb_printf(b, "%s", s); return; }
    sb_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') sb_printf(b, "\\%c", *p);
        else if (*p < 32 || *p == 127) sb_printf(b, "\\x%02x", *p);
        else sb_printf(b, "%c", *p);
    }
    sb_printf(b, "\"");
}

static void sb_float(Sb *b, float v) {
    char t[40];
    fmt_float(t, sizeof t, v);
    sb_printf(b, "%s", t);
}

static void sb_floats(Sb *b, const float *v, int n) {
    sb_printf(b, "[");
    for (int i = 0; i < n; i++) { if (i) sb_printf(b, ", "); sb_float(b, v[i]); }
    sb_printf(b, "]");
}

static void emit_run(Sb *b, const Experiment *ex, const RunSpec *r, const RunAux *x, const char *from_name) {
    const DataConfig *d = &r->data;
    const ViTConfig *v = &r->model.vit;
    int m_size, m_channels, m_classes;
    model_config_io(&r->model, &m_size, &m_channels, &m_classes);
    sb_printf(b, "# wasibench run %d: %s\n# stage: %s\n# from: %s\n", r->index, r->name, r->stage, ex->path);
    if (from_name) sb_printf(b, "# model.from_stage: the checkpoint of run %s\n", from_name);
    sb_printf(b, "# every setting with its final value: loading this text gives the same run\n");
    // (x->body is taken here: everything above is run-specific)
    sb_printf(b, "experiment: "); sb_str(b, ex->experiment);
    sb_printf(b, "\noutput: "); sb_str(b, ex->output);
    sb_printf(b, "\nsave_checkpoint: %s\nseeds: %llu\nbudget_mb: ", r->save_checkpoint ? "true" : "false", (unsigned long long)r->seed);
    if (x->budget_src == 1) sb_float(b, r->budget_mb); else sb_printf(b, "none");
    if (r->strict_budget) sb_printf(b, "\nstrict_budget: true");   // only when set: older results keep their hash
    sb_printf(b, "\nlayers: %s\nnum_of_finetune: ", r->all_linear ? "all_linear" : "mlp");
    if (r->num_finetune < 0) sb_printf(b, "all"); else sb_printf(b, "%d", r->num_finetune);
    sb_printf(b, "\nmodel:\n");
    if (strcmp(r->model_preset, "custom")) sb_printf(b, "  preset: %s\n", r->model_preset);
    if (r->model.kind == MODEL_VIT)
        sb_printf(b, "  image_size: %d\n  patch: %d\n  channels: %d\n  dim: %d\n  depth: %d\n  heads: %d\n  mlp_dim: %d\n",
                  v->image_size, v->patch, v->channels, v->dim, v->depth, v->heads, v->mlp_dim);
    else
        sb_printf(b, "  # swin: %d px, %d channels, sizes of the preset\n", m_size, m_channels);
    sb_printf(b, "  pretrained: ");
    if (r->pretrained[0]) sb_str(b, r->pretrained); else sb_printf(b, "none");
    if (r->pretrained_stage[0]) { sb_printf(b, "\n  from_stage: "); sb_str(b, r->pretrained_stage); }
    sb_printf(b, "\n  new_head: %s\n  init_seed: %llu\n  # num_classes: %d (from the dataset)\n", r->new_head ? "true" : "false",
              (unsigned long long)r->init_seed, m_classes);
    sb_printf(b, "dataset:\n  format: %s\n  path: ", data_format_name(d->format));
    sb_str(b, d->path);
    sb_printf(b, "\n  image_size: %d\n  channels: %d\n  classes: ", d->image_size, d->channels);
    if (!d->n_classes) sb_printf(b, "all");
    else {
        sb_printf(b, "[");
        for (int i = 0; i < d->n_classes; i++) sb_printf(b, "%s%d", i ? ", " : "", d->classes[i]);
        sb_printf(b, "]");
    }
    sb_printf(b, "\n  val_fraction: ");
    sb_float(b, d->val_fraction);
    sb_printf(b, "\n  split_seed: %llu\n  normalize: ", (unsigned long long)d->split_seed);
    if (d->norm == NORM_EXPLICIT) {
        sb_printf(b, "{mean: "); sb_floats(b, d->mean, d->channels);
        sb_printf(b, ", std: "); sb_floats(b, d->std, d->channels);
        sb_printf(b, "}");
    } else sb_printf(b, "%s", data_norm_name(d->norm));
    sb_printf(b, "\n  resize: %s\n", data_resize_name(d->resize));
    if (d->resize == RESIZE_SHORT_CROP) sb_printf(b, "  resize_size: %d\n", d->resize_size);
    const char *aug = d->random_resized_crop ? (d->hflip ? "crop_flip" : "random_resized_crop") : d->hflip ? "flip" : "none";
    sb_printf(b, "  augment: %s\n", aug);
    if (d->random_resized_crop) {
        sb_printf(b, "  rrc_scale: "); sb_floats(b, d->rrc_scale, 2);
        sb_printf(b, "\n  rrc_ratio: "); sb_floats(b, d->rrc_ratio, 2);
        sb_printf(b, "\n");
    }
    sb_printf(b, "  shuffle: %s\n  skip_corrupt: %s\n  cache: %s\n", d->shuffle ? "true" : "false", d->skip_corrupt ? "true" : "false",
              data_cache_name(d->cache));
    if (d->format == DATA_CIFAR100) sb_printf(b, "  coarse_labels: %s\n", d->coarse_labels ? "true" : "false");
    sb_printf(b, "  limit_train: %d\n  limit_val: %d\n", r->limit_train, r->limit_val);
    const OptimConfig *o = &r->opt;
    sb_printf(b, "training:\n  epochs: %d\n  batch_size: %d\n  optimizer: %s\n  lr: ", r->epochs, r->batch_size, o->kind == OPT_SGD ? "sgd" : "adamw");
    sb_float(b, r->sched.lr);
    if (o->kind == OPT_SGD) {
        sb_printf(b, "\n  momentum: "); sb_float(b, o->momentum);
        sb_printf(b, "\n  dampening: "); sb_float(b, o->dampening);
        sb_printf(b, "\n  nesterov: %s", o->nesterov ? "true" : "false");
    } else {
        float bt[2] = {o->beta1, o->beta2};
        sb_printf(b, "\n  betas: "); sb_floats(b, bt, 2);
        sb_printf(b, "\n  eps: "); sb_float(b, o->eps);
    }
    sb_printf(b, "\n  weight_decay: "); sb_float(b, o->weight_decay);
    sb_printf(b, "\n  schedule: %s\n  warmup_epochs: ", r->sched.cosine ? "cosine" : "constant");
    sb_float(b, r->warmup_epochs);
    sb_printf(b, "\n  warmup_start: "); sb_float(b, r->sched.warmup_start);
    if (r->sched.cosine) {
        if (x->eta_abs) { sb_printf(b, "\n  eta_min: "); sb_float(b, r->sched.eta_min); }
        else { sb_printf(b, "\n  eta_min_ratio: "); sb_float(b, r->eta_min_ratio); }
    }
    sb_printf(b, "\n  grad_clip: ");
    if (r->grad_clip > 0) sb_float(b, r->grad_clip); else sb_printf(b, "none");
    sb_printf(b, "\n  max_steps: %ld\n  eval_every: %d\n", r->max_steps, r->eval_every);
    const MethodConfig *m = &r->mcfg;
    sb_printf(b, "methods:\n  - name: %s\n", r->method);
    if (!strcmp(r->method, "lora")) {
        sb_printf(b, "    rank: %d\n    alpha: ", m->lora_rank);
        sb_float(b, m->lora_alpha);
        sb_printf(b, "\n");
    } else if (!strcmp(r->method, "hosvd")) {
        sb_printf(b, "    epsilon: "); sb_float(b, m->epsilon); sb_printf(b, "\n");
    } else if (!strcmp(r->method, "asi") || !strcmp(r->method, "wasi")) {
        const char *ind = "    ";
        if (r->method[0] == 'w') {
            sb_printf(b, "    epsilon: "); sb_float(b, m->epsilon);
            sb_printf(b, "\n    storage: %s\n    r_update: %s\n    activation:\n", m->factored ? "factored" : "dense",
                      m->r_update_previous ? "previous" : "current");
            ind = "      ";
        }
        if (r->act_mode == ACT_RANKS_FIXED) sb_printf(b, "%sranks: [%d, %d, %d]\n", ind, m->act_ranks[0], m->act_ranks[1], m->act_ranks[2]);
        else if (r->act_mode == ACT_RANKS_EPSILON) { sb_printf(b, "%sepsilon: ", ind); sb_float(b, m->act_epsilon); sb_printf(b, "\n"); }
        else {
            if (x->budget_src == 2) { sb_printf(b, "%sbudget_mb: ", ind); sb_float(b, r->budget_mb); sb_printf(b, "\n"); }
            else if (x->budget_src == 0) sb_printf(b, "%s# no budget: DP at the minimum budget\n", ind);
            sb_printf(b, "%scandidates: ", ind); sb_floats(b, r->candidates, r->n_candidates); sb_printf(b, "\n");
        }
    }
}

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) { h ^= (unsigned char)*s; h *= 1099511628211ULL; }
    return h;
}

// ---------------------------------------------------------------------------
// 3. expansion

static int add_run(Ctx *c, RunSpec **out, RunAux **xout) {
    Experiment *ex = c->ex;
    if (ex->n >= MAX_RUNS) return -1;
    if (ex->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        RunSpec *nr = mem_alloc((size_t)cap * sizeof *nr, MEM_WORKSPACE);
        RunAux *na = ar_alloc(&c->A, (size_t)cap * sizeof *na);
        if (ex->n) { memcpy(nr, ex->runs, (size_t)ex->n * sizeof *nr); memcpy(na, c->aux, (size_t)ex->n * sizeof *na); }
        mem_free(ex->runs);
        ex->runs = nr;
        c->aux = na;
        c->cap = cap;
    }
    *out = &ex->runs[ex->n];
    *xout = &c->aux[ex->n];
    ex->n++;
    return 0;
}

static void run_defaults(RunSpec *r) {
    memset(r, 0, sizeof *r);
    data_config_default(&r->data);
    r->opt = optim_sgd(0.0f, 0.0f);
    r->eval_every = 1;
    r->eta_min_ratio = 0.1f;
    r->num_finetune = -1;
    r->from_run = -1;
    r->sched.cosine = 1;
}

// The checkpoint run of `model.from_stage` (an earlier stage that saves one).
static int link_stage(Ctx *c, const Node *tree, RunSpec *r) {
    const Node *model = map_get(tree, "model", NULL);
    const Node *fs = map_get(model, "from_stage", NULL);
    int st = -1;
    for (int i = 0; i < c->nstages; i++) if (!strcmp(c->stages[i].name, r->pretrained_stage)) st = i;
    if (st < 0) {
        char list[400] = "";
        for (int i = 0; i < c->nstages; i++) {
            size_t o = strlen(list);
            snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", c->stages[i].name);
        }
        return fail(c, fs->pos, "model.from_stage: '%s' is not an earlier stage (earlier stages: %s)", r->pretrained_stage, list[0] ? list : "none");
    }
    StageInfo *si = &c->stages[st];
    if (!si->save) return fail(c, fs->pos, "model.from_stage: stage '%s' does not save a checkpoint (add save_checkpoint: true to it)", si->name);
    int pick = -1, nmatch = 0;
    if (si->count == 1) pick = si->first;
    else
        for (int i = si->first; i < si->first + si->count; i++)
            if (c->ex->runs[i].seed == r->seed) { pick = i; nmatch++; }
    if (pick < 0 || nmatch > 1)
        return fail(c, fs->pos, "model.from_stage: stage '%s' has %d runs and %d of them use seed %llu (expected one run, or one per seed)",
                    si->name, si->count, nmatch, (unsigned long long)r->seed);
    const RunSpec *p = &c->ex->runs[pick];
    int sa, ca, ka, sb, cb, kb;
    model_config_io(&p->model, &sa, &ca, &ka);
    model_config_io(&r->model, &sb, &cb, &kb);
    ModelConfig ma = p->model, mb = r->model;   // the same model up to its classes
    model_config_set_classes(&ma, 1);
    model_config_set_classes(&mb, 1);
    if (ma.kind != mb.kind || memcmp(&ma, &mb, sizeof ma))
        return fail(c, fs->pos, "model.from_stage: stage '%s' trains a different model (%s, %d px; this run: %s, %d px): give the same model",
                    si->name, p->model_preset, sa, r->model_preset, sb);
    if (!r->new_head && ka != kb)
        return fail(c, fs->pos, "model.from_stage: the checkpoint's head has %d classes, this run has %d (set model.new_head: true)", ka, kb);
    r->from_run = pick;
    return 0;
}

static int sel_product(const Ctx *c, int lo, int hi, long *out) {
    long n = 1;
    for (int a = lo; a < hi; a++) {
        n *= c->ax[a].seq->n;
        if (n > MAX_RUNS) return -1;
    }
    *out = n;
    return 0;
}

// Advance the selections of axes [lo, hi) (the last fastest); 0 when wrapped.
static int odometer(Ctx *c, int lo, int hi) {
    for (int a = hi - 1; a >= lo; a--) {
        if (++c->ax[a].sel < c->ax[a].seq->n) return 1;
        c->ax[a].sel = 0;
    }
    return 0;
}

typedef struct { int seeds_ax, budget_ax, g0, g1; int e0[MAX_ENTRIES], e1[MAX_ENTRIES], own_budget[MAX_ENTRIES]; } StagePlan;

// The settings every method of a stage shares: seed (first: several
// defaults follow it), save_checkpoint, model, dataset, training, layers.
static int global_part(Ctx *c, const Node *tree, RunSpec *r, RunAux *x, int *fsg) {
    Sec top = {c, tree, "", tree->pos};
    run_defaults(r);
    memset(x, 0, sizeof *x);
    snprintf(r->stage, sizeof r->stage, "%s", c->stage ? c->stage : "main");
    snprintf(r->experiment, sizeof r->experiment, "%s", c->ex->experiment);
    r->seed = 233;
    if (rd_u64(&top, "seeds", &r->seed) < 0) return -1;
    const Node *v;
    int got = sec_val(&top, "save_checkpoint", 0, "true or false", &v);
    if (got < 0 || (got && to_bool(c, v, "save_checkpoint", &r->save_checkpoint) < 0)) return -1;
    got = sec_val(&top, "strict_budget", 0, "true or false", &v);
    if (got < 0 || (got && to_bool(c, v, "strict_budget", &r->strict_budget) < 0)) return -1;
    if (model_section(c, tree, r, fsg) < 0 || dataset_section(c, tree, r) < 0 || training_section(c, tree, r, x) < 0 ||
        layer_settings(c, tree, r) < 0)
        return -1;
    return 0;
}

// One run from the current selections.
static int resolve_run(Ctx *c, const Node *tree, const Node *methods, int entry, const StagePlan *pl, RunSpec *r, RunAux *x) {
    Sec top = {c, tree, "", tree->pos};
    c->nt = 0;
    int fsg = 0;
    if (global_part(c, tree, r, x, &fsg) < 0) return -1;
    for (int a = pl->g0; a < pl->g1; a++)   // name parts of the axes model .. num_of_finetune
        tok_add(c, c->ax[a].key, tok_make(c, c->ax[a].key, c->ax[a].seq->v[c->ax[a].sel]), 0);
    int own = method_section(c, methods->v[entry], entry, r, x);
    if (own < 0 || check_model_bounds(c, methods->v[entry], entry, r) < 0) return -1;
    // the top-level budget: every method but vanilla, unless the method sets its own
    const Node *bv;
    int gb = 0;
    if (!own && strcmp(r->method, "vanilla")) {
        if ((gb = sec_val(&top, "budget_mb", 1, "a number (MB) or none", &bv)) < 0) return -1;
        if (gb && !is_null(bv)) {
            double b;
            if (!strcmp(r->method, "hosvd"))   // its ranks come from epsilon each step: nothing to fit
                return fail(c, bv->pos, "budget_mb: hosvd has no memory budget (its ranks come from epsilon); set budget_mb in the "
                            "lora/asi/wasi method entries instead, or leave hosvd out of this file");
            if (to_num(c, bv, "budget_mb", R_POS, &b) < 0) return -1;
            r->budget_mb = (float)b;
            x->budget_src = 1;
        }
    }
    if (x->budget_src) {
        char t[48], f[32];
        fmt_float(f, sizeof f, r->budget_mb);
        snprintf(t, sizeof t, "budget%s", f);
        sanitize(t);
        tok_add(c, "budget", ar_strdup(&c->A, t), 0);
    }
    char st[40];
    snprintf(st, sizeof st, "seed%llu", (unsigned long long)r->seed);
    tok_add(c, "seed", ar_strdup(&c->A, st), 1);
    if (fsg && link_stage(c, tree, r) < 0) return -1;
    x->ntok = c->nt;
    x->tok_scope = ar_alloc(&c->A, (size_t)(c->nt ? c->nt : 1) * sizeof *x->tok_scope);
    x->tok_text = ar_alloc(&c->A, (size_t)(c->nt ? c->nt : 1) * sizeof *x->tok_text);
    x->tok_always = ar_alloc(&c->A, (size_t)(c->nt ? c->nt : 1));
    memcpy(x->tok_scope, c->ts, (size_t)c->nt * sizeof *c->ts);
    memcpy(x->tok_text, c->tt, (size_t)c->nt * sizeof *c->tt);
    memcpy(x->tok_always, c->ta, (size_t)c->nt);
    return 0;
}

// Names from the parts that vary within the stage (per method, a part missing
// from some runs counts as varying), then the YAML and the duplicate checks.
typedef struct { const char *method, *scope, *first; int present, runs, differ; } Var;

typedef struct { uint64_t hash; const char *text; int idx; } SortKey;   // hash 0 for names
static int cmp_key(const void *pa, const void *pb) {
    const SortKey *a = pa, *b = pb;
    if (a->hash != b->hash) return a->hash < b->hash ? -1 : 1;
    int k = strcmp(a->text, b->text);
    return k ? k : a->idx - b->idx;
}

static int finish_stage(Ctx *c, int first) {
    Experiment *ex = c->ex;
    int n = ex->n - first;
    int nv = 0, cap = M_N * MAX_TOKS;   // distinct (method, part) pairs
    Var *var = ar_alloc(&c->A, sizeof(Var) * (size_t)cap);
    // runs per method
    for (int i = first; i < ex->n; i++) {
        const RunAux *x = &c->aux[i];
        for (int t = 0; t < x->ntok; t++) {
            int j;
            for (j = 0; j < nv; j++)
                if (!strcmp(var[j].method, ex->runs[i].method) && !strcmp(var[j].scope, x->tok_scope[t])) break;
            if (j == nv) {
                if (nv == cap) continue;
                var[nv++] = (Var){ex->runs[i].method, x->tok_scope[t], x->tok_text[t], 0, 0, 0};
            }
            var[j].present++;
            if (strcmp(var[j].first, x->tok_text[t])) var[j].differ = 1;
        }
    }
    for (int j = 0; j < nv; j++)
        for (int i = first; i < ex->n; i++) var[j].runs += !strcmp(ex->runs[i].method, var[j].method);
    for (int i = first; i < ex->n; i++) {
        RunSpec *r = &ex->runs[i];
        const RunAux *x = &c->aux[i];
        char name[1024];
        size_t o = 0;
        name[0] = 0;
        if (c->stage) o = (size_t)snprintf(name, sizeof name, "%s/", c->stage);
        int parts = 0;
        for (int t = 0; t < x->ntok && o < sizeof name; t++) {
            int keep = x->tok_always[t];
            for (int j = 0; j < nv && !keep; j++)
                if (!strcmp(var[j].method, r->method) && !strcmp(var[j].scope, x->tok_scope[t])) keep = var[j].differ || var[j].present < var[j].runs;
            if (!keep) continue;
            int k = snprintf(name + o, sizeof name - o, "%s%s", parts++ ? "-" : "", x->tok_text[t]);
            if (k < 0) break;
            o += (size_t)k;
        }
        if (strlen(name) >= sizeof r->name) {   // keep it unique: a prefix and a hash of the whole
            char h[24];
            snprintf(h, sizeof h, "-%016llx", (unsigned long long)fnv1a(name));
            snprintf(name + sizeof r->name - 1 - strlen(h), strlen(h) + 1, "%s", h);
        }
        size_t len = strlen(name);
        if (len >= sizeof r->name) len = sizeof r->name - 1;
        memcpy(r->name, name, len);
        r->name[len] = 0;
    }
    // resolved YAML, and runs with identical settings
    SortKey *key = ar_alloc(&c->A, (size_t)(n ? n : 1) * sizeof *key);
    for (int i = first; i < ex->n; i++) {
        RunSpec *r = &ex->runs[i];
        RunAux *x = &c->aux[i];
        Sb b = {0};
        emit_run(&b, ex, r, x, r->from_run >= 0 ? ex->runs[r->from_run].name : NULL);
        r->resolved_yaml = mem_alloc(b.len + 1, MEM_WORKSPACE);
        memcpy(r->resolved_yaml, b.p, b.len);
        mem_free(b.p);
        const char *body = strstr(r->resolved_yaml, "\nexperiment: ");
        x->body = body ? (size_t)(body - r->resolved_yaml) : 0;
        key[i - first] = (SortKey){fnv1a(r->resolved_yaml + x->body), r->resolved_yaml + x->body, i};
    }
    qsort(key, (size_t)n, sizeof *key, cmp_key);
    for (int k = 1; k < n; k++)
        if (key[k - 1].hash == key[k].hash && !strcmp(key[k - 1].text, key[k].text)) {
            int a = key[k - 1].idx, b = key[k].idx;   // a < b: equal keys sort by index
            return fail(c, c->aux[b].entry->pos, "runs %d ('%s') and %d ('%s') have identical settings (a method entry repeated, or the same value twice in a sweep)",
                        a, ex->runs[a].name, b, ex->runs[b].name);
        }
    for (int i = first; i < ex->n; i++) key[i - first] = (SortKey){0, ex->runs[i].name, i};
    qsort(key, (size_t)n, sizeof *key, cmp_key);
    for (int k = 1; k < n; k++)
        if (!strcmp(key[k - 1].text, key[k].text))
            return fail(c, c->aux[key[k].idx].entry->pos, "two different runs get the same name '%s' (values that differ only in characters a name cannot hold?)",
                        key[k].text);
    return 0;
}

static int expand_stage(Ctx *c, const Node *tree) {
    int at;
    const Node *methods = map_get(tree, "methods", &at);
    if (!methods) return fail(c, tree->pos, "missing required key 'methods' (a list such as [{name: vanilla}, {name: wasi, epsilon: 0.8}])");
    if (methods->kind != N_SEQ || methods->n == 0)
        return fail(c, methods->pos, "methods: expected a non-empty list of methods ({name: vanilla}, {name: lora, rank: 8}, ...), got %s",
                    methods->kind == N_SEQ ? "an empty list" : kind_name(methods));
    if (methods->n > MAX_ENTRIES) return fail(c, methods->pos, "methods: more than %d entries", MAX_ENTRIES);
    // First pass: resolve each entry once with every sweep at its first value,
    // registering the axes in order.
    StagePlan pl;
    memset(&pl, 0, sizeof pl);
    c->nax = 0;
    c->discover = 1;
    RunSpec *tr = mem_alloc(sizeof *tr, MEM_WORKSPACE);
    RunAux tx;
    Sec top = {c, tree, "", tree->pos};
    const Node *tmp;
    int rc = -1;
    pl.seeds_ax = pl.budget_ax = -1;
    {
        int fsg;
        c->nt = 0;
        if (global_part(c, tree, tr, &tx, &fsg) < 0) goto out;   // reads seeds first: axis 0 when a list
        const Node *sv = map_get(tree, "seeds", NULL);
        if (sv && sv->kind == N_SEQ) pl.seeds_ax = 0;
        pl.g0 = pl.seeds_ax + 1;
        pl.g1 = c->nax;
    }
    for (int e = 0; e < methods->n; e++) {
        pl.e0[e] = c->nax;
        c->nt = 0;
        int own = method_section(c, methods->v[e], e, tr, &tx);
        if (own < 0) goto out;
        pl.own_budget[e] = own;
        pl.e1[e] = c->nax;
    }
    {   // the budget axis; every value checked here (a vanilla-only stage never reads it)
        int before = c->nax;
        const Node *bv = map_get(tree, "budget_mb", NULL);
        if (sec_val(&top, "budget_mb", 1, "a number (MB) or none", &tmp) < 0) goto out;
        if (c->nax > before) pl.budget_ax = before;
        for (int i = 0; bv && i < (bv->kind == N_SEQ ? bv->n : 1); i++) {
            const Node *it = bv->kind == N_SEQ ? bv->v[i] : bv;
            double b;
            if (!is_null(it) && to_num(c, it, "budget_mb", R_POS, &b) < 0) goto out;
        }
    }
    c->discover = 0;
    // How many runs (refuse a runaway product before allocating).
    {
        long ng, ne;
        double total = 0;
        if (sel_product(c, pl.g0, pl.g1, &ng) < 0) goto toomany;
        double ns = pl.seeds_ax >= 0 ? c->ax[pl.seeds_ax].seq->n : 1, nb = pl.budget_ax >= 0 ? c->ax[pl.budget_ax].seq->n : 1;
        for (int e = 0; e < methods->n; e++) {
            if (sel_product(c, pl.e0[e], pl.e1[e], &ne) < 0) goto toomany;
            int m = -1;
            method_name(c, methods->v[e], e, &m);
            total += (double)ne * (m == M_VANILLA || pl.own_budget[e] ? 1 : nb);
        }
        if (total * (double)ng * ns + c->ex->n > MAX_RUNS) goto toomany;
    }
    // Enumerate: global axes (outer), method, method axes, budget, seed (inner).
    for (int a = 0; a < c->nax; a++) c->ax[a].sel = 0;
    do {
        for (int e = 0; e < methods->n; e++) {
            int m = -1;
            method_name(c, methods->v[e], e, &m);
            for (int a = pl.e0[e]; a < pl.e1[e]; a++) c->ax[a].sel = 0;
            do {
                int nb = (pl.budget_ax >= 0 && m != M_VANILLA && !pl.own_budget[e]) ? c->ax[pl.budget_ax].seq->n : 1;
                for (int bi = 0; bi < nb; bi++) {
                    if (pl.budget_ax >= 0) c->ax[pl.budget_ax].sel = bi;
                    int ns = pl.seeds_ax >= 0 ? c->ax[pl.seeds_ax].seq->n : 1;
                    for (int si = 0; si < ns; si++) {
                        if (pl.seeds_ax >= 0) c->ax[pl.seeds_ax].sel = si;
                        RunSpec *r;
                        RunAux *x;
                        if (add_run(c, &r, &x) < 0) goto toomany;
                        if (resolve_run(c, tree, methods, e, &pl, r, x) < 0) goto out;
                        r->index = c->ex->n - 1;
                    }
                }
            } while (odometer(c, pl.e0[e], pl.e1[e]));
        }
    } while (odometer(c, pl.g0, pl.g1));
    rc = 0;
    goto out;
toomany:
    rc = fail(c, tree->pos, "the sweep expands to more than %d runs; split it into several files or stages", MAX_RUNS);
out:
    mem_free(tr);
    return rc;
}

static void base_name(char *buf, size_t cap, const char *path) {
    const char *s = strrchr(path, '/');
    s = s ? s + 1 : path;
    const char *dot = strrchr(s, '.');
    int n = dot && dot != s ? (int)(dot - s) : (int)strlen(s);
    snprintf(buf, cap, "%.*s", n, s);
    sanitize(buf);
}

static int name_ok(const char *s) {
    if (!s[0] || s[0] == '.' || s[0] == '-') return 0;
    for (; *s; s++) {
        char ch = *s;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.')) return 0;
    }
    return 1;
}

static int load(Ctx *c, const char *path) {
    Experiment *ex = c->ex;
    if (strlen(path) >= sizeof ex->path) return wb_error(c->err, "%s: path longer than %zu characters", path, sizeof ex->path - 1);
    snprintf(ex->path, sizeof ex->path, "%s", path);
    const char *chain[MAX_EXTENDS + 1];
    const Node *root;
    if (load_tree(&c->A, path, NULL, chain, 0, &root, c->err) < 0) return -1;
    Sec top = {c, root, "", root->pos};
    if (check_keys(&top, top_keys, NK(top_keys)) < 0) return -1;
    // experiment and output
    base_name(ex->experiment, sizeof ex->experiment, path);
    const Node *v;
    int got;
    if ((got = sec_val(&top, "experiment", 0, "a name", &v)) < 0) return -1;
    if (got) {
        if (to_str(c, v, "experiment", ex->experiment, sizeof ex->experiment) < 0) return -1;
        if (!name_ok(ex->experiment))
            return fail(c, v->pos, "experiment: '%s' is not a file-safe name (letters, digits, _ - . ; not starting with . or -)", ex->experiment);
    }
    if (!ex->experiment[0]) snprintf(ex->experiment, sizeof ex->experiment, "experiment");
    snprintf(ex->output, sizeof ex->output, "results/%s.h5", ex->experiment);
    if (rd_str(&top, "output", 0, 0, ex->output, sizeof ex->output) < 0) return -1;
    // stages
    const Node *stages = map_get(root, "stages", NULL);
    static const char *const drop_top[] = {"experiment", "output", "extends", "stages"};
    const Node *common = map_without(&c->A, root, drop_top, 4);
    if (!stages) {
        c->stage = NULL;
        return expand_stage(c, common) < 0 ? -1 : finish_stage(c, 0);
    }
    if (stages->kind != N_SEQ || stages->n == 0)
        return fail(c, stages->pos, "stages: expected a non-empty list of stages ({name: ..., sections}), got %s",
                    stages->kind == N_SEQ ? "an empty list" : kind_name(stages));
    if (stages->n > MAX_STAGES) return fail(c, stages->pos, "stages: more than %d stages", MAX_STAGES);
    // The top level's methods are replaced by a stage's: still check their keys.
    const Node *tm = map_get(root, "methods", NULL);
    if (tm && tm->kind == N_SEQ)
        for (int e = 0; e < tm->n; e++) {
            int m;
            if (method_name(c, tm->v[e], e, &m) < 0) return -1;
            char sect[64];
            snprintf(sect, sizeof sect, "methods[%d] (%s)", e, method_names[m]);
            if (tm->v[e]->kind == N_MAP && check_method_keys(c, tm->v[e], m, sect) < 0) return -1;
        }
    for (int i = 0; i < stages->n; i++) {
        const Node *sn = stages->v[i];
        c->stage = NULL;   // the stage's own keys are checked outside any stage
        char sect[32];
        snprintf(sect, sizeof sect, "stages[%d]", i);
        if (sn->kind != N_MAP) return fail(c, sn->pos, "%s: expected a mapping with name: and sections, got %s", sect, kind_name(sn));
        Sec ss = {c, sn, ar_strdup(&c->A, sect), sn->pos};
        if (check_keys(&ss, stage_keys, NK(stage_keys)) < 0) return -1;
        const Node *nv = map_get(sn, "name", NULL);
        char path2[48];
        snprintf(path2, sizeof path2, "%s.name", sect);
        if (!nv) return fail(c, sn->pos, "%s: missing required key 'name'", sect);
        char name[64];
        if (nv->kind != N_SCALAR) return type_error(c, nv, path2, "a stage name");
        if (to_str(c, nv, path2, name, sizeof name) < 0) return -1;
        if (!name_ok(name)) return fail(c, nv->pos, "%s: '%s' is not a file-safe name (letters, digits, _ - . ; not starting with . or -)", path2, name);
        for (int j = 0; j < c->nstages; j++)
            if (!strcmp(c->stages[j].name, name)) {
                const Node *prev = map_get(stages->v[j], "name", NULL);
                return fail(c, nv->pos, "%s: duplicate stage name '%s' (also stages[%d], line %d)", path2, name, j, prev->pos.line);
            }
        static const char *const drop_name[] = {"name"};
        const Node *tree = merge(&c->A, common, map_without(&c->A, sn, drop_name, 1));
        c->stage = ar_strdup(&c->A, name);
        int first = ex->n;
        if (expand_stage(c, tree) < 0 || finish_stage(c, first) < 0) return -1;
        int save = ex->runs[first].save_checkpoint;   // the same in every run of the stage
        c->stages[c->nstages++] = (StageInfo){c->stage, first, ex->n - first, save};
    }
    return 0;
}

int cfg_load(Experiment *ex, const char *path, WbError *err) {
    WbError local;
    if (!err) err = &local;
    memset(ex, 0, sizeof *ex);
    err->msg[0] = 0;
    if (!path || !path[0]) return wb_error(err, "cfg_load: no experiment file given");
    Ctx *c = mem_alloc(sizeof *c, MEM_WORKSPACE);   // large (axes, name parts): not on the stack
    c->err = err;
    c->ex = ex;
    int rc = load(c, path);
    ar_free(&c->A);
    mem_free(c);
    if (rc < 0) {
        if (!err->msg[0]) wb_error(err, "%s: invalid experiment file", path);
        cfg_free(ex);
        return -1;
    }
    return 0;
}

void cfg_free(Experiment *ex) {
    if (!ex) return;
    for (int i = 0; ex->runs && i < ex->n; i++) mem_free(ex->runs[i].resolved_yaml);
    mem_free(ex->runs);
    memset(ex, 0, sizeof *ex);
}
