// registry.c: the list of method declarations, look-ups, `help methods`, and
// the closed-form paper measure (see registry.h).
#include "baselines/registry.h"
#include "baselines/asi.h"
#include "baselines/hosvd.h"
#include "baselines/lora.h"
#include "baselines/svdllm_lora.h"
#include "baselines/vanilla.h"
#include "baselines/wasi.h"
#include "baselines/wsi.h"
#include "core/runtime/common.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

// The list of declarations: the order of help, figures and legends.
static const LinearMethod *const builtin[] = {&method_vanilla, &method_lora, &method_svdllm_lora, &method_hosvd, &method_asi, &method_wsi, &method_wasi};
#define N_BUILTIN ((int)(sizeof builtin / sizeof builtin[0]))
#define MAX_EXTRA 8
static const LinearMethod *extra[MAX_EXTRA];
static int n_extra;
static char names_buf[256];

int method_count(void) { return N_BUILTIN + n_extra; }
const LinearMethod *method_at(int i) { return i < N_BUILTIN ? builtin[i] : extra[i - N_BUILTIN]; }

int method_index(const char *name) {
    int n = method_count();
    for (int i = 0; i < n; i++) {
        const LinearMethod *m = method_at(i);
        if (!strcmp(m->name, name)) return i;
    }
    return n;
}

const LinearMethod *method_by_name(const char *name) {
    int i = method_index(name);
    return i < method_count() ? method_at(i) : NULL;
}

void method_register(const LinearMethod *m) {
    CHECK(m && m->name && m->init && m->forward && m->backward && m->param_sets && m->update && m->account &&
          m->export_dense && m->free && m->paper_elems, "method_register: a declaration needs a name, paper_elems and every operation");
    CHECK(!method_by_name(m->name), "method_register: a method '%s' exists already", m->name);
    CHECK(n_extra < MAX_EXTRA, "method_register: more than %d added methods", MAX_EXTRA);
    extra[n_extra++] = m;
    names_buf[0] = 0;
}

const char *method_names(void) {
    if (!names_buf[0])
        for (int i = 0; i < method_count(); i++) {
            size_t len = strlen(names_buf);
            snprintf(names_buf + len, sizeof names_buf - len, "%s%s", i ? ", " : "", method_at(i)->name);
        }
    return names_buf;
}

const MethodKey *method_key_of(const LinearMethod *m, size_t field) {
    for (int i = 0; m && i < m->n_keys; i++)
        if (m->keys[i].type != MKEY_ACT && m->keys[i].field == field) return &m->keys[i];
    return NULL;
}

int method_is_reference(const char *name) {
    const LinearMethod *m = method_by_name(name);
    return m && (m->flags & METHOD_NO_BUDGET);
}

int method_shows_epsilon(const char *name) {
    const LinearMethod *m = method_by_name(name);
    return !m || m->epsilon_means || (m->flags & METHOD_ACT_TUCKER);
}

void method_key_value(const MethodKey *k, const MethodConfig *mc, char *buf, size_t cap) {
    const char *p = (const char *)mc + k->field;
    int iv;
    float fv;
    switch (k->type) {
    case MKEY_INT: memcpy(&iv, p, sizeof iv); snprintf(buf, cap, "%d", iv); break;
    case MKEY_NUM: memcpy(&fv, p, sizeof fv); snprintf(buf, cap, "%g", (double)fv); break;
    case MKEY_ENUM:
        memcpy(&iv, p, sizeof iv);
        snprintf(buf, cap, "%s", iv >= 0 && iv < k->n_names ? k->names[iv] : "?");
        break;
    default: snprintf(buf, cap, "-"); break;
    }
}

static void key_help(FILE *out, const MethodKey *k) {
    char what[160] = "", def[80] = "";
    if (k->type == MKEY_INT) snprintf(what, sizeof what, "integer %g..%g", k->lo, k->hi);
    else if (k->type == MKEY_NUM)
    {
        int n = snprintf(what, sizeof what, "number %s %g", k->lo_open ? ">" : ">=", k->lo);
        if (!isinf(k->hi)) snprintf(what + n, sizeof what - (size_t)n, ", <= %g", k->hi);
    }
    else if (k->type == MKEY_ENUM) {
        for (int i = 0; i < k->n_names; i++) {
            size_t len = strlen(what);
            snprintf(what + len, sizeof what - len, "%s%s", i ? " | " : "", k->names[i]);
        }
    } else snprintf(what, sizeof what, "%s", k->nested ? "mapping" : "keys ranks | budget_mb, candidates");
    if (k->required) snprintf(def, sizeof def, "required");
    else if (k->default_key) snprintf(def, sizeof def, "default: = %s", k->default_key);
    else if (k->type == MKEY_ENUM) snprintf(def, sizeof def, "default: %s", k->names[0]);
    else if (k->type == MKEY_ACT) snprintf(def, sizeof def, "default: DP at the minimum budget");
    else snprintf(def, sizeof def, "default: %g", k->def);
    fprintf(out, "    %-11s %s; %s; sweepable\n                %s\n", k->key, what, def, k->help);
}

void methods_help(FILE *out) {
    fprintf(out, "Methods (the `name:` of a `methods:` entry; every key below is sweepable: a list is an axis):\n");
    for (int i = 0; i < method_count(); i++) {
        const LinearMethod *m = method_at(i);
        fprintf(out, "\n  %s: %s\n", m->name, m->help ? m->help : "");
        if (m->epsilon_means) fprintf(out, "    epsilon: %s\n", m->epsilon_means);
        if (m->ranks_means) fprintf(out, "    ranks: %s\n", m->ranks_means);
        const char *budget = (m->flags & METHOD_NO_BUDGET) ? "does not apply (the reference)"
                             : m->fit_budget                ? "fitted before the model is built"
                             : m->budget_act_elems          ? "fitted after calibrating the activation ranks"
                                                            : "not fitted (runs at its settings)";
        fprintf(out, "    budget_mb: %s%s\n", budget, (m->flags & METHOD_CALIBRATES) ? "; calibrates activation ranks by the DP" : "");
        if (!m->n_keys) fprintf(out, "    (no keys)\n");
        for (int k = 0; k < m->n_keys; k++) key_help(out, &m->keys[k]);
    }
}

void method_paper_elems(const char *method, int O, const int *dims, int nd, const MethodConfig *mcfg,
                        const LayerRanks *lr, double *act_elems, double *weight_elems) {
    CHECK(nd >= 2 && nd <= 4, "activation of %d modes", nd);
    const LinearMethod *m = method_by_name(method);
    if (!m || !m->paper_elems) die("unknown method '%s' (known: %s)", method, method_names());
    m->paper_elems(O, dims, nd, mcfg, lr, act_elems, weight_elems);
}

void paper_memory_add(ModelPaperMemory *pm, const char *method, int O, const int *dims, int nd, const MethodConfig *mcfg,
                      const LayerRanks *ranks) {
    double a, wt;
    method_paper_elems(method, O, dims, nd, mcfg, ranks ? &ranks[pm->n_counted] : NULL, &a, &wt);
    pm->paper_act_mb += a * 4.0 / 1048576.0;
    pm->paper_weight_mb += wt * 4.0 / 1048576.0;
    pm->n_counted++;
}
