// config_sections.c: one strict reader per section of an experiment file
// (model, dataset, training, layers, methods; see config_parts.h). A
// method's entry is read through its declared keys (core/nn/linear_method.h).
#include "experiments/config_parts.h"
#include "baselines/registry.h"
#include "core/data/tokenizer.h"
#include "core/runtime/memory.h"
#include "core/runtime/mem_size.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
// ---------------------------------------------------------------------------
// the sections

const char *const top_keys[15] = {"experiment", "output", "extends", "model", "dataset", "training", "methods", "layers",
                                       "num_of_finetune", "seeds", "budget_mb", "strict_budget", "save_checkpoint", "memory",
                                       "stages"};
const char *const stage_keys[12] = {"name", "model", "dataset", "training", "methods", "layers", "num_of_finetune",
                                         "seeds", "budget_mb", "strict_budget", "save_checkpoint", "memory"};

static const char *const dataset_keys[] = {"format", "path", "image_size", "channels", "classes", "val_fraction", "split_seed",
                                           "normalize", "resize", "resize_size", "augment", "rrc_scale", "rrc_ratio", "shuffle",
                                           "skip_corrupt", "cache", "coarse_labels", "limit_train", "limit_val",
                                           "eval_split", "tokenizer", "max_length", "pad_id", "text_key", "label_key"};
// Keys of one kind of format only: the other kind rejects them (a text
// format has no pixels; an image format no tokenizer).
static const char *const image_only_keys[] = {"image_size", "channels", "normalize", "resize", "resize_size", "augment",
                                              "rrc_scale", "rrc_ratio", "skip_corrupt", "cache"};
static const char *const text_only_keys[] = {"tokenizer", "max_length", "pad_id", "text_key", "label_key"};
static const char *const training_keys[] = {"epochs", "batch_size", "optimizer", "lr", "momentum", "dampening", "nesterov",
                                            "weight_decay", "betas", "eps", "schedule", "warmup_epochs", "warmup_start",
                                            "eta_min", "eta_min_ratio", "grad_clip", "max_steps", "eval_every",
                                            "log_subspace", "subspace_epsilon", "log_spectrum"};
static const char *const layers_names[] = {"mlp", "all_linear", "attention"};   // RunSpec.all_linear 0, 1, 2
static const char *const optim_names[] = {"sgd", "adamw"};
static const char *const sched_names[] = {"cosine", "constant"};
static const char *const augment_names[] = {"none", "flip", "crop_flip", "random_resized_crop"};
static const char *const norm_names[] = {"half", "imagenet", "dataset", "none"};
static const char *const resize_names[] = {"squash", "short_crop"};
static const char *const cache_names[] = {"auto", "off", "on"};
static const char *const eval_split_names[] = {"val", "test", "both"};   // RunSpec.eval_split
static const char *const activation_keys[] = {"ranks", "epsilon", "budget_mb", "candidates"};
static const float default_candidates[] = {0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f};

// The range of num_of_finetune: the run's counted linears, or for a
// decoder its decoder layers (the family's finetune_units).
static long counted_linears(const RunSpec *r) { return model_family(r->model.kind)->finetune_units(&r->model, r->all_linear); }

// The model section's keys through the family's reader (ModelKeyReader, model.h).
typedef struct { Ctx *c; Sec *s; } KeyCtx;
static int key_has(void *ctx, const char *key) {
    Pos p;
    return cfg_key_pos(((KeyCtx *)ctx)->s, key, &p);
}
static int key_int(void *ctx, const char *key, long hi, int *dst) { return rd_int(((KeyCtx *)ctx)->s, key, 1, hi, dst); }
static int key_path(void *ctx, const char *key, char *dst, size_t cap) { return rd_str(((KeyCtx *)ctx)->s, key, 1, 0, dst, cap); }
static int key_fail(void *ctx, const char *key, const char *msg) {
    KeyCtx *k = ctx;
    Pos p = k->s->pos;
    if (key) cfg_key_pos(k->s, key, &p);
    return cfg_fail(k->c, p, "%s", msg);
}

static int family_has_key(const ModelFamily *f, const char *key) {
    for (int i = 0; f->keys && f->keys[i]; i++)
        if (!strcmp(f->keys[i], key)) return 1;
    return 0;
}

// The keys of the model section: the common ones, then every family's own.
static const char *const common_model_keys[] = {"preset", "pretrained", "from_stage", "new_head", "init_seed"};
static int all_model_keys(const char **out, int max) {
    int n = 0;
    for (size_t i = 0; i < NK(common_model_keys) && n < max; i++) out[n++] = common_model_keys[i];
    for (int k = 1; k <= model_family_count(); k++) {
        const ModelFamily *f = model_family((ModelKind)k);
        for (int i = 0; f->keys && f->keys[i] && n < max; i++) {
            int seen = 0;
            for (int j = 0; j < n; j++) seen |= !strcmp(out[j], f->keys[i]);
            if (!seen) out[n++] = f->keys[i];
        }
    }
    return n;
}

