// dataset.c: the loader interface of dataset.h: config checks, the
// train/val split and class filtering shared by every format, the decoded
// image cache, batch assembly (parallel over the items of a batch, one
// scratch set per thread; text: the stored token ids as floats) and the
// epoch order.
#include "core/data/dataset.h"
#include "core/runtime/counters.h"
#include "core/data/formats.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------
// names

static const char *split_names[] = {"train", "val", "test"};
static const char *norm_names[] = {"half", "imagenet", "dataset", "explicit", "none"};
static const char *resize_names[] = {"squash", "short_crop"};
static const char *cache_names[] = {"auto", "off", "on"};

static int lookup(const char *s, const char **names, int n) {
    for (int k = 0; s && k < n; k++) if (!strcmp(s, names[k])) return k;
    return -1;
}
// The formats: one row each (DataFormat order), the facts the loader and the
// config ask of a format, and its reader (core/data/formats.h).
typedef struct {
    const char *name;
    const char *layout;            // what it expects under dataset.path, for "not found" messages
    int train_records;             // of the official training set, as published (0: any file)
    int classes, coarse_classes;   // 0: from the labels (text_classification); coarse: CIFAR-100's 20
    int text;                      // token ids through a tokenizer, not images
    int keyed;                     // text: reads dataset.text_key / label_key (else fixed fields)
    const char *default_path;      // dataset.path when none is given (NULL: required)
    int stats_channels;            // normalize: dataset has statistics for this many channels (0: none;
    float mean[3], std[3];         //   1: the gray value applies to every channel)
    int (*index)(DataSource *src, const DataConfig *cfg, const char *dir, WbError *err);
    // held in memory: the kept records' pixels (NULL: images read per item, or text: text_load)
    int (*load)(DataSource *src, const DataConfig *cfg, const char *dir, const int *keep, int nkeep, WbError *err);
} FormatRow;

static const FormatRow formats[DATA_NFORMATS] = {
    [DATA_FASHION_MNIST] = {"fashion_mnist", "{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]", 60000, 10, 0, 0, 0,
                            FASHION_MNIST_DEFAULT_PATH, 1, {0.2860f}, {0.3530f}, idx_index, idx_load},
    [DATA_MNIST] = {"mnist", "{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]", 60000, 10, 0, 0, 0, NULL, 1, {0.1307f},
                    {0.3081f}, idx_index, idx_load},
    [DATA_CIFAR10] = {"cifar10", "data_batch_1.bin .. data_batch_5.bin and test_batch.bin", 50000, 10, 0, 0, 0, NULL, 3,
                      {0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}, cifar_index, cifar_load},
    [DATA_CIFAR100] = {"cifar100", "train.bin and test.bin", 50000, 100, 20, 0, 0, NULL, 3, {0.5071f, 0.4865f, 0.4409f},
                       {0.2673f, 0.2564f, 0.2762f}, cifar_index, cifar_load},
    [DATA_PETS] = {"pets", "images/ and annotations/{trainval,test}.txt", 3680, 37, 0, 0, 0, NULL, 0, {0}, {0}, pets_index, NULL},
    [DATA_FLOWERS102] = {"flowers102", "jpg/, imagelabels.txt, trnid.txt, valid.txt, tstid.txt", 2040, 102, 0, 0, 0, NULL, 0, {0},
                         {0}, flowers_index, NULL},
    [DATA_CUB200] = {"cub200", "images/, images.txt, image_class_labels.txt, train_test_split.txt", 5994, 200, 0, 0, 0, NULL, 0,
                     {0}, {0}, cub_index, NULL},
    [DATA_ISIC2018] = {"isic2018", "ISIC2018_Task3_{Training,Test}_GroundTruth.csv and ISIC2018_Task3_{Training,Test}_Input/", 10015,
                       7, 0, 0, 0, NULL, 0, {0}, {0}, isic_index, NULL},
    [DATA_BOOLQ] = {"boolq", "train.jsonl and val.jsonl (SuperGLUE BoolQ) and the tokenizer.model", 9427, 2, 0, 1, 0, NULL, 0, {0},
                    {0}, boolq_index, NULL},
    [DATA_TEXT_CLASSIFICATION] = {"text_classification",
                                  "train.jsonl and test.jsonl (one {text, label} object per line) and the tokenizer.model", 0, 0, 0,
                                  1, 1, NULL, 0, {0}, {0}, textcls_index, NULL},
};

