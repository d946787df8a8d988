// yaml_tree.c: libyaml -> the node tree of yaml_tree.h, and extends: (see there).
#include "experiments/yaml_tree.h"
#include "core/runtime/memory.h"

#include <yaml.h>

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

#define MAX_FILE_BYTES (4 << 20)   // a YAML file larger than this is surely not an experiment
#define MAX_NODES 200000           // per file, after alias expansion (stops "billion laughs")
#define MAX_DEPTH 64               // nesting of mappings and lists
#define MAX_MAP_KEYS 1000
#define MAX_EXTENDS YAML_MAX_EXTENDS
// ---------------------------------------------------------------------------
// arena: every node and string of one cfg_load, freed at its end

void *ar_alloc(Arena *a, size_t n) {
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

char *ar_strndup(Arena *a, const char *s, size_t n) {
    char *p = ar_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}
char *ar_strdup(Arena *a, const char *s) { return ar_strndup(a, s, strlen(s)); }

void ar_free(Arena *a) {
    for (Block *b = a->head, *next; b; b = next) { next = b->next; mem_free(b); }
    a->head = NULL;
}

// ---------------------------------------------------------------------------
// the node tree

const char *yaml_kind_name(const Node *v) {
    return v->kind == N_MAP ? "a mapping" : v->kind == N_SEQ ? "a list" : "a scalar";
}

const Node *yaml_get(const Node *m, const char *key, int *at) {
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
                 r->pos.line, r->pos.col, yaml_kind_name(r));
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
const Node *yaml_merge(Arena *A, const Node *base, const Node *over) {
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
        else if (m->v[j]->kind == N_MAP && over->v[i]->kind == N_MAP) m->v[j] = yaml_merge(A, m->v[j], over->v[i]);
        else m->v[j] = over->v[i];
        m->kpos[j] = over->kpos[i];
    }
    return m;
}

// A copy of mapping m without the listed keys.
const Node *yaml_without(Arena *A, const Node *m, const char *const *drop, int ndrop) {
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
int yaml_load_tree(Arena *A, const char *file, const Node *via, const char **chain, int depth, const Node **out, WbError *err) {
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
    const Node *ext = yaml_get(root, "extends", &at);
    if (!ext) { *out = root; return 0; }
    if (ext->kind != N_SCALAR || !ext->s[0])
        return wb_error(err, "%s:%d:%d: extends: expected the path of a base YAML file, got %s", ext->pos.file, ext->pos.line,
                        ext->pos.col, ext->kind == N_SCALAR ? "an empty value" : yaml_kind_name(ext));
    char base[PATH_MAX];
    const char *slash = strrchr(file, '/');
    int k;
    if (ext->s[0] == '/' || !slash) k = snprintf(base, sizeof base, "%s", ext->s);
    else k = snprintf(base, sizeof base, "%.*s/%s", (int)(slash - file), file, ext->s);
    if (k < 0 || (size_t)k >= sizeof base)
        return wb_error(err, "%s:%d:%d: extends: path too long", ext->pos.file, ext->pos.line, ext->pos.col);
    const Node *broot;
    if (yaml_load_tree(A, base, ext, chain, depth + 1, &broot, err) < 0) return -1;
    static const char *const drop[] = {"extends"};
    *out = yaml_merge(A, broot, yaml_without(A, root, drop, 1));
    return 0;
}