int model_section(Ctx *c, const Node *tree, RunSpec *r, int *from_stage_given) {
    Sec s;
    const char *keys[64];
    int nkeys = all_model_keys(keys, 64);
    if (cfg_section(c, tree, "model", 1, &s) < 0 || cfg_check_keys(&s, keys, nkeys) < 0) return -1;
    const Node *pv;
    int have_preset = sec_val(&s, "preset", 1, "a preset name", &pv);
    if (have_preset < 0) return -1;
    if (have_preset) {
        if (pv->kind != N_SCALAR || model_preset(pv->s, &r->model) < 0) {
            char b1[96];
            return cfg_fail(c, pv->pos, "model.preset: unknown value %s; valid: %s", cfg_shown(pv, b1, sizeof b1), model_preset_names());
        }
        snprintf(r->model_preset, sizeof r->model_preset, "%s", pv->s);
    } else {   // a custom model: the first family's (the ViT's) keys give every size
        snprintf(r->model_preset, sizeof r->model_preset, "custom");
        memset(&r->model, 0, sizeof r->model);
        r->model.kind = (ModelKind)1;
    }
    // a key of another family: say which model takes it
    const ModelFamily *fam = model_family(r->model.kind);
    for (int i = 0; i < nkeys; i++) {
        Pos kp;
        int common = 0;
        for (size_t j = 0; j < NK(common_model_keys); j++) common |= !strcmp(keys[i], common_model_keys[j]);
        if (common || family_has_key(fam, keys[i]) || !cfg_key_pos(&s, keys[i], &kp)) continue;
        char takes[256] = "";
        for (int k = 1; k <= model_family_count(); k++) {
            const ModelFamily *o = model_family((ModelKind)k);
            if (!family_has_key(o, keys[i])) continue;
            size_t len = strlen(takes);
            snprintf(takes + len, sizeof takes - len, "%s%s", len ? ", " : "", o->name);
        }
        return cfg_fail(c, kp, "model.%s: applies to %s models only; preset %s is a %s model%s", keys[i], takes, r->model_preset,
                        fam->name, fam->keys && fam->keys[0] ? "" : " and is used with its own sizes");
    }
    KeyCtx kc = {c, &s};
    ModelKeyReader rd = {&kc, key_has, key_int, key_path, key_fail};
    if (fam->read_keys(&r->model, r->model_preset, have_preset, &rd, r->model_config, sizeof r->model_config) < 0) return -1;
    int got = rd_str(&s, "pretrained", 1, 1, r->pretrained, sizeof r->pretrained);
    if (got < 0) return -1;
    const Node *fs;
    got = sec_val(&s, "from_stage", 0, "a stage name", &fs);
    if (got < 0) return -1;
    *from_stage_given = got;
    if (got) {
        if (cfg_to_str(c, fs, "model.from_stage", r->pretrained_stage, sizeof r->pretrained_stage) < 0) return -1;
        if (r->pretrained[0]) return cfg_fail(c, fs->pos, "model.from_stage: cannot be combined with model.pretrained (%s)", r->pretrained);
    }
    r->new_head = r->pretrained[0] || r->pretrained_stage[0];   // fine-tuning starts from weights: a new head by default
    if (rd_bool(&s, "new_head", &r->new_head) < 0) return -1;
    r->init_seed = r->seed;
    if (rd_u64(&s, "init_seed", &r->init_seed) < 0) return -1;
    return 0;
}

// The text formats' own keys (core/data/tokenizer.h): tokenizer (default
// <path>/tokenizer.model, resolved here so the emitted YAML names the file),
// max_length, pad_id (an id or eos), text_key and label_key.
static int text_keys(Ctx *c, Sec *s, DataConfig *d) {
    int got = rd_str(s, "tokenizer", 1, 0, d->tokenizer, sizeof d->tokenizer);
    if (got < 0) return -1;
    if (!got && (size_t)snprintf(d->tokenizer, sizeof d->tokenizer, "%s/tokenizer.model", d->path) >= sizeof d->tokenizer)
        return cfg_fail(c, s->pos, "dataset.tokenizer: the default '%s/tokenizer.model' is too long (give dataset.tokenizer)", d->path);
    if (rd_int(s, "max_length", 1, DATA_MAX_LENGTH, &d->max_length) < 0) return -1;
    const Node *v;
    if ((got = sec_val(s, "pad_id", 1, "a token id or eos", &v)) < 0) return -1;
    if (got) {
        long id;
        if (v->kind == N_SCALAR && !strcmp(v->s, "eos")) d->pad_id = -1;
        else if (cfg_parse_long(v, &id) == -1) return cfg_type_error(c, v, "dataset.pad_id", "a token id or eos");
        else if (cfg_to_long(c, v, "dataset.pad_id", 0, TOKENIZER_MAX_VOCAB - 1, &id) < 0) return -1;
        else d->pad_id = (int)id;
    }
    if (rd_str(s, "text_key", 1, 0, d->text_key, sizeof d->text_key) < 0 || rd_str(s, "label_key", 1, 0, d->label_key, sizeof d->label_key) < 0)
        return -1;
    return 0;   // (an empty text_key or label_key is refused by rd_str)
}