static const FormatRow *row(DataFormat f) { return f >= 0 && f < DATA_NFORMATS ? &formats[f] : NULL; }

const char *data_format_name(DataFormat f) { return row(f) ? row(f)->name : "?"; }
static const char *layout_of(DataFormat f) { return row(f) ? row(f)->layout : "?"; }
int data_format_train_records(DataFormat f) { return row(f) ? row(f)->train_records : 0; }
int data_format_classes(DataFormat f, int coarse) {
    if (!row(f)) return 0;
    return coarse && row(f)->coarse_classes ? row(f)->coarse_classes : row(f)->classes;
}
int data_format_has_coarse(DataFormat f) { return row(f) && row(f)->coarse_classes > 0; }
int data_format_is_text(DataFormat f) { return row(f) && row(f)->text; }
int data_format_keyed_text(DataFormat f) { return row(f) && row(f)->keyed; }
const char *data_format_default_path(DataFormat f) { return row(f) ? row(f)->default_path : NULL; }
int data_format_has_stats(DataFormat f, int channels) {
    return row(f) && row(f)->stats_channels > 0 && (row(f)->stats_channels == 1 || row(f)->stats_channels == channels);
}
int data_format_parse(const char *s) {
    for (int k = 0; s && k < DATA_NFORMATS; k++)
        if (!strcmp(s, formats[k].name)) return k;
    return -1;
}
const char *data_split_name(DataSplit s) { return s >= 0 && s <= SPLIT_TEST ? split_names[s] : "?"; }
const char *data_norm_name(DataNorm n) { return n >= 0 && n <= NORM_NONE ? norm_names[n] : "?"; }
const char *data_resize_name(DataResize r) { return r >= 0 && r <= RESIZE_SHORT_CROP ? resize_names[r] : "?"; }
const char *data_cache_name(DataCache c) { return c >= 0 && c <= CACHE_ON ? cache_names[c] : "?"; }
int data_split_parse(const char *s) { return lookup(s, split_names, 3); }
int data_norm_parse(const char *s) { return lookup(s, norm_names, 5); }
int data_resize_parse(const char *s) { return lookup(s, resize_names, 2); }
int data_cache_parse(const char *s) { return lookup(s, cache_names, 3); }

void data_config_default(DataConfig *c) {
    memset(c, 0, sizeof *c);
    c->format = DATA_FASHION_MNIST;
    c->split = SPLIT_TRAIN;
    c->image_size = 32;
    c->channels = 3;
    c->val_fraction = 0.2f;
    c->split_seed = 233;
    c->norm = NORM_HALF;
    c->resize = RESIZE_SQUASH;
    c->rrc_scale[0] = 0.08f; c->rrc_scale[1] = 1.0f;
    c->rrc_ratio[0] = 3.0f / 4.0f; c->rrc_ratio[1] = 4.0f / 3.0f;
    c->shuffle = 1;
    c->cache = CACHE_AUTO;
    c->max_length = 128;
    c->pad_id = -1;
    snprintf(c->text_key, sizeof c->text_key, "text");
    snprintf(c->label_key, sizeof c->label_key, "label");
}

static int in_memory(DataFormat f) { return row(f) && (row(f)->load || row(f)->text); }

// ---------------------------------------------------------------------------
// config

// The settings every format shares: classes, split.
static int check_common(const DataConfig *c, WbError *err) {
    if (c->split < SPLIT_TRAIN || c->split > SPLIT_TEST) return wb_error(err, "dataset.split: %d (expected train, val or test)", (int)c->split);
    if (c->n_classes < 0 || c->n_classes > DATA_MAX_CLASSES)
        return wb_error(err, "dataset.classes: %d classes listed (expected at most %d)", c->n_classes, DATA_MAX_CLASSES);
    for (int a = 0; a < c->n_classes; a++)
        for (int b = 0; b < a; b++)
            if (c->classes[a] == c->classes[b]) return wb_error(err, "dataset.classes: class %d listed twice (positions %d and %d)", c->classes[a], b, a);
    if (!(c->val_fraction >= 0.0f && c->val_fraction < 1.0f))
        return wb_error(err, "dataset.val_fraction: %g (expected 0 <= fraction < 1)", (double)c->val_fraction);
    if (c->split == SPLIT_VAL && c->val_fraction == 0.0f)
        return wb_error(err, "dataset.split: val is empty with dataset.val_fraction 0 (expected a fraction > 0, e.g. 0.2)");
    return 0;
}

