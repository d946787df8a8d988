// config.c: the experiment YAML loader of config.h, in five files:
//   yaml_tree.c        libyaml -> a small node tree that keeps file:line:column
//                      of every key and value, with `extends:` files deep-merged
//                      under the including one;
//   config_read.c      the typed readers: strict (unknown keys, types, ranges,
//                      enums, missing keys are errors naming file:line:column),
//                      and the run-name parts of the settings given;
//   config_sections.c  one reader per section (methods through their declarations);
//   config_emit.c      each run's resolved YAML;
//   config.c (here)    the sweep expansion: a list where a scalar is expected is
//                      an axis; the runs of a stage are the cartesian product, in
//                      the documented order (model, dataset, training, layers,
//                      num_of_finetune, method, method axes, budget, seed), with
//                      method axes applied only to their method; each run's name
//                      from the settings that vary; cfg_load and cfg_free.
// Keys, defaults and examples: experiments/README.md.
#include "experiments/config_parts.h"
#include "baselines/registry.h"
#include "core/runtime/memory.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) { h ^= (unsigned char)*s; h *= 1099511628211ULL; }
    return h;
}

// ---------------------------------------------------------------------------
// the expansion

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
    r->log_subspace = -1;
    r->eta_min_ratio = 0.1f;
    r->num_finetune = -1;
    r->from_run = -1;
    r->sched.cosine = 1;
}

// The checkpoint run of `model.from_stage` (an earlier stage that saves one).
static int link_stage(Ctx *c, const Node *tree, RunSpec *r) {
    const Node *model = yaml_get(tree, "model", NULL);
    const Node *fs = yaml_get(model, "from_stage", NULL);
    int st = -1;
    for (int i = 0; i < c->nstages; i++) if (!strcmp(c->stages[i].name, r->pretrained_stage)) st = i;
    if (st < 0) {
        char list[400] = "";
        for (int i = 0; i < c->nstages; i++) {
            size_t o = strlen(list);
            snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", c->stages[i].name);
        }
        return cfg_fail(c, fs->pos, "model.from_stage: '%s' is not an earlier stage (earlier stages: %s)", r->pretrained_stage, list[0] ? list : "none");
    }
    StageInfo *si = &c->stages[st];
    if (!si->save) return cfg_fail(c, fs->pos, "model.from_stage: stage '%s' does not save a checkpoint (add save_checkpoint: true to it)", si->name);
    int pick = -1, nmatch = 0;
    if (si->count == 1) pick = si->first;
    else
        for (int i = si->first; i < si->first + si->count; i++)
            if (c->ex->runs[i].seed == r->seed) { pick = i; nmatch++; }
    if (pick < 0 || nmatch > 1)
        return cfg_fail(c, fs->pos, "model.from_stage: stage '%s' has %d runs and %d of them use seed %llu (expected one run, or one per seed)",
                    si->name, si->count, nmatch, (unsigned long long)r->seed);
    const RunSpec *p = &c->ex->runs[pick];
    int sa, ca, ka, sb, cb, kb;
    model_config_io(&p->model, &sa, &ca, &ka);
    model_config_io(&r->model, &sb, &cb, &kb);
    ModelConfig ma = p->model, mb = r->model;   // the same model up to its classes and memory options
    model_config_set_classes(&ma, 1);
    model_config_set_classes(&mb, 1);
    model_config_clear_memory(&ma);
    model_config_clear_memory(&mb);
    if (ma.kind != mb.kind || memcmp(&ma, &mb, sizeof ma))
        return cfg_fail(c, fs->pos, "model.from_stage: stage '%s' trains a different model (%s, %d px; this run: %s, %d px): give the same model",
                    si->name, p->model_preset, sa, r->model_preset, sb);
    if (!r->new_head && ka != kb)
        return cfg_fail(c, fs->pos, "model.from_stage: the checkpoint's head has %d classes, this run has %d (set model.new_head: true)", ka, kb);
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
    if (got < 0 || (got && cfg_to_bool(c, v, "save_checkpoint", &r->save_checkpoint) < 0)) return -1;
    got = sec_val(&top, "strict_budget", 0, "true or false", &v);
    if (got < 0 || (got && cfg_to_bool(c, v, "strict_budget", &r->strict_budget) < 0)) return -1;
    if (model_section(c, tree, r, fsg) < 0 || dataset_section(c, tree, r) < 0 || training_section(c, tree, r, x) < 0 ||
        layer_settings(c, tree, r) < 0 || memory_section(c, tree, r) < 0)
        return -1;
    return 0;
}

int cfg_lora_rank_max(const RunSpec *r) { return model_family(r->model.kind)->lora_rank_max(&r->model); }