int dataset_section(Ctx *c, const Node *tree, RunSpec *r) {
    Sec s;
    if (cfg_section(c, tree, "dataset", 1, &s) < 0 || cfg_check_keys(&s, dataset_keys, NK(dataset_keys)) < 0) return -1;
    DataConfig *d = &r->data;
    const char *fmts[DATA_NFORMATS];
    for (int i = 0; i < DATA_NFORMATS; i++) fmts[i] = data_format_name((DataFormat)i);
    int f = 0, got = rd_enum(&s, "format", 1, fmts, DATA_NFORMATS, &f);
    if (got < 0) return -1;
    if (!got) return cfg_fail(c, s.pos, "dataset: missing required key 'format' (one of fashion_mnist, mnist, cifar10, cifar100, pets, flowers102, cub200, isic2018, boolq, text_classification)");
    d->format = (DataFormat)f;
    Pos fpos = s.pos;
    cfg_key_pos(&s, "format", &fpos);
    if ((got = rd_str(&s, "path", 1, 0, d->path, sizeof d->path)) < 0) return -1;
    if (!got) {
        if (!data_format_default_path(d->format))
            return cfg_fail(c, fpos, "dataset: missing key 'path' (required for format %s; only fashion_mnist has a default)", data_format_name(d->format));
        snprintf(d->path, sizeof d->path, "%s", data_format_default_path(d->format));
    }
    d->split = SPLIT_TRAIN;
    d->seed = r->seed;
    const int text = data_format_is_text(d->format);
    Pos p;
    for (int k = 0; k < NK(image_only_keys); k++)
        if (text && cfg_key_pos(&s, image_only_keys[k], &p))
            return cfg_fail(c, p, "dataset.%s: an image setting, but format %s is text (its items are token ids; remove the key)",
                            image_only_keys[k], data_format_name(d->format));
    for (int k = 0; k < NK(text_only_keys); k++) {
        if (!text && cfg_key_pos(&s, text_only_keys[k], &p))
            return cfg_fail(c, p, "dataset.%s: a text setting, but format %s is an image format (remove the key)", text_only_keys[k],
                            data_format_name(d->format));
        if (k >= 3 && text && !data_format_keyed_text(d->format) && cfg_key_pos(&s, text_only_keys[k], &p))
            return cfg_fail(c, p, "dataset.%s: only for text_classification (boolq's fields are question, passage and label)", text_only_keys[k]);
    }
    if (text != model_config_is_text(&r->model))
        return cfg_fail(c, fpos, "dataset.format: %s is %s data but model %s (%s) reads %s", data_format_name(d->format),
                        text ? "text" : "image", r->model_preset, model_kind_name(r->model.kind), text ? "images" : "token sequences");
    // The data feeds the model: its size and channels are the model's.
    int m_size, m_channels, m_classes;
    model_config_io(&r->model, &m_size, &m_channels, &m_classes);
    d->image_size = m_size;
    d->channels = m_channels;
    int x;
    if ((got = rd_int(&s, "image_size", 1, 4096, &x)) < 0) return -1;
    if (got && x != m_size) {
        cfg_key_pos(&s, "image_size", &p);
        return cfg_fail(c, p, "dataset.image_size: %d differs from model.image_size %d (set the size under model:)", x, m_size);
    }
    if ((got = rd_int(&s, "channels", 1, 3, &x)) < 0) return -1;
    if (got && x != m_channels) {
        cfg_key_pos(&s, "channels", &p);
        return cfg_fail(c, p, "dataset.channels: %d differs from model.channels %d (set it under model:)", x, m_channels);
    }
    if (rd_bool(&s, "coarse_labels", &d->coarse_labels) < 0) return -1;
    if (d->coarse_labels && !data_format_has_coarse(d->format)) {
        cfg_key_pos(&s, "coarse_labels", &p);
        return cfg_fail(c, p, "dataset.coarse_labels: only cifar100 has coarse labels (format is %s)", data_format_name(d->format));
    }
    int K = data_format_classes(d->format, d->coarse_labels);
    const Node *cl;
    if ((got = sec_list(&s, "classes", 1, "a list of class ids or all", &cl)) < 0) return -1;
    if (got && !(cl->kind == N_SCALAR && !strcmp(cl->s, "all"))) {
        long ids[DATA_MAX_CLASSES];
        int n;
        if (cl->kind == N_SCALAR) return cfg_type_error(c, cl, "dataset.classes", "a list of class ids or all");
        // text_classification: the classes are known once train.jsonl is read (dataset_open checks them)
        if (list_longs(&s, "classes", cl, 1, DATA_MAX_CLASSES, 0, (K > 0 ? K : DATA_MAX_CLASSES) - 1, ids, &n) < 0) return -1;
        if (n < 2) return cfg_fail(c, cl->pos, "dataset.classes: one class (%ld) makes a one-class problem (list at least 2 classes, or all)", ids[0]);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < i; j++)
                if (ids[j] == ids[i]) return cfg_fail(c, cl->v[i]->pos, "dataset.classes: class %ld listed twice", ids[i]);
            d->classes[i] = (int)ids[i];
        }
        d->n_classes = n;
    }
    model_config_set_classes(&r->model, d->n_classes ? d->n_classes : K);
    // 0 would leave the val split, on which every run is evaluated, empty
    if (rd_num(&s, "val_fraction", (Range){0, 1, 1, 1}, &d->val_fraction) < 0) return -1;
    if (rd_u64(&s, "split_seed", &d->split_seed) < 0) return -1;
    // normalize: a preset name, or {mean: [...], std: [...]}
    const Node *nv = yaml_get(s.map, "normalize", NULL);
    if (nv && nv->kind == N_MAP) {
        Sec ns = {c, nv, "dataset.normalize", nv->pos};
        static const char *const nk[] = {"mean", "std"};
        if (cfg_check_keys(&ns, nk, 2) < 0) return -1;
        float *dst[2] = {d->mean, d->std};
        for (int k = 0; k < 2; k++) {
            const Node *l;
            if ((got = sec_list(&ns, nk[k], 1, "a list of numbers", &l)) < 0) return -1;
            if (!got) return cfg_fail(c, nv->pos, "dataset.normalize: missing key '%s' (give both mean and std, one value per channel)", nk[k]);
            double vals[3];
            int n;
            if (list_nums(&ns, nk[k], l, 1, 3, k ? R_POS : (Range){-INFINITY, INFINITY, 0, 0}, vals, &n) < 0) return -1;
            if (n != 1 && n != d->channels)
                return cfg_fail(c, l->pos, "dataset.normalize.%s: %d values for %d channel(s) (expected 1 or %d)", nk[k], n, d->channels, d->channels);
            for (int ch = 0; ch < 3; ch++) dst[k][ch] = ch < d->channels ? (float)vals[n == 1 ? 0 : ch] : 0.0f;
        }
        d->norm = NORM_EXPLICIT;
    } else {
        int nm;
        if ((got = rd_enum(&s, "normalize", 1, norm_names, NK(norm_names), &nm)) < 0) return -1;
        if (got) d->norm = (DataNorm)data_norm_parse(norm_names[nm]);
        cfg_key_pos(&s, "normalize", &p);
        if (d->norm == NORM_IMAGENET && d->channels != 3)
            return cfg_fail(c, p, "dataset.normalize: imagenet statistics are for 3 channels, the model has %d", d->channels);
        if (d->norm == NORM_DATASET && !data_format_has_stats(d->format, d->channels))
            return cfg_fail(c, p, "dataset.normalize: no per-dataset statistics for %s with %d channel(s) (use half, imagenet, none or {mean, std})",
                        data_format_name(d->format), d->channels);
    }
    int rs;
    if ((got = rd_enum(&s, "resize", 1, resize_names, NK(resize_names), &rs)) < 0) return -1;
    if (got) d->resize = (DataResize)rs;
    if ((got = rd_int(&s, "resize_size", 1, 8192, &d->resize_size)) < 0) return -1;
    cfg_key_pos(&s, "resize_size", &p);
    if (got && d->resize != RESIZE_SHORT_CROP)
        return cfg_fail(c, p, "dataset.resize_size: only applies to resize: short_crop (resize is %s)", resize_names[d->resize]);
    if (got && d->resize_size < d->image_size)
        return cfg_fail(c, p, "dataset.resize_size: %d is smaller than the image size %d", d->resize_size, d->image_size);
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
            return cfg_fail(c, l->pos, "dataset.%s: only applies to augment: crop_flip or random_resized_crop (augment is %s)", rk[k], augment_names[aug]);
        double vals[2];
        int n;
        if (list_nums(&s, rk[k], l, 2, 2, R_POS, vals, &n) < 0) return -1;
        if (vals[0] > vals[1] || (k == 0 && vals[1] > 1.0))
            return cfg_fail(c, l->pos, "dataset.%s: [%g, %g] is out of range (expected lo <= hi%s)", rk[k], vals[0], vals[1], k ? "" : " <= 1");
        rdst[k][0] = (float)vals[0];
        rdst[k][1] = (float)vals[1];
    }
    if (rd_bool(&s, "shuffle", &d->shuffle) < 0 || rd_bool(&s, "skip_corrupt", &d->skip_corrupt) < 0) return -1;
    int cache;
    if ((got = rd_enum(&s, "cache", 1, cache_names, NK(cache_names), &cache)) < 0) return -1;
    if (got) d->cache = (DataCache)cache;
    if (rd_int(&s, "limit_train", 0, INT_MAX, &r->limit_train) < 0 || rd_int(&s, "limit_val", 0, INT_MAX, &r->limit_val) < 0) return -1;
    if (rd_enum(&s, "eval_split", 1, eval_split_names, NK(eval_split_names), &r->eval_split) < 0) return -1;
    if (!text) return 0;
    if (text_keys(c, &s, d) < 0) return -1;
    model_config_set_seq_len(&r->model, d->max_length);   // the decoder's T is the data's length
    return 0;
}