// Text formats: the image fields are ignored (the config reader rejects them).
static int check_text_config(const DataConfig *c, WbError *err) {
    if (c->max_length < 1 || c->max_length > DATA_MAX_LENGTH)
        return wb_error(err, "dataset.max_length: %d (expected 1..%d token ids per item)", c->max_length, DATA_MAX_LENGTH);
    if (c->pad_id < -1) return wb_error(err, "dataset.pad_id: %d (expected a token id >= 0, or -1 for the tokenizer's eos)", c->pad_id);
    if (c->format == DATA_TEXT_CLASSIFICATION && (!c->text_key[0] || !c->label_key[0]))
        return wb_error(err, "dataset.%s: empty (expected the name of a JSON field)", c->text_key[0] ? "label_key" : "text_key");
    return check_common(c, err);
}

static int check_config(const DataConfig *c, WbError *err) {
    if (c->format < 0 || c->format >= DATA_NFORMATS) return wb_error(err, "dataset.format: %d is not a known format", (int)c->format);
    if (data_format_is_text(c->format)) return check_text_config(c, err);
    if (check_common(c, err) < 0) return -1;
    if (c->image_size < 1 || c->image_size > 4096) return wb_error(err, "dataset.image_size: %d (expected 1..4096)", c->image_size);
    if (c->channels != 1 && c->channels != 3) return wb_error(err, "dataset.channels: %d (expected 1 or 3)", c->channels);
    if (c->norm < NORM_HALF || c->norm > NORM_NONE) return wb_error(err, "dataset.norm: %d (expected half, imagenet, dataset, explicit or none)", (int)c->norm);
    if (c->norm == NORM_EXPLICIT)
        for (int k = 0; k < c->channels; k++)
            if (!(c->std[k] > 0.0f)) return wb_error(err, "dataset.std: entry %d is %g (expected > 0 for each of %d channels)", k, (double)c->std[k], c->channels);
    if (c->resize != RESIZE_SQUASH && c->resize != RESIZE_SHORT_CROP) return wb_error(err, "dataset.resize: %d (expected squash or short_crop)", (int)c->resize);
    if (c->resize == RESIZE_SHORT_CROP && c->resize_size != 0 && c->resize_size < c->image_size)
        return wb_error(err, "dataset.resize_size: %d is smaller than dataset.image_size %d (expected >= image_size, or 0 for image_size)",
                        c->resize_size, c->image_size);
    if (c->random_resized_crop &&
        !(c->rrc_scale[0] > 0.0f && c->rrc_scale[0] <= c->rrc_scale[1] && c->rrc_scale[1] <= 1.0f))
        return wb_error(err, "dataset.rrc_scale: (%g, %g) (expected 0 < lo <= hi <= 1)", (double)c->rrc_scale[0], (double)c->rrc_scale[1]);
    if (c->random_resized_crop && !(c->rrc_ratio[0] > 0.0f && c->rrc_ratio[0] <= c->rrc_ratio[1]))
        return wb_error(err, "dataset.rrc_ratio: (%g, %g) (expected 0 < lo <= hi)", (double)c->rrc_ratio[0], (double)c->rrc_ratio[1]);
    if (c->cache < CACHE_AUTO || c->cache > CACHE_ON) return wb_error(err, "dataset.cache: %d (expected auto, off or on)", (int)c->cache);
    if (c->coarse_labels && c->format != DATA_CIFAR100) return wb_error(err, "dataset.coarse_labels: only CIFAR-100 has coarse labels (format is %s)", data_format_name(c->format));
    return 0;
}

// Fill cfg->mean/std for the preset (Cout entries).
static int resolve_norm(DataConfig *c, WbError *err) {
    if (data_format_is_text(c->format)) return 0;
    static const float imnet_m[3] = {0.485f, 0.456f, 0.406f}, imnet_s[3] = {0.229f, 0.224f, 0.225f};
    int C = c->channels;
    switch (c->norm) {
    case NORM_HALF: for (int k = 0; k < 3; k++) { c->mean[k] = 0.5f; c->std[k] = 0.5f; } return 0;
    case NORM_NONE: for (int k = 0; k < 3; k++) { c->mean[k] = 0.0f; c->std[k] = 1.0f; } return 0;
    case NORM_EXPLICIT: return 0;
    case NORM_IMAGENET:
        if (C != 3) return wb_error(err, "dataset.norm: imagenet statistics are for 3 channels but dataset.channels is %d (use half, dataset, explicit or none)", C);
        memcpy(c->mean, imnet_m, sizeof imnet_m); memcpy(c->std, imnet_s, sizeof imnet_s);
        return 0;
    case NORM_DATASET:
        if (data_format_has_stats(c->format, C)) {
            const FormatRow *f = row(c->format);
            for (int k = 0; k < 3; k++) {
                c->mean[k] = f->mean[f->stats_channels == 1 ? 0 : k];
                c->std[k] = f->std[f->stats_channels == 1 ? 0 : k];
            }
            return 0;
        }
        return wb_error(err, "dataset.norm: no per-dataset statistics for %s with %d channel(s) (use imagenet, half, explicit or none)",
                        data_format_name(c->format), C);
    }
    return wb_error(err, "dataset.norm: unknown preset %d", (int)c->norm);
}

