// config_emit.c: the fully resolved YAML of one run (every setting with its
// final value; loading it gives the same run), see config_parts.h.
#include "experiments/config_parts.h"
#include "baselines/registry.h"

#include <string.h>
// ---------------------------------------------------------------------------
// resolved YAML

static int plain_ok(const char *s) {
    if (!s[0]) return 0;
    double d;
    Node tmp = {0};
    tmp.kind = N_SCALAR;
    tmp.s = s;
    if (cfg_parse_double(&tmp, &d) == 0 || cfg_is_null(&tmp) || !strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "all")) return 0;
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

// The activation ranks as the entry gives them (see act_section).
static void emit_act(Sb *b, const RunSpec *r, const RunAux *x, const MethodKey *k) {
    const MethodConfig *m = &r->mcfg;
    const char *ind = "    ";
    if (k->nested) {
        sb_printf(b, "    %s:\n", k->key);
        ind = "      ";
    }
    if (r->act_mode == ACT_RANKS_FIXED) {   // one rank per activation mode: 3 (ViT) or 4 (Swin)
        int modes = model_config_act_modes(&r->model);
        sb_printf(b, "%sranks: [", ind);
        for (int i = 0; i < modes; i++) sb_printf(b, "%s%d", i ? ", " : "", m->act_ranks[i]);
        sb_printf(b, "]\n");
    }
    else if (r->act_mode == ACT_RANKS_EPSILON) { sb_printf(b, "%sepsilon: ", ind); sb_float(b, m->act_epsilon); sb_printf(b, "\n"); }
    else {
        if (x->budget_src == 2) { sb_printf(b, "%sbudget_mb: ", ind); sb_float(b, r->budget_mb); sb_printf(b, "\n"); }
        else if (x->budget_src == 0) sb_printf(b, "%s# no budget: DP at the minimum budget\n", ind);
        sb_printf(b, "%scandidates: ", ind); sb_floats(b, r->candidates, r->n_candidates); sb_printf(b, "\n");
    }
}

// The image formats' preprocessing keys (dataset:), after split_seed.
static void emit_image_keys(Sb *b, const DataConfig *d) {
    sb_printf(b, "  normalize: ");
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
    if (data_format_has_coarse(d->format)) sb_printf(b, "  coarse_labels: %s\n", d->coarse_labels ? "true" : "false");
}