int training_section(Ctx *c, const Node *tree, RunSpec *r, RunAux *x) {
    Sec s;
    if (cfg_section(c, tree, "training", 1, &s) < 0 || cfg_check_keys(&s, training_keys, NK(training_keys)) < 0) return -1;
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
        return cfg_fail(c, s.pos, "training: missing required key(s) %s", miss);
    }
    // torch defaults: SGD momentum 0, AdamW betas (0.9, 0.999), eps 1e-8, weight decay 0.01
    r->opt = opt == 0 ? optim_sgd(0.0f, 0.0f) : optim_adamw(0.9f, 0.999f, 1e-8f, 0.01f);
    static const char *const sgd_only[] = {"momentum", "dampening", "nesterov"};
    static const char *const adam_only[] = {"betas", "eps"};
    for (int i = 0; i < 3; i++) {
        Pos p;
        if (opt != 0 && cfg_key_pos(&s, sgd_only[i], &p)) return cfg_fail(c, p, "training.%s: an sgd setting, but optimizer is adamw", sgd_only[i]);
        if (i < 2 && opt != 1 && cfg_key_pos(&s, adam_only[i], &p)) return cfg_fail(c, p, "training.%s: an adamw setting, but optimizer is sgd", adam_only[i]);
    }
    if (rd_num(&s, "momentum", (Range){0, 1, 0, 1}, &r->opt.momentum) < 0) return -1;
    if (rd_num(&s, "dampening", (Range){0, 1, 0, 0}, &r->opt.dampening) < 0) return -1;
    if (rd_bool(&s, "nesterov", &r->opt.nesterov) < 0) return -1;
    if (r->opt.nesterov && (r->opt.momentum <= 0.0f || r->opt.dampening != 0.0f)) {
        Pos p;
        cfg_key_pos(&s, "nesterov", &p);
        return cfg_fail(c, p, "training.nesterov: needs momentum > 0 and dampening 0 (as torch.optim.SGD)");
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
        cfg_key_pos(&s, "warmup_epochs", &p);
        return cfg_fail(c, p, "training.warmup_epochs: %g is more than training.epochs %d", (double)r->warmup_epochs, r->epochs);
    }
    r->sched.warmup_start = 1.0f / 3.0f;   // torch LinearLR's default start_factor
    if (rd_num(&s, "warmup_start", R_UNIT, &r->sched.warmup_start) < 0) return -1;
    float eta = 0, ratio = 0.1f;   // the paper: eta_min = 0.1 lr
    int ga, gr;
    if ((ga = rd_num(&s, "eta_min", R_NONNEG, &eta)) < 0 || (gr = rd_num(&s, "eta_min_ratio", (Range){0, 1, 0, 0}, &ratio)) < 0) return -1;
    if (ga && gr) {
        cfg_key_pos(&s, "eta_min_ratio", &p);
        return cfg_fail(c, p, "training.eta_min_ratio: give eta_min or eta_min_ratio, not both");
    }
    if ((ga || gr) && !r->sched.cosine) {
        cfg_key_pos(&s, ga ? "eta_min" : "eta_min_ratio", &p);
        return cfg_fail(c, p, "training.%s: only applies to schedule: cosine", ga ? "eta_min" : "eta_min_ratio");
    }
    if (ga && eta > lr) {
        cfg_key_pos(&s, "eta_min", &p);
        return cfg_fail(c, p, "training.eta_min: %g is more than training.lr %g", (double)eta, (double)lr);
    }
    x->eta_abs = ga;
    r->eta_min_ratio = ga ? eta / lr : ratio;
    r->sched.eta_min = ga ? eta : ratio * lr;
    const Node *gc;
    if ((got = sec_val(&s, "grad_clip", 1, "a number or none", &gc)) < 0) return -1;
    if (got && !cfg_is_null(gc)) {
        double v;
        if (cfg_to_num(c, gc, "training.grad_clip", R_POS, &v) < 0) return -1;
        r->grad_clip = (float)v;
    }
    if (rd_long(&s, "max_steps", 0, LONG_MAX, &r->max_steps) < 0) return -1;
    if (rd_int(&s, "eval_every", 1, 1000000, &r->eval_every) < 0) return -1;
    // the stable-subspace log (core/compress/subspace_track.h)
    if (rd_bool(&s, "log_subspace", &r->log_subspace) < 0) return -1;
    if (rd_num(&s, "subspace_epsilon", R_UNIT, &r->subspace_epsilon) < 0) return -1;
    // the activation spectrum per mode at the starting weights (core/compress/act_spectrum.h)
    if (rd_bool(&s, "log_spectrum", &r->log_spectrum) < 0) return -1;
    return 0;
}