// ---------------------------------------------------------------------------
// open / close

// Keep the kept records (ascending) of every per-record array.
static void compact_source(DataSource *s, const int *keep, int nkeep) {
    for (int k = 0; k < nkeep; k++) {
        s->labels[k] = s->labels[keep[k]];
        s->record[k] = s->record[keep[k]];
        if (s->file) s->file[k] = s->file[keep[k]];
        if (s->file_bytes) s->file_bytes[k] = s->file_bytes[keep[k]];
    }
    s->n = nkeep;
}

// Drop items with bad[i] set (at open: missing or corrupt files under skip_corrupt).
static void drop_bad(Dataset *ds) {
    int m = 0;
    for (int i = 0; i < ds->n; i++) {
        if (ds->bad[i]) { if (ds->cache) image_free(&ds->cache[i]); continue; }
        ds->labels[m] = ds->labels[i];
        ds->src.labels[m] = ds->src.labels[i];
        ds->src.record[m] = ds->src.record[i];
        ds->src.file[m] = ds->src.file[i];
        ds->src.file_bytes[m] = ds->src.file_bytes[i];
        if (ds->cache) ds->cache[m] = ds->cache[i];
        m++;
    }
    for (int i = 0; i < ds->n; i++) {
        ds->bad[i] = 0;
        if (ds->cache && i >= m) ds->cache[i] = (Image){0};
    }
    ds->src.n = ds->n = m;
}

static void warn_skip(const char *msg) { fprintf(stderr, "warning: dataset: skipping (skip_corrupt): %s\n", msg); }

static void scratch_alloc(Dataset *ds) {
    int nt = omp_get_max_threads();
    ds->n_threads = nt;
    ds->img = mem_alloc((size_t)nt * sizeof(Image), MEM_DATA);
    ds->buf = mem_alloc((size_t)nt * sizeof(ByteBuf), MEM_DATA);
    ds->tab = mem_alloc((size_t)nt * sizeof(void *), MEM_DATA);
    ds->terr = mem_alloc((size_t)nt * sizeof(WbError), MEM_DATA);
    ds->terr_slot = mem_alloc((size_t)nt * sizeof(int), MEM_DATA);
    for (int t = 0; t < nt; t++) ds->tab[t] = mem_alloc(IMAGE_TAB_BYTES(ds->cfg.image_size), MEM_DATA);
}

// Decode every item into the cache (parallel). Corrupt items: error, or marked bad.
static int fill_cache(Dataset *ds, WbError *err) {
    ds->cache = mem_alloc((size_t)ds->n * sizeof(Image), MEM_DATA);
    int nt = ds->n_threads, n = ds->n;
    for (int t = 0; t < nt; t++) ds->terr_slot[t] = -1;
    #pragma omp parallel for schedule(dynamic, 4) num_threads(nt)
    for (int i = 0; i < n; i++) {
        int t = omp_get_thread_num();
        WbError e;
        if (ds->bad[i]) continue;   // missing, already counted
        if (image_load(&ds->img[t], &ds->buf[t], source_file(&ds->src, i), &e) < 0) {
            if (ds->cfg.skip_corrupt) { ds->bad[i] = 2; warn_skip(e.msg); }
            else if (ds->terr_slot[t] < 0 || i < ds->terr_slot[t]) { ds->terr_slot[t] = i; ds->terr[t] = e; }
            continue;
        }
        Image *im = &ds->img[t], *c = &ds->cache[i];
        size_t bytes = (size_t)im->H * im->W * im->C;
        #pragma omp critical(wb_mem)
        c->px = mem_alloc(bytes, MEM_DATA);
        memcpy(c->px, im->px, bytes);
        c->H = im->H; c->W = im->W; c->C = im->C; c->cap = bytes;
    }
    int first = -1, ft = -1;
    for (int t = 0; t < nt; t++)
        if (ds->terr_slot[t] >= 0 && (first < 0 || ds->terr_slot[t] < first)) { first = ds->terr_slot[t]; ft = t; }
    if (first >= 0) return wb_error(err, "%s (item %d of the %s split; set dataset.skip_corrupt to drop such files)",
                                    ds->terr[ft].msg, first, data_split_name(ds->cfg.split));
    for (int i = 0; i < n; i++) if (ds->bad[i] == 2) { ds->bad[i] = 1; ds->n_skipped++; }
    return 0;
}

