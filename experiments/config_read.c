// config_read.c: the typed readers of the config (see config_parts.h):
// a section's keys checked against its schema, scalars and lists read
// strictly (type, range, enum) with file:line:column errors, sweeps met as
// axes, and the run-name parts of the settings that were given.
#include "experiments/config_parts.h"
#include "core/runtime/memory.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
// ---------------------------------------------------------------------------
// string builder (resolved YAML, messages)

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void sb_printf(Sb *b, const char *fmt, ...) {
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
void fmt_double(char *buf, size_t cap, double v) {
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, cap, "%.*g", p, v);
        if (strtod(buf, NULL) == v) return;
    }
}
void fmt_float(char *buf, size_t cap, float v) {
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, cap, "%.*g", p, (double)v);
        if (strtof(buf, NULL) == v) return;
    }
}

// ---------------------------------------------------------------------------
// the schema: errors, typed readers

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int cfg_fail(Ctx *c, Pos p, const char *fmt, ...) {
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->stage) return wb_error(c->err, "%s:%d:%d: %s [stage '%s']", p.file, p.line, p.col, msg, c->stage);
    return wb_error(c->err, "%s:%d:%d: %s", p.file, p.line, p.col, msg);
}

// A value quoted for messages, shortened and with control bytes escaped.
const char *cfg_shown(const Node *v, char *buf, size_t cap) {
    if (v->kind != N_SCALAR) { snprintf(buf, cap, "%s", yaml_kind_name(v)); return buf; }
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

void cfg_join_names(char *buf, size_t cap, const char *const *names, int n) {
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < n && o < cap; i++) {
        int k = snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", names[i]);
        if (k < 0) break;
        o += (size_t)k;
    }
}