// Stage-level settings that are not sections: layers and num_of_finetune.
int layer_settings(Ctx *c, const Node *tree, RunSpec *r) {
    Sec s = {c, tree, "", tree->pos};
    int lay = 0;
    if (rd_enum(&s, "layers", 1, layers_names, NK(layers_names), &lay) < 0) return -1;
    r->all_linear = lay;
    Pos lp;
    if (lay == 2 && !(model_family(r->model.kind)->flags & MODEL_LAYERS_ATTENTION) && cfg_key_pos(&s, "layers", &lp))
        return cfg_fail(c, lp, "layers: attention (q, k, v, o only) is for the Llama decoder; a %s model takes mlp or all_linear",
                        model_kind_name(r->model.kind));
    const Node *v;
    int got = sec_val(&s, "num_of_finetune", 1, "all or an integer", &v);
    if (got < 0) return -1;
    r->num_finetune = -1;
    if (got && !(v->kind == N_SCALAR && !strcmp(v->s, "all"))) {
        long counted = counted_linears(r), n;
        long x;
        if (cfg_parse_long(v, &x) == -1) return cfg_type_error(c, v, "num_of_finetune", "all or an integer");
        if (cfg_to_long(c, v, "num_of_finetune", 0, counted, &n) < 0) return -1;
        r->num_finetune = (int)n;
    }
    return 0;
}