int dataset_open(Dataset *ds, const DataConfig *cfg_in, WbError *err) {
    memset(ds, 0, sizeof *ds);
    ds->cfg = *cfg_in;
    DataConfig *cfg = &ds->cfg;
    DataSource *src = &ds->src;
    int *keep = NULL, rc = -1;
    if (check_config(cfg, err) < 0 || resolve_norm(cfg, err) < 0) return -1;
    if (cfg->resize_size == 0) cfg->resize_size = cfg->image_size;
    if (!cfg->path[0]) {
        if (!data_format_default_path(cfg->format))
            return wb_error(err, "dataset.path: empty (expected the %s folder holding %s)", data_format_name(cfg->format), layout_of(cfg->format));
        snprintf(cfg->path, sizeof cfg->path, "%s", data_format_default_path(cfg->format));
    }
    if (!path_is_dir(cfg->path))
        return wb_error(err, "dataset.path: directory '%s' does not exist (expected the %s folder holding %s)",
                        cfg->path, data_format_name(cfg->format), layout_of(cfg->format));
    const int text = data_format_is_text(cfg->format);
    if (text && !cfg->tokenizer[0]) {
        if ((size_t)snprintf(cfg->tokenizer, sizeof cfg->tokenizer, "%s/tokenizer.model", cfg->path) >= sizeof cfg->tokenizer)
            return wb_error(err, "dataset.path: '%s' is too long for the default dataset.tokenizer (set dataset.tokenizer)", cfg->path);
    }

    // 1. the official split's records and labels
    const char *dir = cfg->path;
    rc = row(cfg->format) ? row(cfg->format)->index(src, cfg, dir, err)
                          : wb_error(err, "dataset.format: %d is not a known format", (int)cfg->format);
    if (rc < 0) goto fail;
    rc = -1;
    if (src->n == 0) { wb_error(err, "'%s': lists no records (expected the %s set of %s)", src->listing, cfg->split == SPLIT_TEST ? "test" : "training", data_format_name(cfg->format)); goto fail; }

    // 2. classes: raw id -> new label
    int K = src->num_classes, map[DATA_MAX_CLASSES];
    CHECK(K <= DATA_MAX_CLASSES, "%d classes", K);
    for (int c = 0; c < K; c++) map[c] = cfg->n_classes ? -1 : c;
    for (int k = 0; k < cfg->n_classes; k++) {
        int c = cfg->classes[k];
        if (c < 0 || c >= K) { wb_error(err, "dataset.classes: class %d out of range 0..%d (%s has %d classes)", c, K - 1, data_format_name(cfg->format), K); goto fail; }
        map[c] = k;
    }
    ds->num_classes = cfg->n_classes ? cfg->n_classes : K;

    // 3. train/val: a seeded permutation of the whole official training set,
    // the first round(f n) records are val; then the class filter. Kept
    // records stay in file order.
    int n = src->n, nkeep = 0;
    keep = mem_alloc((size_t)n * sizeof(int), MEM_DATA);
    uint8_t *in_val = mem_alloc((size_t)n, MEM_DATA);
    if (cfg->split != SPLIT_TEST && cfg->val_fraction > 0.0f) {
        Rng r;
        rng_seed(&r, cfg->split_seed);
        for (int i = 0; i < n; i++) keep[i] = i;
        rng_shuffle_int(&r, keep, n);
        int n_val = (int)((double)cfg->val_fraction * (double)n + 0.5);
        for (int i = 0; i < n_val; i++) in_val[keep[i]] = 1;
    }
    for (int i = 0; i < n; i++) {
        int want = cfg->split == SPLIT_VAL ? in_val[i] : cfg->split == SPLIT_TRAIN ? !in_val[i] : 1;
        if (want && map[src->labels[i]] >= 0) keep[nkeep++] = i;
    }
    mem_free(in_val);
    if (nkeep == 0) {
        char cls[256] = "all";
        if (cfg->n_classes) {
            int off = snprintf(cls, sizeof cls, "[");
            for (int k = 0; k < cfg->n_classes && off < 200; k++) off += snprintf(cls + off, sizeof cls - (size_t)off, "%s%d", k ? ", " : "", cfg->classes[k]);
            snprintf(cls + off, sizeof cls - (size_t)off, "]");
        }
        wb_error(err, "dataset.split: the %s split of %s is empty (%d records in '%s', dataset.classes %s, dataset.val_fraction %g)",
                 data_split_name(cfg->split), data_format_name(cfg->format), n, src->listing, cls, (double)cfg->val_fraction);
        goto fail;
    }

    // 4. pixels (or token ids) of the kept records (in-memory formats), then compaction
    if (row(cfg->format)->load) { if (row(cfg->format)->load(src, cfg, dir, keep, nkeep, err) < 0) goto fail; }
    else if (text) {
        if (text_load(src, cfg, keep, nkeep, err) < 0) goto fail;
        cfg->pad_id = src->pad_id;   // resolved: the tokenizer's eos unless set
    }
    if (!in_memory(cfg->format)) src->file_bytes = mem_alloc((size_t)n * sizeof(long long), MEM_DATA);
    compact_source(src, keep, nkeep);
    mem_free(keep); keep = NULL;
    ds->n = nkeep;
    ds->labels = mem_alloc((size_t)nkeep * sizeof(int), MEM_DATA);
    for (int i = 0; i < nkeep; i++) ds->labels[i] = map[src->labels[i]];
    ds->bad = mem_alloc((size_t)nkeep, MEM_DATA);
    if (!text) scratch_alloc(ds);   // text batches are copies: no per-thread scratch

    // 5. folders: every listed file must exist; optional cache
    if (!in_memory(cfg->format)) {
        long long total = 0;
        for (int i = 0; i < ds->n; i++) {
            const char *p = source_file(src, i);
            FILE *f = fopen(p, "rb");
            long long sz = -1;
            if (f) { if (fseek(f, 0, SEEK_END) == 0) sz = ftell(f); fclose(f); }
            if (sz < 0) {
                WbError e;
                wb_error(&e, "'%s': image not found or unreadable (listed at %s %d of '%s')", p, src->record_kind, src->record[i], src->listing);
                if (!cfg->skip_corrupt) { *err = e; goto fail; }
                ds->bad[i] = 1; ds->n_skipped++; warn_skip(e.msg);
                continue;
            }
            src->file_bytes[i] = sz;
            total += sz;
        }
        int use_cache = cfg->cache == CACHE_ON || (cfg->cache == CACHE_AUTO && total <= 32LL << 20);
        if (use_cache && fill_cache(ds, err) < 0) goto fail;
        drop_bad(ds);
        if (ds->n == 0) { wb_error(err, "dataset.split: every image of the %s split was skipped as corrupt or missing (%d skipped; listing '%s')", data_split_name(cfg->split), ds->n_skipped, src->listing); goto fail; }
    }
    return 0;
fail:
    mem_free(keep);
    dataset_close(ds);
    return -1;
}