// Settings bounded by the model's shapes, checked here so that --dry-run
// catches them (a run would stop at a CHECK in the method's init).
static int check_model_bounds(Ctx *c, const Node *entry, int idx, const RunSpec *r) {
    if (!(method_by_name(r->method)->flags & METHOD_ADAPTER)) return 0;   // the rank bound is an adapter's
    int rmax = cfg_lora_rank_max(r);
    if (r->mcfg.lora_rank <= rmax) return 0;
    Pos p = entry->pos;
    Sec s = {c, entry->kind == N_MAP ? entry : NULL, "", entry->pos};
    if (s.map) cfg_key_pos(&s, "rank", &p);
    return cfg_fail(c, p, "methods[%d].rank: %d is larger than the model (%s) allows: LoRA rank 1 .. %d, min(out, in features) of its smallest linear",
                    idx, r->mcfg.lora_rank, r->model_preset, rmax);
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
    if (!own && !(method_by_name(r->method)->flags & METHOD_NO_BUDGET)) {
        if ((gb = sec_val(&top, "budget_mb", 1, "a number (MB) or none", &bv)) < 0) return -1;
        if (gb && !cfg_is_null(bv)) {
            double b;
            const LinearMethod *lm = method_by_name(r->method);
            if (!lm->fit_budget && !lm->budget_act_elems)   // e.g. hosvd: its ranks come from epsilon, nothing to fit
                return cfg_fail(c, bv->pos, "budget_mb: %s has no memory budget (nothing of it can be fitted); set budget_mb in the "
                                "entries of methods that take one, or leave %s out of this file", r->method, r->method);
            if (cfg_to_num(c, bv, "budget_mb", R_POS, &b) < 0) return -1;
            r->budget_mb = (float)b;
            x->budget_src = 1;
        }
    }
    if (x->budget_src) {
        char t[48], f[32];
        fmt_float(f, sizeof f, r->budget_mb);
        snprintf(t, sizeof t, "budget%s", f);
        name_sanitize(t);
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
    int nv = 0, cap = method_count() * MAX_TOKS;   // distinct (method, part) pairs
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
            return cfg_fail(c, c->aux[b].entry->pos, "runs %d ('%s') and %d ('%s') have identical settings (a method entry repeated, or the same value twice in a sweep)",
                        a, ex->runs[a].name, b, ex->runs[b].name);
        }
    for (int i = first; i < ex->n; i++) key[i - first] = (SortKey){0, ex->runs[i].name, i};
    qsort(key, (size_t)n, sizeof *key, cmp_key);
    for (int k = 1; k < n; k++)
        if (!strcmp(key[k - 1].text, key[k].text))
            return cfg_fail(c, c->aux[key[k].idx].entry->pos, "two different runs get the same name '%s' (values that differ only in characters a name cannot hold?)",
                        key[k].text);
    return 0;
}