// memory: the cap on a run's planned peak (experiments/maxbatch.h) and the
// approximate saving of the shared layers (gelu_f16, softmax_f16: the model
// keeps the GELU derivative / attention probabilities as float16) and the
// exact recomputation of each block's forward in backward (recompute).
static const char *const memory_keys[] = {"cap", "gelu_f16", "softmax_f16", "recompute"};
static int memory_flags(Ctx *c, Sec *s, RunSpec *r) {
    const char *keys[MODEL_MEM_NOPTS] = {"gelu_f16", "softmax_f16", "recompute"};   // MODEL_MEM_* order
    const ModelFamily *fam = model_family(r->model.kind);
    for (int i = 0; i < MODEL_MEM_NOPTS; i++) {
        const Node *v;
        int got = sec_val(s, keys[i], 1, "true or false", &v), on = 0;
        if (got < 0) return -1;
        if (got && cfg_to_bool(c, v, keys[i], &on) < 0) return -1;
        int *field = fam->memory_option ? fam->memory_option(&r->model, i) : NULL;
        if (on && !field) return cfg_fail(c, v->pos, "memory.%s: only the ViT and Swin models support it so far (not %s models)", keys[i], fam->name);
        if (field) *field = on;
    }
    return 0;
}

int memory_section(Ctx *c, const Node *tree, RunSpec *r) {
    Sec s;
    if (cfg_section(c, tree, "memory", 0, &s) < 0) return -1;
    if (!s.map) return 0;
    if (cfg_check_keys(&s, memory_keys, NK(memory_keys)) < 0) return -1;
    if (memory_flags(c, &s, r) < 0) return -1;
    const Node *v;
    int got = sec_val(&s, "cap", 1, "a size such as 2GiB, 512MB, 1.5G or bytes, or none", &v);
    if (got <= 0 || cfg_is_null(v)) return got;
    if (v->kind != N_SCALAR || mem_parse_size(v->s, &r->mem_cap) < 0) {
        char b1[96];
        return cfg_fail(c, v->pos, "memory.cap: expected a size > 0 such as 2GiB, 512MB, 1.5G (K/M/G/T and KiB..TiB: powers of "
                        "1024; KB..TB: of 1000) or a number of bytes, or none; got %s", cfg_shown(v, b1, sizeof b1));
    }
    return 0;
}

// The keys an entry of method m may hold, from its declaration: "name", then
// each key (an activation key not nested stands for its own keys).
#define MAX_MKEYS 24
static int entry_keys(const LinearMethod *m, const char **out) {
    int n = 0;
    out[n++] = "name";
    for (int i = 0; i < m->n_keys && n < MAX_MKEYS - 4; i++) {
        const MethodKey *k = &m->keys[i];
        if (k->type != MKEY_ACT || k->nested) { out[n++] = k->key; continue; }
        out[n++] = "ranks";
        if (k->act_epsilon) out[n++] = "epsilon";
        out[n++] = "budget_mb";
        out[n++] = "candidates";
    }
    return n;
}

static const MethodKey *nested_act_key(const LinearMethod *m) {
    for (int i = 0; i < m->n_keys; i++)
        if (m->keys[i].type == MKEY_ACT && m->keys[i].nested) return &m->keys[i];
    return NULL;
}

// Keys of a method entry: unknown ones, and ones of another method (named).
int check_method_keys(Ctx *c, const Node *e, const LinearMethod *m, const char *sect) {
    const char *valid[MAX_MKEYS], *other[MAX_MKEYS];
    int nvalid = entry_keys(m, valid);
    for (int i = 0; i < e->n; i++) {
        const char *k = e->k[i];
        int ok = 0;
        for (int j = 0; j < nvalid && !ok; j++) ok = !strcmp(k, valid[j]);
        if (ok) continue;
        char owners[80] = "", list[200], hint[96] = "";
        for (int o = 0; o < method_count(); o++) {
            int no = entry_keys(method_at(o), other);
            for (int j = 1; j < no; j++)
                if (!strcmp(k, other[j])) {
                    size_t len = strlen(owners);
                    snprintf(owners + len, sizeof owners - len, "%s%s", len ? ", " : "", method_at(o)->name);
                }
        }
        cfg_join_names(list, sizeof list, valid, nvalid);
        const MethodKey *act = nested_act_key(m);
        if (act && (!strcmp(k, "ranks") || !strcmp(k, "budget_mb") || !strcmp(k, "candidates")))
            snprintf(hint, sizeof hint, " (for %s put it under %s:)", m->name, act->key);
        if (owners[0])
            return cfg_fail(c, e->kpos[i], "key '%s' in %s belongs to %s, not %s; valid keys for %s: %s%s", k, sect, owners, m->name,
                        m->name, list, hint);
        return cfg_fail(c, e->kpos[i], "unknown key '%s' in %s; valid keys: %s", k, sect, list);
    }
    return 0;
}