void dataset_close(Dataset *ds) {
    if (ds->cache) for (int i = 0; i < ds->n; i++) image_free(&ds->cache[i]);
    for (int t = 0; t < ds->n_threads; t++) {
        image_free(&ds->img[t]);
        bytebuf_free(&ds->buf[t]);
        mem_free(ds->tab[t]);
    }
    mem_free(ds->img); mem_free(ds->buf); mem_free(ds->tab); mem_free(ds->terr); mem_free(ds->terr_slot);
    mem_free(ds->cache); mem_free(ds->labels); mem_free(ds->bad); mem_free(ds->status);
    source_free(&ds->src);
    memset(ds, 0, sizeof *ds);
}

// ---------------------------------------------------------------------------
// batches

static uint64_t mix(uint64_t seed, uint64_t a, uint64_t b) {
    return seed * 0x9e3779b97f4a7c15ull ^ (a + 1) * 0xd1b54a32d192ed03ull ^ (b + 1) * 0x8cb92ba72f3d8dd7ull;
}

// The geometry of item i for this epoch: augmentation draws from (seed, epoch, i).
static void item_geom(const Dataset *ds, int i, int epoch, int H, int W, ImageGeom *g) {
    const DataConfig *c = &ds->cfg;
    int S = c->image_size;
    Rng r;
    rng_seed(&r, mix(c->seed, (uint64_t)epoch, (uint64_t)i));
    if (c->random_resized_crop) image_geom_random_resized_crop(g, H, W, S, c->rrc_scale, c->rrc_ratio, &r);
    else if (c->resize == RESIZE_SHORT_CROP) image_geom_short_crop(g, H, W, c->resize_size, S);
    else image_geom_squash(g, H, W, S);
    g->flip = c->hflip && rng_uniform(&r) < 0.5f;
}