void cfg_key_path(char *buf, size_t cap, const Sec *s, const char *key) {
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

int cfg_check_keys(const Sec *s, const char *const *valid, int nvalid) {
    if (!s->map) return 0;
    for (int i = 0; i < s->map->n; i++) {
        int ok = 0;
        for (int j = 0; j < nvalid && !ok; j++) ok = !strcmp(s->map->k[i], valid[j]);
        if (ok) continue;
        char list[600], hint[200] = "";
        cfg_join_names(list, sizeof list, valid, nvalid);
        const char *sect = s->name[0] ? s->name : "";
        for (size_t h = 0; h < sizeof hints / sizeof hints[0]; h++)
            if (!strcmp(hints[h].sect, sect) && !strcmp(hints[h].key, s->map->k[i])) snprintf(hint, sizeof hint, " (%s)", hints[h].hint);
        return cfg_fail(s->c, s->map->kpos[i], "unknown key '%s' %s%s; valid keys: %s%s", s->map->k[i], s->name[0] ? "in " : "at the top level",
                    s->name, list, hint);
    }
    return 0;
}

int cfg_key_pos(const Sec *s, const char *key, Pos *p) {
    int at;
    if (!yaml_get(s->map, key, &at)) return 0;
    *p = s->map->kpos[at];
    return 1;
}

// The axis of list `seq` (registered in the first pass of a stage); the item to use.
static int axis_pick(Ctx *c, const Node *seq, const char *path, int lists, const Node **out) {
    for (int a = 0; a < c->nax; a++)
        if (c->ax[a].seq == seq) { *out = seq->v[c->ax[a].sel]; return 0; }
    if (!c->discover) return cfg_fail(c, seq->pos, "internal: %s: a list not seen in the first pass", path);
    if (seq->n == 0) return cfg_fail(c, seq->pos, "%s: empty list (a sweep needs at least one value)", path);
    char b1[96];
    for (int i = 0; i < seq->n; i++) {
        const Node *it = seq->v[i];
        if (lists ? it->kind != N_SEQ : it->kind != N_SCALAR)
            return cfg_fail(c, it->pos, "%s: expected %s in the sweep list, got %s", path, lists ? "a list" : "a value", cfg_shown(it, b1, sizeof b1));
        if (lists)
            for (int j = 0; j < it->n; j++)
                if (it->v[j]->kind != N_SCALAR)
                    return cfg_fail(c, it->v[j]->pos, "%s: expected a value, got %s", path, yaml_kind_name(it->v[j]));
        if (!lists && it->kind == N_SCALAR)
            for (int j = 0; j < i; j++)
                if (!strcmp(seq->v[j]->s, it->s))
                    return cfg_fail(c, it->pos, "%s: duplicate value %s in the sweep (also at line %d, column %d)", path,
                                cfg_shown(it, b1, sizeof b1), seq->v[j]->pos.line, seq->v[j]->pos.col);
    }
    if (c->nax >= MAX_AXES) return cfg_fail(c, seq->pos, "%s: more than %d swept settings in one stage", path, MAX_AXES);
    c->ax[c->nax] = (Axis){seq, 0, ar_strdup(&c->A, path)};
    c->nax++;
    *out = seq->v[0];
    return 0;
}

// The value of a scalar setting: absent 0, present 1 (*out = the scalar, or
// the selected item of a sweep), error -1.
int sec_val(Sec *s, const char *key, int sweepable, const char *what, const Node **out) {
    const Node *v = yaml_get(s->map, key, NULL);
    if (!v) return 0;
    char path[160];
    cfg_key_path(path, sizeof path, s, key);
    if (v->kind == N_MAP) return cfg_fail(s->c, v->pos, "%s: expected %s, got a mapping", path, what);
    if (v->kind == N_SEQ) {
        if (!sweepable) return cfg_fail(s->c, v->pos, "%s: expected %s, got a list (this key cannot be swept)", path, what);
        return axis_pick(s->c, v, path, 0, out) < 0 ? -1 : 1;
    }
    *out = v;
    return 1;
}

// The value of a list setting (classes, betas, ranks, ...): a list of
// scalars, a sweep (list of lists: the selected one), or a scalar the caller
// interprets (e.g. `classes: all`).
int sec_list(Sec *s, const char *key, int sweepable, const char *what, const Node **out) {
    const Node *v = yaml_get(s->map, key, NULL);
    if (!v) return 0;
    char path[160];
    cfg_key_path(path, sizeof path, s, key);
    if (v->kind == N_MAP) return cfg_fail(s->c, v->pos, "%s: expected %s, got a mapping", path, what);
    if (v->kind == N_SCALAR) { *out = v; return 1; }
    if (v->n > 0 && v->v[0]->kind == N_SEQ) {
        if (!sweepable) return cfg_fail(s->c, v->pos, "%s: expected %s, got a list of lists (this key cannot be swept)", path, what);
        if (axis_pick(s->c, v, path, 1, out) < 0) return -1;
        return 1;
    }
    for (int i = 0; i < v->n; i++)
        if (v->v[i]->kind != N_SCALAR) return cfg_fail(s->c, v->v[i]->pos, "%s: expected %s, got a list holding %s", path, what, yaml_kind_name(v->v[i]));
    *out = v;
    return 1;
}

int cfg_is_null(const Node *v) {
    return v->kind == N_SCALAR && !v->quoted && (!v->s[0] || !strcmp(v->s, "~") || !strcmp(v->s, "null") || !strcmp(v->s, "none"));
}

int cfg_type_error(Ctx *c, const Node *v, const char *path, const char *what) {
    char b1[96];
    if (v->kind == N_SCALAR && v->quoted && v->s[0])
        return cfg_fail(c, v->pos, "%s: expected %s, got the quoted string %s (remove the quotes)", path, what, cfg_shown(v, b1, sizeof b1));
    return cfg_fail(c, v->pos, "%s: expected %s, got %s", path, what, cfg_shown(v, b1, sizeof b1));
}

// Plain scalars only: "10" in quotes is a string.
int cfg_parse_long(const Node *v, long *out) {
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

int cfg_parse_double(const Node *v, double *out) {
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

int cfg_to_long(Ctx *c, const Node *v, const char *path, long lo, long hi, long *out) {
    long x = 0;
    int pr = cfg_parse_long(v, &x);
    if (pr == -1) return cfg_type_error(c, v, path, "an integer");
    if (pr == -2 || x < lo || x > hi) {
        char shown_x[80];
        if (pr == -2) snprintf(shown_x, sizeof shown_x, "%.60s", v->s);
        else snprintf(shown_x, sizeof shown_x, "%ld", x);
        if (hi == LONG_MAX) return cfg_fail(c, v->pos, "%s: %s is out of range (expected an integer >= %ld)", path, shown_x, lo);
        return cfg_fail(c, v->pos, "%s: %s is out of range (expected an integer from %ld to %ld)", path, shown_x, lo, hi);
    }
    *out = x;
    return 0;
}

static int to_u64(Ctx *c, const Node *v, const char *path, uint64_t *out) {
    if (v->kind != N_SCALAR || v->quoted || !(v->s[0] >= '0' && v->s[0] <= '9')) return cfg_type_error(c, v, path, "a non-negative integer");
    errno = 0;
    char *end;
    unsigned long long x = strtoull(v->s, &end, 10);
    if (*end) return cfg_type_error(c, v, path, "a non-negative integer");
    if (errno) return cfg_fail(c, v->pos, "%s: %s does not fit in 64 bits", path, v->s);
    *out = (uint64_t)x;
    return 0;
}

int cfg_to_num(Ctx *c, const Node *v, const char *path, Range r, double *out) {
    double x;
    if (cfg_parse_double(v, &x) < 0) return cfg_type_error(c, v, path, "a number");
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
        if (isinf(r.hi)) return cfg_fail(c, v->pos, "%s: %s is out of range (expected %s %s %s)", path, v->s, name, r.lo_open ? ">" : ">=", lo);
        return cfg_fail(c, v->pos, "%s: %s is out of range (expected %s %s %s %s %s)", path, v->s, lo, r.lo_open ? "<" : "<=", name,
                    r.hi_open ? "<" : "<=", hi);
    }
    if (fabs(x) > 3.0e38) return cfg_fail(c, v->pos, "%s: %s does not fit in a float", path, v->s);
    *out = x;
    return 0;
}

int cfg_to_bool(Ctx *c, const Node *v, const char *path, int *out) {
    if (v->kind == N_SCALAR && !v->quoted) {
        if (!strcmp(v->s, "true") || !strcmp(v->s, "True") || !strcmp(v->s, "TRUE")) { *out = 1; return 0; }
        if (!strcmp(v->s, "false") || !strcmp(v->s, "False") || !strcmp(v->s, "FALSE")) { *out = 0; return 0; }
    }
    return cfg_type_error(c, v, path, "true or false");
}

int cfg_to_enum(Ctx *c, const Node *v, const char *path, const char *const *names, int n, int *out) {
    if (v->kind == N_SCALAR)
        for (int i = 0; i < n; i++)
            if (!strcmp(v->s, names[i])) { *out = i; return 0; }
    char list[400], b1[96];
    cfg_join_names(list, sizeof list, names, n);
    return cfg_fail(c, v->pos, "%s: unknown value %s; valid: %s", path, cfg_shown(v, b1, sizeof b1), list);
}

int cfg_to_str(Ctx *c, const Node *v, const char *path, char *buf, size_t cap) {
    if (v->kind != N_SCALAR || !v->s[0]) return cfg_type_error(c, v, path, "a string");
    if (strlen(v->s) >= cap) return cfg_fail(c, v->pos, "%s: longer than %zu characters", path, cap - 1);
    snprintf(buf, cap, "%s", v->s);
    return 0;
}

// Sec wrappers: 1 present, 0 absent, -1 error.
int rd_long(Sec *s, const char *key, long lo, long hi, long *out) {
    const Node *v;
    int r = sec_val(s, key, 1, "an integer", &v);
    if (r <= 0) return r;
    char path[160];
    cfg_key_path(path, sizeof path, s, key);
    return cfg_to_long(s->c, v, path, lo, hi, out) < 0 ? -1 : 1;
}
int rd_int(Sec *s, const char *key, long lo, long hi, int *out) {
    long x;
    int r = rd_long(s, key, lo, hi, &x);
    if (r == 1) *out = (int)x;
    return r;
}
int rd_u64(Sec *s, const char *key, uint64_t *out) {
    const Node *v;
    int r = sec_val(s, key, 1, "a non-negative integer", &v);
    if (r <= 0) return r;
    char path[160];
    cfg_key_path(path, sizeof path, s, key);
    return to_u64(s->c, v, path, out) < 0 ? -1 : 1;
}
int rd_num(Sec *s, const char *key, Range rg, float *out) {
    const Node *v;
    int r = sec_val(s, key, 1, "a number", &v);
    if (r <= 0) return r;
    char path[160];
    cfg_key_path(path, sizeof path, s, key);
    double x;
    if (cfg_to_num(s->c, v, path, rg, &x) < 0) return -1;
    *out = (float)x;
    return 1;
}
int rd_bool(Sec *s, const char *key, int *out) {
    const Node *v;
    int r = sec_val(s, key, 1, "true or false", &v);
    if (r <= 0) return r;
    char path[160];
    cfg_key_path(path, sizeof path, s, key);
    return cfg_to_bool(s->c, v, path, out) < 0 ? -1 : 1;
}
int rd_enum(Sec *s, const char *key, int sweepable, const char *const *names, int n, int *out) {
    const Node *v;
    char list[400];
    cfg_join_names(list, sizeof list, names, n);
    char what[440];
    snprintf(what, sizeof what, "one of %s", list);
    int r = sec_val(s, key, sweepable, what, &v);
    if (r <= 0) return r;
    char path[160];
    cfg_key_path(path, sizeof path, s, key);
    return cfg_to_enum(s->c, v, path, names, n, out) < 0 ? -1 : 1;
}
// A string; `none` (or null) gives "" when allow_none.
int rd_str(Sec *s, const char *key, int sweepable, int allow_none, char *buf, size_t cap) {
    const Node *v;
    int r = sec_val(s, key, sweepable, "a string", &v);
    if (r <= 0) return r;
    if (allow_none && cfg_is_null(v)) { buf[0] = 0; return 1; }
    char path[160];
    cfg_key_path(path, sizeof path, s, key);
    return cfg_to_str(s->c, v, path, buf, cap) < 0 ? -1 : 1;
}

// Numbers of a list node (already a list of scalars): count in [minn, maxn].
int list_nums(Sec *s, const char *key, const Node *l, int minn, int maxn, Range rg, double *out, int *n) {
    char path[160];
    cfg_key_path(path, sizeof path, s, key);
    if (l->kind != N_SEQ) return cfg_type_error(s->c, l, path, "a list of numbers");
    if (l->n < minn || l->n > maxn) {
        if (minn == maxn) return cfg_fail(s->c, l->pos, "%s: %d values given (expected %d)", path, l->n, minn);
        return cfg_fail(s->c, l->pos, "%s: %d values given (expected %d to %d)", path, l->n, minn, maxn);
    }
    for (int i = 0; i < l->n; i++)
        if (cfg_to_num(s->c, l->v[i], path, rg, &out[i]) < 0) return -1;
    *n = l->n;
    return 0;
}
int list_longs(Sec *s, const char *key, const Node *l, int minn, int maxn, long lo, long hi, long *out, int *n) {
    char path[160];
    cfg_key_path(path, sizeof path, s, key);
    if (l->kind != N_SEQ) return cfg_type_error(s->c, l, path, "a list of integers");
    if (l->n < minn || l->n > maxn) {
        if (minn == maxn) return cfg_fail(s->c, l->pos, "%s: %d values given (expected %d)", path, l->n, minn);
        return cfg_fail(s->c, l->pos, "%s: %d values given (expected %d to %d)", path, l->n, minn, maxn);
    }
    for (int i = 0; i < l->n; i++)
        if (cfg_to_long(s->c, l->v[i], path, lo, hi, &out[i]) < 0) return -1;
    *n = l->n;
    return 0;
}

int cfg_section(Ctx *c, const Node *tree, const char *name, int required, Sec *s) {
    int at;
    const Node *m = yaml_get(tree, name, &at);
    *s = (Sec){c, NULL, name, tree->pos};
    if (!m) {
        if (required) return cfg_fail(c, tree->pos, "missing required section '%s'", name);
        return 0;
    }
    if (m->kind != N_MAP) {
        char b1[96];
        return cfg_fail(c, m->pos, "%s: expected a mapping of settings, got %s", name, cfg_shown(m, b1, sizeof b1));
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
    {"budget_mb", "budget"}, {"seeds", "seed"}, {"rrc_scale", "rrcs"}, {"rrc_ratio", "rrcr"}, {"eval_split", "on_"},
    {"log_subspace", "subspace_"}, {"subspace_epsilon", "subeps"}, {"log_spectrum", "spectrum_"},
};

void name_sanitize(char *s) {
    for (; *s; s++) {
        char ch = *s;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' || ch == '+';
        if (!ok) *s = '_';
    }
}

static void scalar_text(char *buf, size_t cap, const Node *v, int path_like) {
    double x;
    if (v->kind != N_SCALAR) { snprintf(buf, cap, "?"); return; }
    if (cfg_parse_double(v, &x) == 0) { fmt_double(buf, cap, x); return; }
    const char *s = v->s;
    if (path_like && !cfg_is_null(v)) {   // base name without extension
        const char *sl = strrchr(s, '/');
        if (sl && sl[1]) s = sl + 1;
        const char *dot = strrchr(s, '.');
        int n = dot && dot != s ? (int)(dot - s) : (int)strlen(s);
        snprintf(buf, cap, "%.*s", n, s);
        return;
    }
    snprintf(buf, cap, "%s", cfg_is_null(v) ? "none" : s);
}

// One name part for setting `key` (a key path) with value v.
const char *tok_make(Ctx *c, const char *key, const Node *v) {
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
    name_sanitize(out);
    return ar_strdup(&c->A, out);
}

void tok_add(Ctx *c, const char *scope, const char *text, int always) {
    if (c->nt >= MAX_TOKS) return;
    c->ts[c->nt] = scope;
    c->tt[c->nt] = text;
    c->ta[c->nt] = (unsigned char)always;
    c->nt++;
}

// A method-entry setting that was given explicitly becomes a name part.
void tok_key(Sec *s, const char *scope, const char *key) {
    const Node *v = yaml_get(s->map, key, NULL);
    if (!v) return;
    for (int a = 0; a < s->c->nax; a++)
        if (s->c->ax[a].seq == v) { v = v->v[s->c->ax[a].sel]; break; }
    tok_add(s->c, scope, tok_make(s->c, scope, v), 0);
}