int cfg_method_name(Ctx *c, const Node *e, int idx, int *m) {
    char path[64];
    snprintf(path, sizeof path, "methods[%d]", idx);
    const Node *nv = e;
    if (e->kind == N_MAP) {
        nv = yaml_get(e, "name", NULL);
        if (!nv) return cfg_fail(c, e->pos, "%s: missing key 'name' (one of %s)", path, method_names());
        snprintf(path, sizeof path, "methods[%d].name", idx);
        if (nv->kind == N_SEQ) return cfg_fail(c, nv->pos, "%s: expected one method name, got a list (give each method its own entry)", path);
    } else if (e->kind == N_SEQ) {
        return cfg_fail(c, e->pos, "%s: expected a mapping (name: ..., settings), got a list", path);
    }
    const char *names[64];
    int n = method_count() < 64 ? method_count() : 64;
    for (int i = 0; i < n; i++) names[i] = method_at(i)->name;
    return cfg_to_enum(c, nv, path, names, n, m);
}

// Activation ranks of asi / wasi: [k1, k2, k3] (ViT) checked against the run.
static int act_ranks(Sec *s, const char *key, const Node *l, RunSpec *r) {
    long k[4];
    int n;
    char path[160];
    cfg_key_path(path, sizeof path, s, key);
    if (l->kind != N_SEQ) return cfg_type_error(s->c, l, path, "a list of ranks [k1, k2, k3]");
    if (list_longs(s, key, l, 3, 4, 1, 1000000, k, &n) < 0) return -1;
    int modes = model_config_act_modes(&r->model);
    const ModelFamily *fam = model_family(r->model.kind);
    if (n != modes)
        return cfg_fail(s->c, l->pos, "%s: %d ranks given, but %s activations have %d modes (%s): give %d ranks", path, n,
                    fam->name, modes, fam->act_modes_names, modes);
    long lim[4];
    const char *what[4];
    fam->act_rank_limits(&r->model, r->batch_size, lim, what);   // 0: clipped to the mode's size (sizes vary by stage)
    for (int i = 0; i < modes; i++) {
        if (lim[i] > 0 && k[i] > lim[i]) return cfg_fail(s->c, l->v[i]->pos, "%s: %ld is out of range (%s, %ld)", path, k[i], what[i], lim[i]);
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
            cfg_key_path(path, sizeof path, s, key);
            return cfg_fail(s->c, l->v[i]->pos, "%s: expected increasing values (%g after %g)", path, v[i], v[i - 1]);
        }
    for (int i = 0; i < n; i++) r->candidates[i] = (float)v[i];
    r->n_candidates = n;
    return 0;
}

// The activation ranks of a method (its MKEY_ACT key): fixed ranks, energy
// per mode, or the DP under a budget. Returns 1 when the entry sets its own
// budget, 0, or -1.
static int act_section(Ctx *c, const Node *e, int idx, Sec *s, const MethodKey *k, RunSpec *r, RunAux *x) {
    Sec a = *s;   // where the activation keys live: the entry, or under k->key
    if (k->nested) {
        const Node *av = yaml_get(s->map, k->key, NULL);
        char asect[96];
        snprintf(asect, sizeof asect, "methods[%d].%s", idx, k->key);
        a = (Sec){c, NULL, ar_strdup(&c->A, asect), e->pos};
        if (av) {
            if (av->kind != N_MAP)
                return cfg_fail(c, av->pos, "%s: expected a mapping ({ranks: [k1, k2, k3]}, {epsilon: x} or {budget_mb: x, candidates: [...]}), got %s",
                            asect, yaml_kind_name(av));
            a.map = av;
            a.pos = av->pos;
            if (cfg_check_keys(&a, activation_keys, NK(activation_keys)) < 0) return -1;
        }
    }
    MethodConfig *mc = &r->mcfg;
    const Node *rl, *cl, *bv;
    int gr, ge = 0, gb, gc, own_budget = 0;
    if ((gr = sec_list(&a, "ranks", 1, "a list of ranks [k1, k2, k3]", &rl)) < 0) return -1;
    if (k->act_epsilon && (ge = rd_num(&a, "epsilon", R_UNIT, &mc->act_epsilon)) < 0) return -1;
    if ((gb = sec_val(&a, "budget_mb", 1, "a number (MB)", &bv)) < 0) return -1;
    if ((gc = sec_list(&a, "candidates", 1, "a list of candidate epsilons", &cl)) < 0) return -1;
    if (gr + ge + (gb || gc) > 1) {
        Pos p = a.pos;
        const char *second = ge && gr ? "epsilon" : gb ? "budget_mb" : "candidates";
        cfg_key_pos(&a, second, &p);
        return cfg_fail(c, p, "%s: give one of ranks, epsilon, or budget_mb/candidates ('%s' conflicts)", a.name, second);
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
            cfg_key_path(bpath, sizeof bpath, &a, "budget_mb");
            if (cfg_to_num(c, bv, bpath, R_POS, &b) < 0) return -1;
            r->budget_mb = (float)b;
            own_budget = 1;
            x->budget_src = 2;
        }
    }
    char k1[40], k2[40], k3[40];
    const char *pre = k->nested ? k->key : "", *dot = k->nested ? "." : "";
    snprintf(k1, sizeof k1, "%s%sranks", pre, dot);
    snprintf(k2, sizeof k2, "%s%scandidates", pre, dot);
    snprintf(k3, sizeof k3, "%s%sepsilon", pre, dot);
    tok_key(&a, ar_strdup(&c->A, k1), "ranks");
    if (k->act_epsilon) tok_key(&a, ar_strdup(&c->A, k3), "epsilon");
    tok_key(&a, ar_strdup(&c->A, k2), "candidates");
    return own_budget;
}