int dataset_item_floats(const Dataset *ds) {
    const DataConfig *c = &ds->cfg;
    return data_format_is_text(c->format) ? c->max_length : c->channels * c->image_size * c->image_size;
}

int dataset_vocab_size(const Dataset *ds) { return data_format_is_text(ds->cfg.format) ? ds->src.vocab : 0; }

// x (B, T): token ids as floats (exact below 2^24, tokenizer.h).
static int text_batch(const Dataset *ds, const int *idx, int B, float *x, int *y) {
    int T = ds->src.T;
    for (int b = 0; b < B; b++) {
        CHECK(idx[b] >= 0 && idx[b] < ds->n, "item %d of %d", idx[b], ds->n);
        const int32_t *row = ds->src.tokens + (size_t)idx[b] * T;
        for (int t = 0; t < T; t++) x[(size_t)b * T + t] = (float)row[t];
        y[b] = ds->labels[idx[b]];
    }
    return B;
}

int dataset_batch(Dataset *ds, const int *idx, int B, int epoch, float *x, int *y, WbError *err) {
    const DataConfig *c = &ds->cfg;
    if (data_format_is_text(c->format)) return text_batch(ds, idx, B, x, y);
    int S = c->image_size, Cout = c->channels, nt = ds->n_threads;
    size_t per = (size_t)Cout * S * S;
    if (B > ds->status_cap) {
        mem_free(ds->status);
        ds->status = mem_alloc((size_t)B * sizeof(int), MEM_DATA);
        ds->status_cap = B;
    }
    for (int b = 0; b < B; b++) CHECK(idx[b] >= 0 && idx[b] < ds->n, "item %d of %d", idx[b], ds->n);
    for (int t = 0; t < nt; t++) ds->terr_slot[t] = -1;
    int *status = ds->status;
    double flops = 0;
    int mt = omp_get_max_threads() < nt ? omp_get_max_threads() : nt;
    #pragma omp parallel for schedule(dynamic) num_threads(mt) reduction(+ : flops)
    for (int b = 0; b < B; b++) {
        int t = omp_get_thread_num(), i = idx[b];
        status[b] = 1;
        if (ds->bad[i]) continue;
        const uint8_t *px;
        int H, W, C;
        if (in_memory(c->format)) {
            H = ds->src.H; W = ds->src.W; C = ds->src.C;
            px = ds->src.pixels + (size_t)i * H * W * C;
        } else if (ds->cache) {
            const Image *im = &ds->cache[i];
            H = im->H; W = im->W; C = im->C; px = im->px;
        } else {
            WbError e;
            if (image_load(&ds->img[t], &ds->buf[t], source_file(&ds->src, i), &e) < 0) {
                if (c->skip_corrupt) { status[b] = 2; warn_skip(e.msg); }   // 2: newly found corrupt
                else { status[b] = -1; if (ds->terr_slot[t] < 0 || b < ds->terr_slot[t]) { ds->terr_slot[t] = b; ds->terr[t] = e; } }
                continue;
            }
            H = ds->img[t].H; W = ds->img[t].W; C = ds->img[t].C; px = ds->img[t].px;
        }
        ImageGeom g;
        item_geom(ds, i, epoch, H, W, &g);
        image_sample_nocount(x + (size_t)b * per, ds->tab[t], px, H, W, C, &g, S, Cout, c->mean, c->std);
        flops += image_sample_flops(C, S, Cout);
        y[b] = ds->labels[i];
        status[b] = 0;
    }
    flops_add(flops);
    int first = -1, ft = -1;
    for (int t = 0; t < nt; t++)
        if (ds->terr_slot[t] >= 0 && (first < 0 || ds->terr_slot[t] < first)) { first = ds->terr_slot[t]; ft = t; }
    if (first >= 0)
        return wb_error(err, "%s (item %d of the %s split; set dataset.skip_corrupt to drop such files)", ds->terr[ft].msg,
                        idx[first], data_split_name(c->split));
    // pack the good items to the front, in order
    int m = 0;
    for (int b = 0; b < B; b++) {
        if (status[b] == 2) { ds->bad[idx[b]] = 1; ds->n_skipped++; }
        if (status[b] != 0) continue;
        if (m != b) { memmove(x + (size_t)m * per, x + (size_t)b * per, per * sizeof(float)); y[m] = y[b]; }
        m++;
    }
    return m;
}