static int expand_stage(Ctx *c, const Node *tree) {
    int at;
    const Node *methods = yaml_get(tree, "methods", &at);
    if (!methods) return cfg_fail(c, tree->pos, "missing required key 'methods' (a list such as [{name: vanilla}, {name: wasi, epsilon: 0.8}])");
    if (methods->kind != N_SEQ || methods->n == 0)
        return cfg_fail(c, methods->pos, "methods: expected a non-empty list of methods ({name: vanilla}, {name: lora, rank: 8}, ...), got %s",
                    methods->kind == N_SEQ ? "an empty list" : yaml_kind_name(methods));
    if (methods->n > MAX_ENTRIES) return cfg_fail(c, methods->pos, "methods: more than %d entries", MAX_ENTRIES);
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
        const Node *sv = yaml_get(tree, "seeds", NULL);
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
        const Node *bv = yaml_get(tree, "budget_mb", NULL);
        if (sec_val(&top, "budget_mb", 1, "a number (MB) or none", &tmp) < 0) goto out;
        if (c->nax > before) pl.budget_ax = before;
        for (int i = 0; bv && i < (bv->kind == N_SEQ ? bv->n : 1); i++) {
            const Node *it = bv->kind == N_SEQ ? bv->v[i] : bv;
            double b;
            if (!cfg_is_null(it) && cfg_to_num(c, it, "budget_mb", R_POS, &b) < 0) goto out;
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
            cfg_method_name(c, methods->v[e], e, &m);
            total += (double)ne * ((method_at(m)->flags & METHOD_NO_BUDGET) || pl.own_budget[e] ? 1 : nb);
        }
        if (total * (double)ng * ns + c->ex->n > MAX_RUNS) goto toomany;
    }
    // Enumerate: global axes (outer), method, method axes, budget, seed (inner).
    for (int a = 0; a < c->nax; a++) c->ax[a].sel = 0;
    do {
        for (int e = 0; e < methods->n; e++) {
            int m = -1;
            cfg_method_name(c, methods->v[e], e, &m);
            for (int a = pl.e0[e]; a < pl.e1[e]; a++) c->ax[a].sel = 0;
            do {
                int nb = (pl.budget_ax >= 0 && !(method_at(m)->flags & METHOD_NO_BUDGET) && !pl.own_budget[e]) ? c->ax[pl.budget_ax].seq->n : 1;
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
    rc = cfg_fail(c, tree->pos, "the sweep expands to more than %d runs; split it into several files or stages", MAX_RUNS);
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
    name_sanitize(buf);
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
    const char *chain[YAML_MAX_EXTENDS + 1];
    const Node *root;
    if (yaml_load_tree(&c->A, path, NULL, chain, 0, &root, c->err) < 0) return -1;
    Sec top = {c, root, "", root->pos};
    if (cfg_check_keys(&top, top_keys, NK(top_keys)) < 0) return -1;
    // experiment and output
    base_name(ex->experiment, sizeof ex->experiment, path);
    const Node *v;
    int got;
    if ((got = sec_val(&top, "experiment", 0, "a name", &v)) < 0) return -1;
    if (got) {
        if (cfg_to_str(c, v, "experiment", ex->experiment, sizeof ex->experiment) < 0) return -1;
        if (!name_ok(ex->experiment))
            return cfg_fail(c, v->pos, "experiment: '%s' is not a file-safe name (letters, digits, _ - . ; not starting with . or -)", ex->experiment);
    }
    if (!ex->experiment[0]) snprintf(ex->experiment, sizeof ex->experiment, "experiment");
    snprintf(ex->output, sizeof ex->output, "results/%s.h5", ex->experiment);
    if (rd_str(&top, "output", 0, 0, ex->output, sizeof ex->output) < 0) return -1;
    // stages
    const Node *stages = yaml_get(root, "stages", NULL);
    static const char *const drop_top[] = {"experiment", "output", "extends", "stages"};
    const Node *common = yaml_without(&c->A, root, drop_top, 4);
    if (!stages) {
        c->stage = NULL;
        return expand_stage(c, common) < 0 ? -1 : finish_stage(c, 0);
    }
    if (stages->kind != N_SEQ || stages->n == 0)
        return cfg_fail(c, stages->pos, "stages: expected a non-empty list of stages ({name: ..., sections}), got %s",
                    stages->kind == N_SEQ ? "an empty list" : yaml_kind_name(stages));
    if (stages->n > MAX_STAGES) return cfg_fail(c, stages->pos, "stages: more than %d stages", MAX_STAGES);
    // The top level's methods are replaced by a stage's: still check their keys.
    const Node *tm = yaml_get(root, "methods", NULL);
    if (tm && tm->kind == N_SEQ)
        for (int e = 0; e < tm->n; e++) {
            int m;
            if (cfg_method_name(c, tm->v[e], e, &m) < 0) return -1;
            char sect[64];
            snprintf(sect, sizeof sect, "methods[%d] (%s)", e, method_at(m)->name);
            if (tm->v[e]->kind == N_MAP && check_method_keys(c, tm->v[e], method_at(m), sect) < 0) return -1;
        }
    for (int i = 0; i < stages->n; i++) {
        const Node *sn = stages->v[i];
        c->stage = NULL;   // the stage's own keys are checked outside any stage
        char sect[32];
        snprintf(sect, sizeof sect, "stages[%d]", i);
        if (sn->kind != N_MAP) return cfg_fail(c, sn->pos, "%s: expected a mapping with name: and sections, got %s", sect, yaml_kind_name(sn));
        Sec ss = {c, sn, ar_strdup(&c->A, sect), sn->pos};
        if (cfg_check_keys(&ss, stage_keys, NK(stage_keys)) < 0) return -1;
        const Node *nv = yaml_get(sn, "name", NULL);
        char path2[48];
        snprintf(path2, sizeof path2, "%s.name", sect);
        if (!nv) return cfg_fail(c, sn->pos, "%s: missing required key 'name'", sect);
        char name[64];
        if (nv->kind != N_SCALAR) return cfg_type_error(c, nv, path2, "a stage name");
        if (cfg_to_str(c, nv, path2, name, sizeof name) < 0) return -1;
        if (!name_ok(name)) return cfg_fail(c, nv->pos, "%s: '%s' is not a file-safe name (letters, digits, _ - . ; not starting with . or -)", path2, name);
        for (int j = 0; j < c->nstages; j++)
            if (!strcmp(c->stages[j].name, name)) {
                const Node *prev = yaml_get(stages->v[j], "name", NULL);
                return cfg_fail(c, nv->pos, "%s: duplicate stage name '%s' (also stages[%d], line %d)", path2, name, j, prev->pos.line);
            }
        static const char *const drop_name[] = {"name"};
        const Node *tree = yaml_merge(&c->A, common, yaml_without(&c->A, sn, drop_name, 1));
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