void emit_run(Sb *b, const Experiment *ex, const RunSpec *r, const RunAux *x, const char *from_name) {
    const DataConfig *d = &r->data;
    const ModelFamily *fam = model_family(r->model.kind);
    int mem[MODEL_MEM_NOPTS];   // the memory options as set (0 where the family has none)
    for (int o = 0; o < MODEL_MEM_NOPTS; o++) mem[o] = model_config_memory(&r->model, o);
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
    if (r->strict_budget) sb_printf(b, "\nstrict_budget: true");   // only when set: older files keep their config hashes
    if (r->mem_cap > 0 || mem[MODEL_MEM_GELU_F16] || mem[MODEL_MEM_SOFTMAX_F16] || mem[MODEL_MEM_RECOMPUTE]) {   // the same: only when set
        sb_printf(b, "\nmemory:");
        if (r->mem_cap > 0) {
            char cb[40];
            fmt_double(cb, sizeof cb, r->mem_cap);
            sb_printf(b, "\n  cap: %s", cb);
        }
        if (mem[MODEL_MEM_GELU_F16]) sb_printf(b, "\n  gelu_f16: true");
        if (mem[MODEL_MEM_SOFTMAX_F16]) sb_printf(b, "\n  softmax_f16: true");
        if (mem[MODEL_MEM_RECOMPUTE]) sb_printf(b, "\n  recompute: true");
    }
    static const char *const layers[] = {"mlp", "all_linear", "attention"};
    sb_printf(b, "\nlayers: %s\nnum_of_finetune: ", layers[r->all_linear]);
    if (r->num_finetune < 0) sb_printf(b, "all"); else sb_printf(b, "%d", r->num_finetune);
    sb_printf(b, "\nmodel:\n");
    if (strcmp(r->model_preset, "custom")) sb_printf(b, "  preset: %s\n", r->model_preset);
    if (r->model_config[0]) { sb_printf(b, "  config: "); sb_str(b, r->model_config); sb_printf(b, "\n"); }
    char sizes[1024];
    fam->describe(&r->model, sizes, sizeof sizes);
    sb_printf(b, "%s", sizes);
    sb_printf(b, "  pretrained: ");
    if (r->pretrained[0]) sb_str(b, r->pretrained); else sb_printf(b, "none");
    if (r->pretrained_stage[0]) { sb_printf(b, "\n  from_stage: "); sb_str(b, r->pretrained_stage); }
    sb_printf(b, "\n  new_head: %s\n  init_seed: %llu\n  # num_classes: %d (from the dataset)\n", r->new_head ? "true" : "false",
              (unsigned long long)r->init_seed, m_classes);
    sb_printf(b, "dataset:\n  format: %s\n  path: ", data_format_name(d->format));
    sb_str(b, d->path);
    const int text = data_format_is_text(d->format);
    if (text) {   // no image keys: the reader rejects them for text formats
        sb_printf(b, "\n  tokenizer: ");
        sb_str(b, d->tokenizer);
        sb_printf(b, "\n  max_length: %d\n  pad_id: ", d->max_length);
        if (d->pad_id < 0) sb_printf(b, "eos"); else sb_printf(b, "%d", d->pad_id);
        if (data_format_keyed_text(d->format)) {
            sb_printf(b, "\n  text_key: "); sb_str(b, d->text_key);
            sb_printf(b, "\n  label_key: "); sb_str(b, d->label_key);
        }
        sb_printf(b, "\n  classes: ");
    } else sb_printf(b, "\n  image_size: %d\n  channels: %d\n  classes: ", d->image_size, d->channels);
    if (!d->n_classes) sb_printf(b, "all");
    else {
        sb_printf(b, "[");
        for (int i = 0; i < d->n_classes; i++) sb_printf(b, "%s%d", i ? ", " : "", d->classes[i]);
        sb_printf(b, "]");
    }
    sb_printf(b, "\n  val_fraction: ");
    sb_float(b, d->val_fraction);
    sb_printf(b, "\n  split_seed: %llu\n", (unsigned long long)d->split_seed);
    if (text) sb_printf(b, "  shuffle: %s\n", d->shuffle ? "true" : "false");
    else emit_image_keys(b, d);
    sb_printf(b, "  limit_train: %d\n  limit_val: %d\n", r->limit_train, r->limit_val);
    if (r->eval_split) sb_printf(b, "  eval_split: %s\n", r->eval_split == 1 ? "test" : "both");   // only when set: older files keep their config hashes
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
    // only when set: older files keep their config hashes
    if (r->log_subspace >= 0) sb_printf(b, "  log_subspace: %s\n", r->log_subspace ? "true" : "false");
    if (r->subspace_epsilon > 0) { sb_printf(b, "  subspace_epsilon: "); sb_float(b, r->subspace_epsilon); sb_printf(b, "\n"); }
    if (r->log_spectrum > 0) sb_printf(b, "  log_spectrum: true\n");
    sb_printf(b, "methods:\n  - name: %s\n", r->method);
    const LinearMethod *m = method_by_name(r->method);
    for (int i = 0; m && i < m->n_keys; i++) {
        const MethodKey *k = &m->keys[i];
        const char *f = (const char *)&r->mcfg + k->field;
        int iv;
        float fv;
        switch (k->type) {
        case MKEY_INT: memcpy(&iv, f, sizeof iv); sb_printf(b, "    %s: %d\n", k->key, iv); break;
        case MKEY_NUM: memcpy(&fv, f, sizeof fv); sb_printf(b, "    %s: ", k->key); sb_float(b, fv); sb_printf(b, "\n"); break;
        case MKEY_ENUM: memcpy(&iv, f, sizeof iv); sb_printf(b, "    %s: %s\n", k->key, k->names[iv]); break;
        case MKEY_ACT: emit_act(b, r, x, k); break;
        }
    }
}