void dataset_class_counts(const Dataset *ds, int *counts) {
    memset(counts, 0, (size_t)ds->num_classes * sizeof(int));
    for (int i = 0; i < ds->n; i++) counts[ds->labels[i]]++;
}

void dataset_item_name(const Dataset *ds, int i, char *buf, size_t len) {
    if (ds->src.file) snprintf(buf, len, "%s", source_file(&ds->src, i));
    else snprintf(buf, len, "%s %s %d", ds->src.listing, ds->src.record_kind, ds->src.record[i]);
}

void dataset_describe(const Dataset *ds, char *buf, size_t len) {
    const DataConfig *c = &ds->cfg;
    if (data_format_is_text(c->format)) {
        snprintf(buf, len, "%s %s: %d items, %d classes, %d token ids each (%d truncated), tokenizer %s (vocab %d, pad %d)%s, path %s",
                 data_format_name(c->format), data_split_name(c->split), ds->n, ds->num_classes, c->max_length, ds->src.n_truncated,
                 c->tokenizer, ds->src.vocab, c->pad_id, c->shuffle ? ", shuffled" : "", c->path);
        return;
    }
    snprintf(buf, len, "%s %s: %d items, %d classes, %dx%dx%d, norm %s (mean %.4f %.4f %.4f, std %.4f %.4f %.4f), %s%s%s%s, %d skipped as corrupt, path %s",
             data_format_name(c->format), data_split_name(c->split), ds->n, ds->num_classes, c->channels, c->image_size, c->image_size,
             data_norm_name(c->norm), (double)c->mean[0], (double)c->mean[1], (double)c->mean[2], (double)c->std[0], (double)c->std[1],
             (double)c->std[2], c->random_resized_crop ? "random_resized_crop" : data_resize_name(c->resize), c->hflip ? "+hflip" : "",
             ds->cache ? ", cached" : "", c->shuffle ? ", shuffled" : "", ds->n_skipped, c->path);
}

void dataset_epoch_order(const Dataset *ds, int epoch, int *order) {
    for (int i = 0; i < ds->n; i++) order[i] = i;
    if (!ds->cfg.shuffle) return;
    Rng r;
    rng_seed(&r, mix(ds->cfg.seed, (uint64_t)epoch, 0xffffffffull));
    rng_shuffle_int(&r, order, ds->n);
}

void batch_iter_init(BatchIter *it, Dataset *ds, int B, int drop_last) {
    CHECK(B > 0, "batch size %d", B);
    memset(it, 0, sizeof *it);
    it->ds = ds; it->B = B; it->drop_last = drop_last;
    it->order = mem_alloc((size_t)(ds->n ? ds->n : 1) * sizeof(int), MEM_DATA);
    batch_iter_start(it, 0);
}

void batch_iter_start(BatchIter *it, int epoch) {
    it->epoch = epoch;
    it->pos = 0;
    dataset_epoch_order(it->ds, epoch, it->order);
}

int batch_iter_next(BatchIter *it, float *x, int *y, WbError *err) {
    Dataset *ds = it->ds;
    size_t per = (size_t)dataset_item_floats(ds);
    int got = 0;
    while (got < it->B && it->pos < ds->n) {
        if (it->drop_last && got + (ds->n - it->pos) < it->B) { it->pos = ds->n; return 0; }
        int take = wb_min(it->B - got, ds->n - it->pos);
        int r = dataset_batch(ds, it->order + it->pos, take, it->epoch, x + (size_t)got * per, y + got, err);
        if (r < 0) return -1;
        it->pos += take;
        got += r;
    }
    return got;
}

int batch_iter_count(const BatchIter *it) {
    int n = it->ds->n;
    return it->drop_last ? n / it->B : (n + it->B - 1) / it->B;
}

void batch_iter_free(BatchIter *it) {
    mem_free(it->order);
    memset(it, 0, sizeof *it);
}