// One declared key (not MKEY_ACT) into its MethodConfig field: 1 given, 0 absent, -1 error.
static int method_key(Sec *s, const MethodKey *k, MethodConfig *mc) {
    char *f = (char *)mc + k->field;
    int iv, got;
    float fv;
    switch (k->type) {
    case MKEY_INT:
        if ((got = rd_int(s, k->key, (long)k->lo, (long)k->hi, &iv)) == 1) memcpy(f, &iv, sizeof iv);
        return got;
    case MKEY_NUM:
        if ((got = rd_num(s, k->key, (Range){k->lo, k->hi, k->lo_open, 0}, &fv)) == 1) memcpy(f, &fv, sizeof fv);
        return got;
    case MKEY_ENUM:
        if ((got = rd_enum(s, k->key, 1, k->names, k->n_names, &iv)) == 1) memcpy(f, &iv, sizeof iv);
        return got;
    default: return 0;
    }
}

// A method entry read through the method's declared keys, in their order.
// Returns 1 when the entry sets its own budget (then the top-level budget does not apply).
int method_section(Ctx *c, const Node *e, int idx, RunSpec *r, RunAux *x) {
    int mi;
    if (cfg_method_name(c, e, idx, &mi) < 0) return -1;
    const LinearMethod *m = method_at(mi);
    char sect[64], path[32];
    snprintf(sect, sizeof sect, "methods[%d] (%s)", idx, m->name);
    snprintf(path, sizeof path, "methods[%d]", idx);
    Sec s = {c, e->kind == N_MAP ? e : NULL, ar_strdup(&c->A, path), e->pos};
    if (s.map && check_method_keys(c, e, m, sect) < 0) return -1;
    snprintf(r->method, sizeof r->method, "%s", m->name);
    x->entry = e;
    tok_add(c, "method", m->name, 1);
    MethodConfig *mc = &r->mcfg;
    mc->seed = r->seed;
    int own_budget = 0, got;
    for (int i = 0; i < m->n_keys; i++) {   // values first: a default may follow another key
        const MethodKey *k = &m->keys[i];
        if (k->type == MKEY_ACT) continue;
        if ((got = method_key(&s, k, mc)) < 0) return -1;
        if (!got && k->required)
            return k->missing_hint ? cfg_fail(c, e->pos, "%s: missing required key '%s' (%s)", sect, k->key, k->missing_hint)
                                   : cfg_fail(c, e->pos, "%s: missing required key '%s'", sect, k->key);
        if (!got && k->default_key) {
            const MethodKey *d = NULL;
            for (int j = 0; j < m->n_keys; j++)
                if (!strcmp(m->keys[j].key, k->default_key)) d = &m->keys[j];
            CHECK(d && d->type != MKEY_ACT, "%s: key %s defaults to undeclared key %s", m->name, k->key, k->default_key);
            int dv;
            float fv;
            char *f = (char *)mc + k->field, *g = (char *)mc + d->field;
            if (d->type == MKEY_NUM) memcpy(&fv, g, sizeof fv);
            else { memcpy(&dv, g, sizeof dv); fv = (float)dv; }
            if (k->type == MKEY_NUM) memcpy(f, &fv, sizeof fv);
            else { dv = (int)fv; memcpy(f, &dv, sizeof dv); }
        } else if (!got) {   // the default (the entry may follow another one's values)
            int dv = k->type == MKEY_ENUM ? 0 : (int)k->def;
            float fv = (float)k->def;
            if (k->type == MKEY_NUM) memcpy((char *)mc + k->field, &fv, sizeof fv);
            else memcpy((char *)mc + k->field, &dv, sizeof dv);
        }
    }
    if (m->check) {
        const char *bad = NULL;
        char msg[320];
        if (m->check(mc, &r->opt, &bad, msg, sizeof msg) < 0) {
            Pos p = e->pos;
            cfg_key_pos(&s, bad, &p);
            return cfg_fail(c, p, "%s.%s: %s", sect, bad, msg);
        }
    }
    for (int i = 0; i < m->n_keys; i++)
        if (m->keys[i].type != MKEY_ACT) tok_key(&s, m->keys[i].key, m->keys[i].key);
    for (int i = 0; i < m->n_keys; i++)
        if (m->keys[i].type == MKEY_ACT && (own_budget = act_section(c, e, idx, &s, &m->keys[i], r, x)) < 0) return -1;
    return own_budget;
}

