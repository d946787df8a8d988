// test_data.c: the data loader on small files of every format that the test
// writes itself (IDX gz/plain, CIFAR-10/100, Pets, Flowers102, CUB, ISIC),
// their corrupt variants (each a clear error naming file and record/line, or
// skipped and counted with skip_corrupt), config errors naming the field,
// class filtering with relabelling, the seeded train/val split, batch order
// from (seed, epoch), memory in the data category, and the real
// Fashion-MNIST when installed (counts, label histogram, decode throughput).
#include "core/runtime/counters.h"
#include "core/data/dataset.h"
#include "core/runtime/memory.h"
#include "tests/testlib.h"

#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static int quick;

// ---------------------------------------------------------------------------
// file writers


static void mkdirs(const char *dir, const char *sub) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/%s'", dir, sub);
    CHECK(system(cmd) == 0, "%s", cmd);
}

static void write_bytes(const char *path, const void *p, size_t n, int gz) {
    if (gz) {
        gzFile f = gzopen(path, "wb");
        CHECK(f, "gzopen %s", path);
        CHECK(n == 0 || gzwrite(f, p, (unsigned)n) == (int)n, "gzwrite %s", path);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        CHECK(f, "fopen %s", path);
        CHECK(n == 0 || fwrite(p, 1, n, f) == n, "fwrite %s", path);
        fclose(f);
    }
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void write_text(const char *dir, const char *name, const char *fmt, ...) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f, "fopen %s", path);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

static void truncate_file(const char *path, long keep) {
    ByteBuf b = {0}; WbError err;
    CHECK(file_read_all(&b, path, &err) == 0, "%s", err.msg);
    write_bytes(path, b.p, (size_t)keep, 0);
    bytebuf_free(&b);
}

static uint8_t pix(int r, int y, int x, int c) { return (uint8_t)((r * 31 + y * 7 + x * 3 + c * 85) & 255); }

static void be32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }

// {prefix}-images-idx3-ubyte[.gz] and labels with n records of HxW; label of record r = labels[r] or r % 10.
static void gen_idx(const char *dir, const char *prefix, int n, int H, int W, int gz, const int *labels) {
    size_t isz = 16 + (size_t)n * H * W, lsz = 8 + (size_t)n;
    uint8_t *im = mem_alloc(isz, MEM_WORKSPACE), *lb = mem_alloc(lsz, MEM_WORKSPACE);
    be32(im, 0x803); be32(im + 4, (uint32_t)n); be32(im + 8, (uint32_t)H); be32(im + 12, (uint32_t)W);
    be32(lb, 0x801); be32(lb + 4, (uint32_t)n);
    for (int r = 0; r < n; r++) {
        lb[8 + r] = (uint8_t)(labels ? labels[r] : r % 10);
        for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) im[16 + ((size_t)r * H + y) * W + x] = pix(r, y, x, 0);
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte%s", dir, prefix, gz ? ".gz" : "");
    write_bytes(path, im, isz, gz);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte%s", dir, prefix, gz ? ".gz" : "");
    write_bytes(path, lb, lsz, gz);
    mem_free(im); mem_free(lb);
}

static DataConfig cfg_for(DataFormat f, const char *path, DataSplit split, int S, int C) {
    DataConfig c;
    data_config_default(&c);
    c.format = f;
    snprintf(c.path, sizeof c.path, "%s", path);
    c.split = split;
    c.image_size = S;
    c.channels = C;
    c.norm = NORM_NONE;
    c.shuffle = 0;
    return c;
}

// Opening must fail with a message containing every given fragment.
static void expect_open_error(const DataConfig *c, const char *what, const char *f1, const char *f2, const char *f3) {
    Dataset ds; WbError err = {{0}};
    MemStats m0 = mem_stats();
    int rc = dataset_open(&ds, c, &err);
    EXPECT(rc == -1, "%s: open must fail", what);
    if (rc == 0) { dataset_close(&ds); return; }
    const char *fr[3] = {f1, f2, f3};
    for (int k = 0; k < 3; k++)
        if (fr[k]) EXPECT(strstr(err.msg, fr[k]) != NULL, "%s: message names '%s': %s", what, fr[k], err.msg);
    EXPECT(mem_stats().current[MEM_DATA] == m0.current[MEM_DATA], "%s: failed open frees its memory", what);
    printf("  %s -> %s\n", what, err.msg);
}

static int open_ok(Dataset *ds, const DataConfig *c, const char *what) {
    WbError err = {{0}};
    int rc = dataset_open(ds, c, &err);
    EXPECT(rc == 0, "%s: %s", what, err.msg);
    return rc == 0;
}

static void record_set(const Dataset *ds, uint8_t *mark, int n) {
    memset(mark, 0, (size_t)n);
    for (int i = 0; i < ds->n; i++) mark[ds->src.record[i]]++;
}

// ---------------------------------------------------------------------------
// IDX

static void test_idx_gz_and_plain(void) {
    const char *gzd = tl_fresh_dir("idx_gz"), *pld = tl_fresh_dir("idx_plain");
    gen_idx(gzd, "train", 50, 28, 28, 1, NULL); gen_idx(gzd, "t10k", 20, 28, 28, 1, NULL);
    gen_idx(pld, "train", 50, 28, 28, 0, NULL); gen_idx(pld, "t10k", 20, 28, 28, 0, NULL);
    for (int gz = 0; gz < 2; gz++) {
        DataConfig c = cfg_for(DATA_FASHION_MNIST, gz ? gzd : pld, SPLIT_TEST, 28, 1);
        Dataset ds;
        if (!open_ok(&ds, &c, gz ? "gz test split" : "plain test split")) continue;
        EXPECT(ds.n == 20 && ds.num_classes == 10, "test split n %d classes %d", ds.n, ds.num_classes);
        int idx[20]; for (int i = 0; i < 20; i++) idx[i] = i;
        float *x = mem_alloc_floats(20 * 28 * 28, MEM_WORKSPACE);
        int y[20];
        WbError err;
        int got = dataset_batch(&ds, idx, 20, 0, x, y, &err);
        EXPECT(got == 20, "batch of 20: %d", got);
        // 28 -> 28 is the identity resize: values are exactly pixel / 255 (norm none)
        int ok = 1, lab = 1;
        for (int r = 0; r < 20; r++) {
            lab &= y[r] == r % 10;
            for (int p = 0; p < 28 * 28; p++) ok &= x[r * 784 + p] == (float)pix(r, p / 28, p % 28, 0) / 255.0f;
        }
        EXPECT(ok, "pixels exact (%s)", gz ? "gz" : "plain");
        EXPECT(lab, "labels in file order");
        mem_free(x);
        dataset_close(&ds);
    }
}

static void test_idx_split_and_channels(void) {
    const char *d = tl_fresh_dir("idx_split");
    gen_idx(d, "train", 100, 12, 10, 1, NULL); gen_idx(d, "t10k", 10, 12, 10, 1, NULL);
    DataConfig c = cfg_for(DATA_MNIST, d, SPLIT_TRAIN, 16, 3);
    Dataset tr, va, tr2, va2;
    uint8_t mt[100], mv[100], m2[100];
    if (!open_ok(&tr, &c, "train")) return;
    c.split = SPLIT_VAL;
    if (!open_ok(&va, &c, "val")) { dataset_close(&tr); return; }
    EXPECT(tr.n == 80 && va.n == 20, "80/20 split: %d / %d", tr.n, va.n);
    record_set(&tr, mt, 100); record_set(&va, mv, 100);
    int disjoint = 1, cover = 1;
    for (int r = 0; r < 100; r++) { disjoint &= !(mt[r] && mv[r]); cover &= mt[r] + mv[r] == 1; }
    EXPECT(disjoint && cover, "train and val are disjoint and cover the training set");
    int sorted = 1;
    for (int i = 1; i < tr.n; i++) sorted &= tr.src.record[i] > tr.src.record[i - 1];
    EXPECT(sorted, "kept records stay in file order");
    // same seed -> same split; another seed -> another split
    if (open_ok(&va2, &c, "val again")) {
        record_set(&va2, m2, 100);
        EXPECT(!memcmp(m2, mv, 100), "same split_seed, same val set");
        dataset_close(&va2);
    }
    c.split_seed = 234;
    if (open_ok(&va2, &c, "val other seed")) {
        record_set(&va2, m2, 100);
        EXPECT(memcmp(m2, mv, 100) != 0, "another split_seed, another val set");
        dataset_close(&va2);
    }
    // grey replicated to 3 channels, with the dataset's statistics (MNIST 0.1307 / 0.3081)
    c.split_seed = 233; c.split = SPLIT_TRAIN; c.norm = NORM_DATASET;
    if (open_ok(&tr2, &c, "train dataset-norm")) {
        float *x = mem_alloc_floats(4 * 3 * 16 * 16, MEM_WORKSPACE);
        int y[4], idx[4] = {0, 1, 2, 3};
        WbError err;
        EXPECT(dataset_batch(&tr2, idx, 4, 0, x, y, &err) == 4, "batch");
        int same = 1;
        for (int b = 0; b < 4; b++) for (int p = 0; p < 256; p++) {
            float v0 = x[(b * 3 + 0) * 256 + p];
            same &= v0 == x[(b * 3 + 1) * 256 + p] && v0 == x[(b * 3 + 2) * 256 + p];
        }
        EXPECT(same, "gray replicated to 3 identical channels");
        EXPECT(tr2.cfg.mean[0] == 0.1307f && tr2.cfg.std[2] == 0.3081f, "MNIST statistics resolved: %g %g", (double)tr2.cfg.mean[0], (double)tr2.cfg.std[2]);
        // the 12x10 -> 16x16 corner pixel is exactly the source corner
        float want = ((float)pix(tr2.src.record[0], 0, 0, 0) / 255.0f - 0.1307f) / 0.3081f;
        EXPECT(fabsf(x[0] - want) < 1e-6f, "corner %g want %g", (double)x[0], (double)want);
        mem_free(x);
        dataset_close(&tr2);
    }
    dataset_close(&tr); dataset_close(&va);
}

static void test_class_filter_relabel(void) {
    const char *d = tl_fresh_dir("idx_classes");
    gen_idx(d, "train", 60, 8, 8, 1, NULL); gen_idx(d, "t10k", 30, 8, 8, 1, NULL);
    DataConfig c = cfg_for(DATA_FASHION_MNIST, d, SPLIT_TEST, 8, 1);
    int cls[5] = {5, 6, 7, 8, 9};
    memcpy(c.classes, cls, sizeof cls); c.n_classes = 5;
    Dataset ds;
    if (open_ok(&ds, &c, "classes 5-9")) {
        EXPECT(ds.n == 15 && ds.num_classes == 5, "n %d K %d", ds.n, ds.num_classes);
        int ok = 1;
        for (int i = 0; i < ds.n; i++) ok &= ds.labels[i] == ds.src.record[i] % 10 - 5;
        EXPECT(ok, "classes 5..9 become 0..4");
        int counts[5];
        dataset_class_counts(&ds, counts);
        EXPECT(counts[0] == 3 && counts[4] == 3, "histogram %d %d", counts[0], counts[4]);
        dataset_close(&ds);
    }
    int order[3] = {9, 2, 5};   // listed order decides the new labels
    memcpy(c.classes, order, sizeof order); c.n_classes = 3;
    if (open_ok(&ds, &c, "classes 9,2,5")) {
        int ok = 1;
        for (int i = 0; i < ds.n; i++) { int raw = ds.src.record[i] % 10; ok &= ds.labels[i] == (raw == 9 ? 0 : raw == 2 ? 1 : 2); }
        EXPECT(ok && ds.n == 9, "9 -> 0, 2 -> 1, 5 -> 2 (n %d)", ds.n);
        dataset_close(&ds);
    }
    c.classes[1] = 12;
    expect_open_error(&c, "class out of range", "dataset.classes", "class 12 out of range 0..9", NULL);
    c.classes[1] = 9;
    expect_open_error(&c, "class twice", "dataset.classes", "listed twice", NULL);
}

static void test_idx_errors(void) {
    const char *d = tl_fresh_dir("idx_err");
    DataConfig c = cfg_for(DATA_FASHION_MNIST, "/nonexistent/fashion", SPLIT_TRAIN, 28, 3);
    expect_open_error(&c, "missing directory", "dataset.path", "/nonexistent/fashion", "does not exist");
    snprintf(c.path, sizeof c.path, "%s", d);
    expect_open_error(&c, "missing files", "train-labels-idx1-ubyte", "not found", "expected");
    // truncated plain image file: record 37 of 50 is cut
    gen_idx(d, "train", 50, 28, 28, 0, NULL);
    char path[1200];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", d);
    truncate_file(path, 16 + 37 * 784 + 100);
    expect_open_error(&c, "truncated IDX", "train-images-idx3-ubyte", "record 37 of 50 truncated", "100 of 784 bytes");
    // truncated gzip stream
    const char *g = tl_fresh_dir("idx_err_gz");
    gen_idx(g, "train", 50, 28, 28, 1, NULL);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", g);
    struct stat st; stat(path, &st);
    truncate_file(path, st.st_size / 2);
    DataConfig cg = c;
    snprintf(cg.path, sizeof cg.path, "%s", g);
    expect_open_error(&cg, "truncated IDX gz", "train-images-idx3-ubyte.gz", "truncated", "expected 50 records");
    // label out of range at record 3
    int labels[50];
    for (int r = 0; r < 50; r++) labels[r] = r % 10;
    labels[3] = 12;
    gen_idx(d, "train", 50, 28, 28, 0, labels);
    expect_open_error(&c, "label out of range", "train-labels-idx1-ubyte", "record 3 has label 12", "expected 0..9");
    // wrong magic
    gen_idx(d, "train", 50, 28, 28, 0, NULL);
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte", d);
    uint8_t junk[16] = {0, 0, 8, 3, 0, 0, 0, 50};
    write_bytes(path, junk, 8, 0);
    expect_open_error(&c, "bad magic", "train-labels-idx1-ubyte", "magic 0x00000803", "expected 0x00000801");
    // images and labels disagree on the count
    gen_idx(d, "train", 50, 28, 28, 0, NULL);
    const char *e = tl_fresh_dir("idx_err_count");
    gen_idx(e, "train", 40, 28, 28, 0, NULL);
    char src[1200], dst[1200];
    snprintf(src, sizeof src, "%s/train-labels-idx1-ubyte", e);
    snprintf(dst, sizeof dst, "%s/train-labels-idx1-ubyte", d);
    CHECK(rename(src, dst) == 0, "rename");
    expect_open_error(&c, "count mismatch", "holds 50 images", "holds 40 labels", "same count");
}

// ---------------------------------------------------------------------------
// CIFAR

static void gen_cifar_file(const char *path, int n, int first, int c100, int gz, int bad_record, int bad_label) {
    int rec = c100 ? 3074 : 3073;
    uint8_t *b = mem_alloc((size_t)n * rec, MEM_WORKSPACE);
    for (int k = 0; k < n; k++) {
        int r = first + k;
        uint8_t *p = b + (size_t)k * rec;
        if (c100) { p[0] = (uint8_t)(r % 20); p[1] = (uint8_t)(r % 100); }
        else p[0] = (uint8_t)(r % 10);
        if (k == bad_record) p[c100 ? 1 : 0] = (uint8_t)bad_label;
        for (int c = 0; c < 3; c++) for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) p[rec - 3072 + c * 1024 + y * 32 + x] = pix(r, y, x, c);
    }
    write_bytes(path, b, (size_t)n * rec, gz);
    mem_free(b);
}

static void gen_cifar10(const char *d, int per) {
    char path[1200];
    for (int f = 1; f <= 5; f++) {
        snprintf(path, sizeof path, "%s/data_batch_%d.bin%s", d, f, f == 3 ? ".gz" : "");
        gen_cifar_file(path, per, (f - 1) * per, 0, f == 3, -1, 0);
    }
    snprintf(path, sizeof path, "%s/test_batch.bin", d);
    gen_cifar_file(path, 7, 0, 0, 0, -1, 0);
}

static void check_cifar_pixels(Dataset *ds, const char *what) {
    int n = wb_min(ds->n, 8), idx[8];
    for (int i = 0; i < n; i++) idx[i] = i;
    float *x = mem_alloc_floats(8 * 3 * 32 * 32, MEM_WORKSPACE);
    int y[8];
    WbError err;
    EXPECT(dataset_batch(ds, idx, n, 0, x, y, &err) == n, "%s batch: %s", what, err.msg);
    int ok = 1;
    for (int b = 0; b < n; b++) {
        int r = ds->src.record[b];
        for (int c = 0; c < 3; c++) for (int p = 0; p < 1024; p++) ok &= x[(b * 3 + c) * 1024 + p] == (float)pix(r, p / 32, p % 32, c) / 255.0f;
    }
    EXPECT(ok, "%s: R, G, B planes land in channels 0, 1, 2 exactly", what);
    mem_free(x);
}

static void test_cifar10(void) {
    const char *d = tl_fresh_dir("cifar10");
    gen_cifar10(d, 6);
    DataConfig c = cfg_for(DATA_CIFAR10, d, SPLIT_TRAIN, 32, 3);
    c.val_fraction = 0.0f;
    Dataset ds;
    if (open_ok(&ds, &c, "cifar10 train")) {
        EXPECT(ds.n == 30 && ds.num_classes == 10, "n %d", ds.n);
        int ok = 1;
        for (int i = 0; i < ds.n; i++) ok &= ds.labels[i] == i % 10 && ds.src.record[i] == i;
        EXPECT(ok, "records of the five batches in order (one gzip-compressed)");
        check_cifar_pixels(&ds, "cifar10");
        dataset_close(&ds);
    }
    c.split = SPLIT_TEST;
    if (open_ok(&ds, &c, "cifar10 test")) { EXPECT(ds.n == 7, "test n %d", ds.n); dataset_close(&ds); }
    // parent folder holding cifar-10-batches-bin/ is accepted too
    const char *parent = tl_fresh_dir("cifar10_parent");
    mkdirs(parent, "cifar-10-batches-bin");
    char sub[1200];
    snprintf(sub, sizeof sub, "%s/cifar-10-batches-bin", parent);
    gen_cifar10(sub, 2);
    DataConfig cp = cfg_for(DATA_CIFAR10, parent, SPLIT_TRAIN, 32, 3);
    if (open_ok(&ds, &cp, "cifar10 parent folder")) { EXPECT(ds.n == 8, "n %d", ds.n); dataset_close(&ds); }
    // errors
    char path[1200];
    c.split = SPLIT_TRAIN;
    snprintf(path, sizeof path, "%s/data_batch_4.bin", d);
    truncate_file(path, 3073 * 4 + 1000);
    expect_open_error(&c, "truncated CIFAR", "data_batch_4.bin", "record 4 truncated: 1000 of 3073 bytes", "expected whole 3073-byte records");
    gen_cifar_file(path, 6, 18, 0, 0, 2, 10);
    expect_open_error(&c, "CIFAR label out of range", "data_batch_4.bin", "record 2 has label 10", "expected 0..9");
    remove(path);
    expect_open_error(&c, "CIFAR missing batch", "data_batch_4.bin", "not found", "data_batch_1.bin .. data_batch_5.bin");
    write_bytes(path, "", 0, 0);
    expect_open_error(&c, "CIFAR empty batch", "data_batch_4.bin", "no records", NULL);
}

static void test_cifar100(void) {
    const char *d = tl_fresh_dir("cifar100");
    char path[1200];
    snprintf(path, sizeof path, "%s/train.bin", d);
    gen_cifar_file(path, 40, 0, 1, 0, -1, 0);
    snprintf(path, sizeof path, "%s/test.bin", d);
    gen_cifar_file(path, 12, 0, 1, 0, -1, 0);
    DataConfig c = cfg_for(DATA_CIFAR100, d, SPLIT_TEST, 32, 3);
    Dataset ds;
    if (open_ok(&ds, &c, "cifar100 fine")) {
        int ok = ds.num_classes == 100 && ds.n == 12;
        for (int i = 0; i < ds.n; i++) ok &= ds.labels[i] == i % 100;
        EXPECT(ok, "fine labels by default (K %d)", ds.num_classes);
        check_cifar_pixels(&ds, "cifar100");
        dataset_close(&ds);
    }
    c.coarse_labels = 1;
    if (open_ok(&ds, &c, "cifar100 coarse")) {
        int ok = ds.num_classes == 20;
        for (int i = 0; i < ds.n; i++) ok &= ds.labels[i] == i % 20;
        EXPECT(ok, "coarse labels when asked (K %d)", ds.num_classes);
        dataset_close(&ds);
    }
    c.coarse_labels = 0;
    gen_cifar_file(path, 12, 0, 1, 0, 5, 100);
    expect_open_error(&c, "CIFAR-100 fine label out of range", "test.bin", "record 5 has fine label 100", "expected 0..99");
    truncate_file(path, 3074 * 3 + 5);
    expect_open_error(&c, "truncated CIFAR-100", "test.bin", "record 3 truncated", "3074-byte records");
}

// ---------------------------------------------------------------------------
// image folders

static void gen_image(const char *path, int H, int W, int seed, int jpeg) {
    uint8_t *px = mem_alloc((size_t)H * W * 3, MEM_WORKSPACE);
    for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) for (int c = 0; c < 3; c++)
        px[((size_t)y * W + x) * 3 + c] = (uint8_t)((seed * 41 + x * (3 + c) + y * 5) & 255);
    WbError err;
    int rc = jpeg ? image_write_jpeg(path, px, H, W, 3, 90, &err) : image_write_png(path, px, H, W, 3, &err);
    CHECK(rc == 0, "%s", err.msg);
    mem_free(px);
}

static const char *pets_names[6] = {"Abyssinian", "Bengal", "beagle", "boxer", "Persian", "pug"};

// n_train / n_test images, class of image k = k % 6 + 1 (ids 1..6 of the 37).
static const char *gen_pets(const char *name, int n_train, int n_test) {
    const char *d = tl_fresh_dir(name);
    mkdirs(d, "images"); mkdirs(d, "annotations");
    char path[1200];
    for (int part = 0; part < 2; part++) {
        int n = part ? n_test : n_train;
        snprintf(path, sizeof path, "%s/annotations/%s", d, part ? "test.txt" : "trainval.txt");
        FILE *f = fopen(path, "w");
        CHECK(f, "%s", path);
        fprintf(f, "#Image CLASS-ID SPECIES BREED ID\n#ID: 1:37 Class ids\n");
        for (int k = 0; k < n; k++) {
            int cls = k % 6 + 1, id = part * 1000 + k;
            fprintf(f, "%s_%d %d %d %d\n", pets_names[cls - 1], id, cls, cls % 2 + 1, cls);
            char img[1300];
            snprintf(img, sizeof img, "%s/images/%s_%d.jpg", d, pets_names[cls - 1], id);
            gen_image(img, 30 + k % 7 * 5, 40 + k % 5 * 9, id, k % 4 != 3);   // every 4th is a PNG named .jpg
        }
        fclose(f);
    }
    return d;
}

static void test_pets(void) {
    const char *d = gen_pets("pets", 18, 6);
    DataConfig c = cfg_for(DATA_PETS, d, SPLIT_TRAIN, 24, 3);
    c.val_fraction = 0.0f;
    c.norm = NORM_IMAGENET;
    Dataset ds;
    if (open_ok(&ds, &c, "pets trainval")) {
        EXPECT(ds.n == 18 && ds.num_classes == 37, "n %d K %d", ds.n, ds.num_classes);
        int ok = 1;
        for (int i = 0; i < ds.n; i++) ok &= ds.labels[i] == i % 6 && ds.src.record[i] == i + 3;
        EXPECT(ok, "labels = class id - 1, record = line (after 2 comment lines)");
        EXPECT(ds.cache != NULL, "small set cached (cache auto)");
        // every item decodes; the batch equals decode + image_sample with the same geometry
        float *x = mem_alloc_floats(18 * 3 * 24 * 24, MEM_WORKSPACE), *ref = mem_alloc_floats(3 * 24 * 24, MEM_WORKSPACE);
        int y[18], idx[18];
        for (int i = 0; i < 18; i++) idx[i] = i;
        WbError err;
        EXPECT(dataset_batch(&ds, idx, 18, 0, x, y, &err) == 18, "batch: %s", err.msg);
        Image im = {0}; ByteBuf buf = {0};
        void *tab = mem_alloc(IMAGE_TAB_BYTES(24), MEM_WORKSPACE);
        int same = 1;
        for (int i = 0; i < 18; i += 5) {
            char name[1200];
            dataset_item_name(&ds, i, name, sizeof name);
            CHECK(image_load(&im, &buf, name, &err) == 0, "%s", err.msg);
            ImageGeom g;
            image_geom_squash(&g, im.H, im.W, 24);
            image_sample(ref, tab, im.px, im.H, im.W, im.C, &g, 24, 3, ds.cfg.mean, ds.cfg.std);
            same &= !memcmp(ref, x + (size_t)i * 3 * 576, 3 * 576 * sizeof(float));
        }
        EXPECT(same, "batch items equal decode + resize + normalise");
        EXPECT_NONZERO("pets batch", x, (size_t)18 * 3 * 576);
        image_free(&im); bytebuf_free(&buf); mem_free(tab); mem_free(x); mem_free(ref);
        dataset_close(&ds);
    }
    c.split = SPLIT_TEST;
    if (open_ok(&ds, &c, "pets test")) { EXPECT(ds.n == 6, "test n %d", ds.n); dataset_close(&ds); }
    // errors, each naming the listing and line
    c.split = SPLIT_TRAIN;
    write_text(d, "annotations/trainval.txt", "#comment\nAbyssinian_0 1 1 1\nBengal_1\n");
    expect_open_error(&c, "pets short line", "trainval.txt", "line 3", "expected 'Name CLASS-ID SPECIES BREED-ID'");
    write_text(d, "annotations/trainval.txt", "Abyssinian_0 1 1 1\nBengal_1 38 1 1\n");
    expect_open_error(&c, "pets class out of range", "trainval.txt", "line 2: class id '38' out of range", "1..37");
    write_text(d, "annotations/trainval.txt", "Abyssinian_0 1 1 1\nMissing_cat 2 1 2\n");
    expect_open_error(&c, "pets missing image", "Missing_cat.jpg", "not found", "line 2 of");
    write_text(d, "annotations/trainval.txt", "#only a comment\n");
    expect_open_error(&c, "pets empty listing", "trainval.txt", "lists no records", NULL);
    char path[1200];
    snprintf(path, sizeof path, "%s/annotations/trainval.txt", d);
    remove(path);
    expect_open_error(&c, "pets missing listing", "trainval.txt", "not found", NULL);
    // skip_corrupt on a missing file: dropped and counted
    write_text(d, "annotations/trainval.txt", "Abyssinian_0 1 1 1\nMissing_cat 2 1 2\nBengal_1 2 1 2\n");
    c.skip_corrupt = 1;
    if (open_ok(&ds, &c, "pets skip missing")) {
        EXPECT(ds.n == 2 && ds.n_skipped == 1, "n %d skipped %d", ds.n, ds.n_skipped);
        char line[2048];
        dataset_describe(&ds, line, sizeof line);
        EXPECT(strstr(line, "1 skipped") != NULL, "describe reports skipped: %s", line);
        dataset_close(&ds);
    }
}

static void test_corrupt_jpeg_in_folder(void) {
    const char *d = gen_pets("pets_corrupt", 12, 2);
    // corrupt item 5 (line 8): truncated
    char path[1200];
    snprintf(path, sizeof path, "%s/images/%s_%d.jpg", d, pets_names[5 % 6], 5);
    truncate_file(path, 300);
    DataConfig c = cfg_for(DATA_PETS, d, SPLIT_TRAIN, 16, 3);
    c.val_fraction = 0.0f;
    float *x = mem_alloc_floats(12 * 3 * 256, MEM_WORKSPACE);
    int y[12], idx[12];
    for (int i = 0; i < 12; i++) idx[i] = i;
    WbError err = {{0}};
    Dataset ds;
    // cache off: found at batch time
    c.cache = CACHE_OFF;
    if (open_ok(&ds, &c, "corrupt, no cache")) {
        int got = dataset_batch(&ds, idx, 12, 0, x, y, &err);
        EXPECT(got == -1, "batch with a corrupt JPEG fails (%d)", got);
        EXPECT(strstr(err.msg, path) && strstr(err.msg, "corrupt") && strstr(err.msg, "item 5"), "message names file and item: %s", err.msg);
        printf("  corrupt at batch time -> %s\n", err.msg);
        dataset_close(&ds);
    }
    // cache on: found at open
    c.cache = CACHE_ON;
    expect_open_error(&c, "corrupt, cached", path, "corrupt", "skip_corrupt");
    // skip_corrupt without cache: the batch drops it, the iterator refills
    c.skip_corrupt = 1; c.cache = CACHE_OFF;
    if (open_ok(&ds, &c, "skip, no cache")) {
        int got = dataset_batch(&ds, idx, 12, 0, x, y, &err);
        EXPECT(got == 11 && ds.n_skipped == 1, "11 of 12 kept, 1 skipped (%d, %d)", got, ds.n_skipped);
        int order = 1;
        for (int b = 0; b < got; b++) order &= y[b] == (b < 5 ? b : b + 1) % 6;
        EXPECT(order, "good items packed in order");
        got = dataset_batch(&ds, idx, 12, 1, x, y, &err);
        EXPECT(got == 11 && ds.n_skipped == 1, "known-bad item skipped again, counted once (%d, %d)", got, ds.n_skipped);
        BatchIter it;
        batch_iter_init(&it, &ds, 4, 0);
        int total = 0, nb = 0, r;
        while ((r = batch_iter_next(&it, x, y, &err)) > 0) { total += r; nb++; EXPECT(r == 4 || total == 11, "only the last batch is short (%d)", r); }
        EXPECT(r == 0 && total == 11 && nb == 3, "iterator yields 11 items in 3 batches (%d, %d)", total, nb);
        batch_iter_free(&it);
        dataset_close(&ds);
    }
    // skip_corrupt with cache: dropped at open
    c.cache = CACHE_ON;
    if (open_ok(&ds, &c, "skip, cached")) {
        EXPECT(ds.n == 11 && ds.n_skipped == 1, "n %d skipped %d", ds.n, ds.n_skipped);
        dataset_close(&ds);
    }
    mem_free(x);
}

static void test_flowers(void) {
    const char *d = tl_fresh_dir("flowers");
    mkdirs(d, "jpg");
    int n = 15;
    char path[1200];
    FILE *f;
    snprintf(path, sizeof path, "%s/imagelabels.txt", d);
    f = fopen(path, "w");
    for (int k = 1; k <= n; k++) {
        fprintf(f, "%d\n", (k * 7) % 102 + 1);
        char img[1300];
        snprintf(img, sizeof img, "%s/jpg/image_%05d.jpg", d, k);
        gen_image(img, 20 + k, 25, k, 1);
    }
    fclose(f);
    write_text(d, "trnid.txt", "1 2 3 4 5\n");
    write_text(d, "valid.txt", "6,7,8\n9.0\n");     // commas and MATLAB-style 9.0 are accepted
    write_text(d, "tstid.txt", "10\n11\n12\n13\n14\n15\n");
    DataConfig c = cfg_for(DATA_FLOWERS102, d, SPLIT_TRAIN, 16, 3);
    c.val_fraction = 0.0f;
    Dataset ds;
    if (open_ok(&ds, &c, "flowers train")) {
        EXPECT(ds.n == 9 && ds.num_classes == 102, "trnid + valid = %d, K %d", ds.n, ds.num_classes);
        int ok = 1;
        for (int i = 0; i < ds.n; i++) ok &= ds.src.record[i] == i + 1 && ds.labels[i] == ((i + 1) * 7) % 102;
        EXPECT(ok, "image ids and labels - 1");
        float x[3 * 256]; int y, idx = 8; WbError err;
        EXPECT(dataset_batch(&ds, &idx, 1, 0, x, &y, &err) == 1, "batch: %s", err.msg);
        dataset_close(&ds);
    }
    c.split = SPLIT_TEST;
    if (open_ok(&ds, &c, "flowers test")) { EXPECT(ds.n == 6, "test n %d", ds.n); dataset_close(&ds); }
    write_text(d, "tstid.txt", "10\n16\n");
    expect_open_error(&c, "flowers id out of range", "tstid.txt", "image id 16, out of range", "expected 1..15");
    write_text(d, "tstid.txt", "10\nx11\n");
    expect_open_error(&c, "flowers bad integer", "tstid.txt", "line 2", "'x11' is not an integer");
    write_text(d, "imagelabels.txt", "1\n2\n103\n");
    expect_open_error(&c, "flowers label out of range", "imagelabels.txt", "label 103 of image id 3", "expected 1..102");
}

static void test_cub(void) {
    const char *d = tl_fresh_dir("cub");
    mkdirs(d, "CUB_200_2011/images/001.Black_footed_Albatross");
    mkdirs(d, "CUB_200_2011/images/002.Laysan_Albatross");
    char root[1200];
    snprintf(root, sizeof root, "%s/CUB_200_2011", d);
    FILE *fi, *fl, *fs;
    char p1[1300], p2[1300], p3[1300];
    snprintf(p1, sizeof p1, "%s/images.txt", root); snprintf(p2, sizeof p2, "%s/image_class_labels.txt", root);
    snprintf(p3, sizeof p3, "%s/train_test_split.txt", root);
    fi = fopen(p1, "w"); fl = fopen(p2, "w"); fs = fopen(p3, "w");
    for (int id = 1; id <= 10; id++) {
        int cls = id <= 6 ? 1 : 2;
        const char *sub = cls == 1 ? "001.Black_footed_Albatross" : "002.Laysan_Albatross";
        fprintf(fi, "%d %s/Bird_%04d.jpg\n", id, sub, id);
        fprintf(fl, "%d %d\n", id, cls == 1 ? 1 : 200);   // class ids 1 and 200: both ends
        fprintf(fs, "%d %d\n", id, id % 3 != 0);
        char img[1400];
        snprintf(img, sizeof img, "%s/images/%s/Bird_%04d.jpg", root, sub, id);
        gen_image(img, 33, 21 + id, id, 1);
    }
    fclose(fi); fclose(fl); fclose(fs);
    DataConfig c = cfg_for(DATA_CUB200, d, SPLIT_TRAIN, 16, 3);   // the parent of CUB_200_2011 is accepted
    c.val_fraction = 0.0f;
    Dataset ds;
    if (open_ok(&ds, &c, "cub train")) {
        EXPECT(ds.n == 7 && ds.num_classes == 200, "train n %d K %d", ds.n, ds.num_classes);
        int ok = 1;
        for (int i = 0; i < ds.n; i++) { int id = ds.src.record[i]; ok &= id % 3 != 0 && ds.labels[i] == (id <= 6 ? 0 : 199); }
        EXPECT(ok, "is_training_image = 1 records, labels 0 and 199");
        dataset_close(&ds);
    }
    c.split = SPLIT_TEST;
    if (open_ok(&ds, &c, "cub test")) { EXPECT(ds.n == 3, "test n %d", ds.n); dataset_close(&ds); }
    write_text(root, "image_class_labels.txt", "1 1\n2 1\n3 201\n");
    expect_open_error(&c, "cub class out of range", "image_class_labels.txt", "line 3: class id 201 out of range", "1..200");
    write_text(root, "image_class_labels.txt", "1 1\n2 1\n3 1\n4 1\n5 1\n6 1\n7 2\n8 2\n9 2\n");
    expect_open_error(&c, "cub missing id", "image_class_labels.txt", "no line for image id 10", NULL);
    write_text(root, "images.txt", "1 a.jpg\n3 b.jpg\n");
    expect_open_error(&c, "cub id order", "images.txt", "line 2: image id 3", "expected 2");
}

static void test_isic(void) {
    const char *d = tl_fresh_dir("isic");
    mkdirs(d, "ISIC2018_Task3_Training_Input"); mkdirs(d, "ISIC2018_Task3_Training_GroundTruth");
    mkdirs(d, "ISIC2018_Task3_Test_Input");
    static const char *cols[7] = {"MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC"};
    char path[1200];
    snprintf(path, sizeof path, "%s/ISIC2018_Task3_Training_GroundTruth/ISIC2018_Task3_Training_GroundTruth.csv", d);
    FILE *f = fopen(path, "w");
    fprintf(f, "image,MEL,NV,BCC,AKIEC,BKL,DF,VASC\r\n");
    for (int k = 0; k < 14; k++) {
        fprintf(f, "ISIC_%07d", 24306 + k);
        for (int c = 0; c < 7; c++) fprintf(f, ",%s", c == k % 7 ? "1.0" : "0.0");
        fprintf(f, "\r\n");
        char img[1300];
        snprintf(img, sizeof img, "%s/ISIC2018_Task3_Training_Input/ISIC_%07d.jpg", d, 24306 + k);
        gen_image(img, 45, 60, k, 1);
    }
    fclose(f);
    // test CSV directly in the folder, columns in another order, an extra column
    FILE *t = fopen((snprintf(path, sizeof path, "%s/ISIC2018_Task3_Test_GroundTruth.csv", d), path), "w");
    fprintf(t, "image,VASC,DF,BKL,AKIEC,BCC,NV,MEL,note\n");
    for (int k = 0; k < 3; k++) {
        fprintf(t, "ISIC_%07d", 34321 + k);
        for (int c = 6; c >= 0; c--) fprintf(t, ",%d", c == k);
        fprintf(t, ",\"quoted, text\"\n");
        char img[1300];
        snprintf(img, sizeof img, "%s/ISIC2018_Task3_Test_Input/ISIC_%07d.jpg", d, 34321 + k);
        gen_image(img, 45, 60, k, 1);
    }
    fclose(t);
    DataConfig c = cfg_for(DATA_ISIC2018, d, SPLIT_TRAIN, 16, 3);
    c.val_fraction = 0.0f;
    Dataset ds;
    if (open_ok(&ds, &c, "isic train")) {
        EXPECT(ds.n == 14 && ds.num_classes == 7, "n %d K %d", ds.n, ds.num_classes);
        int ok = 1;
        for (int i = 0; i < ds.n; i++) ok &= ds.labels[i] == i % 7 && ds.src.record[i] == i + 2;
        EXPECT(ok, "one-hot -> class index, record = CSV line");
        dataset_close(&ds);
    }
    c.split = SPLIT_TEST;
    if (open_ok(&ds, &c, "isic test")) {
        int ok = ds.n == 3;
        for (int i = 0; i < ds.n; i++) ok &= ds.labels[i] == i;
        EXPECT(ok, "columns found by name (n %d)", ds.n);
        dataset_close(&ds);
    }
    (void)cols;
    write_text(d, "ISIC2018_Task3_Test_GroundTruth.csv", "image,MEL,NV,BCC,AKIEC,BKL,VASC\nISIC_0034321,1,0,0,0,0,0\n");
    expect_open_error(&c, "isic missing column", "ISIC2018_Task3_Test_GroundTruth.csv", "line 1: header has no column 'DF'", "expected image,MEL");
    // a blank line (skipped by libcsv) still counts in the reported line number
    write_text(d, "ISIC2018_Task3_Test_GroundTruth.csv", "image,MEL,NV,BCC,AKIEC,BKL,DF,VASC\nISIC_0034321,1,0,0,0,0,0,0\n\nISIC_0034322,1,1,0,0,0,0,0\n");
    expect_open_error(&c, "isic not one-hot", "ISIC2018_Task3_Test_GroundTruth.csv", "line 4: 2 of the columns", "exactly one");
    write_text(d, "ISIC2018_Task3_Test_GroundTruth.csv", "image,MEL,NV,BCC,AKIEC,BKL,DF,VASC\nISIC_0034321,1,0,0,0,0,0\n");
    expect_open_error(&c, "isic short row", "ISIC2018_Task3_Test_GroundTruth.csv", "line 2: 7 fields", "expected 8");
    write_text(d, "ISIC2018_Task3_Test_GroundTruth.csv", "image,MEL,NV,BCC,AKIEC,BKL,DF,VASC\nISIC_0034321,yes,0,0,0,0,0,0\n");
    expect_open_error(&c, "isic bad value", "line 2: column MEL is 'yes'", "expected 0 or 1", NULL);
    // issue 21: one image with two labels (and the same image twice) was accepted
    write_text(d, "ISIC2018_Task3_Test_GroundTruth.csv", "image,MEL,NV,BCC,AKIEC,BKL,DF,VASC\nISIC_0034321,1,0,0,0,0,0,0\n"
               "ISIC_0034322,0,1,0,0,0,0,0\nISIC_0034321,0,0,1,0,0,0,0\n");
    expect_open_error(&c, "isic duplicate image", "ISIC2018_Task3_Test_GroundTruth.csv", "lines 2 and 4: image", "listed twice (as MEL and BCC");
    write_text(d, "ISIC2018_Task3_Test_GroundTruth.csv", "image,MEL,NV,BCC,AKIEC,BKL,DF,VASC\n\"ISIC_0034321,1,0,0,0,0,0,0\n");
    expect_open_error(&c, "isic unbalanced quote", "ISIC2018_Task3_Test_GroundTruth.csv", "CSV parse error", NULL);
    snprintf(path, sizeof path, "%s/ISIC2018_Task3_Test_GroundTruth.csv", d);
    remove(path);
    expect_open_error(&c, "isic missing csv", "ISIC2018_Task3_Test_GroundTruth.csv", "not found", NULL);
}

// ---------------------------------------------------------------------------
// config, empty splits, order, augmentation, memory

static void test_config_errors(void) {
    const char *d = tl_fresh_dir("cfg");
    gen_idx(d, "train", 20, 8, 8, 1, NULL); gen_idx(d, "t10k", 5, 8, 8, 1, NULL);
    DataConfig base = cfg_for(DATA_FASHION_MNIST, d, SPLIT_TRAIN, 8, 3), c;
    c = base; c.image_size = 0; expect_open_error(&c, "image_size 0", "dataset.image_size", "expected 1..4096", NULL);
    c = base; c.channels = 2; expect_open_error(&c, "channels 2", "dataset.channels", "expected 1 or 3", NULL);
    c = base; c.val_fraction = 1.0f; expect_open_error(&c, "val_fraction 1", "dataset.val_fraction", "expected 0 <= fraction < 1", NULL);
    c = base; c.split = SPLIT_VAL; c.val_fraction = 0.0f; expect_open_error(&c, "val with fraction 0", "dataset.split", "dataset.val_fraction 0", NULL);
    c = base; c.norm = NORM_EXPLICIT; c.std[1] = 0.0f; c.std[0] = 1.0f; expect_open_error(&c, "std 0", "dataset.std", "entry 1", NULL);
    c = base; c.resize = RESIZE_SHORT_CROP; c.resize_size = 6; expect_open_error(&c, "resize_size < image_size", "dataset.resize_size", "smaller than dataset.image_size", NULL);
    c = base; c.norm = NORM_IMAGENET; c.channels = 1; expect_open_error(&c, "imagenet on 1 channel", "dataset.norm", "3 channels", NULL);
    c = base; c.format = DATA_CIFAR10; c.path[0] = 0; expect_open_error(&c, "cifar without path", "dataset.path", "empty", "data_batch_1.bin");
    c = base; c.format = DATA_PETS; c.norm = NORM_DATASET; expect_open_error(&c, "dataset norm for pets", "dataset.norm", "no per-dataset statistics for pets", NULL);
    c = base; c.random_resized_crop = 1; c.rrc_scale[0] = 0.0f; expect_open_error(&c, "rrc scale 0", "dataset.rrc_scale", NULL, NULL);
    c = base; c.coarse_labels = 1; expect_open_error(&c, "coarse on fashion", "dataset.coarse_labels", NULL, NULL);
    // an empty split: a class with no records
    int labels[20];
    for (int r = 0; r < 20; r++) labels[r] = r % 5;
    gen_idx(d, "train", 20, 8, 8, 1, labels);
    c = base; c.classes[0] = 7; c.n_classes = 1;
    expect_open_error(&c, "empty split", "dataset.split", "is empty", "dataset.classes [7]");
    // names parse both ways
    int ok = 1;
    for (int f = 0; f < DATA_NFORMATS; f++) ok &= data_format_parse(data_format_name((DataFormat)f)) == f;
    ok &= data_split_parse("val") == SPLIT_VAL && data_norm_parse("imagenet") == NORM_IMAGENET && data_resize_parse("short_crop") == RESIZE_SHORT_CROP;
    ok &= data_cache_parse("on") == CACHE_ON && data_format_parse("cifar") == -1;
    EXPECT(ok, "name tables round-trip");
}

static void test_batch_order(void) {
    const char *d = tl_fresh_dir("order");
    gen_idx(d, "train", 70, 8, 8, 1, NULL); gen_idx(d, "t10k", 5, 8, 8, 1, NULL);
    DataConfig c = cfg_for(DATA_FASHION_MNIST, d, SPLIT_TRAIN, 8, 1);
    c.val_fraction = 0.0f;
    c.shuffle = 1; c.seed = 7;
    Dataset ds;
    if (!open_ok(&ds, &c, "order")) return;
    int o1[70], o2[70], o3[70], seen[70];
    dataset_epoch_order(&ds, 0, o1); dataset_epoch_order(&ds, 0, o2); dataset_epoch_order(&ds, 1, o3);
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 70; i++) seen[o1[i]]++;
    int perm = 1;
    for (int i = 0; i < 70; i++) perm &= seen[i] == 1;
    EXPECT(perm, "an epoch visits every item once");
    EXPECT(!memcmp(o1, o2, sizeof o1), "same (seed, epoch), same order");
    EXPECT(memcmp(o1, o3, sizeof o1) != 0, "another epoch, another order");
    ds.cfg.seed = 8;
    dataset_epoch_order(&ds, 0, o2);
    EXPECT(memcmp(o1, o2, sizeof o1) != 0, "another seed, another order");
    ds.cfg.seed = 7;
    // the iterator follows the order; batches are reproducible
    float *x1 = mem_alloc_floats(16 * 64, MEM_WORKSPACE), *x2 = mem_alloc_floats(16 * 64, MEM_WORKSPACE);
    int y1[16], y2[16];
    WbError err;
    BatchIter a, b;
    batch_iter_init(&a, &ds, 16, 0); batch_iter_init(&b, &ds, 16, 0);
    batch_iter_start(&a, 3); batch_iter_start(&b, 3);
    EXPECT(batch_iter_count(&a) == 5, "5 batches of 16 from 70");
    int nb = 0, total = 0, same = 1, follows = 1, r;
    int o[70];
    dataset_epoch_order(&ds, 3, o);
    while ((r = batch_iter_next(&a, x1, y1, &err)) > 0) {
        int r2 = batch_iter_next(&b, x2, y2, &err);
        same &= r == r2 && !memcmp(x1, x2, (size_t)r * 64 * sizeof(float)) && !memcmp(y1, y2, (size_t)r * sizeof(int));
        for (int k = 0; k < r; k++) follows &= y1[k] == ds.labels[o[total + k]];
        total += r; nb++;
    }
    EXPECT(same && follows && total == 70 && nb == 5, "reproducible batches in epoch order (%d items, %d batches)", total, nb);
    batch_iter_free(&a); batch_iter_free(&b);
    batch_iter_init(&a, &ds, 16, 1);
    nb = 0; total = 0;
    while ((r = batch_iter_next(&a, x1, y1, &err)) > 0) { nb++; total += r; }
    EXPECT(nb == 4 && total == 64 && batch_iter_count(&a) == 4, "drop_last: 4 full batches (%d, %d)", nb, total);
    batch_iter_free(&a);
    dataset_close(&ds);
    // shuffle off: file order
    c.shuffle = 0;
    if (open_ok(&ds, &c, "file order")) {
        batch_iter_init(&a, &ds, 16, 0);
        batch_iter_start(&a, 5);
        r = batch_iter_next(&a, x1, y1, &err);
        int fo = r == 16;
        for (int k = 0; k < 16; k++) fo &= y1[k] == k % 10;
        EXPECT(fo, "shuffle off gives file order in any epoch");
        batch_iter_free(&a);
        dataset_close(&ds);
    }
    mem_free(x1); mem_free(x2);
}

static void test_augmentation(void) {
    const char *d = gen_pets("pets_aug", 12, 2);
    DataConfig c = cfg_for(DATA_PETS, d, SPLIT_TRAIN, 20, 3);
    c.val_fraction = 0.0f;
    c.random_resized_crop = 1; c.hflip = 1; c.seed = 42; c.norm = NORM_HALF;
    Dataset ds;
    if (!open_ok(&ds, &c, "augment")) return;
    size_t per = 3 * 400;
    float *a = mem_alloc_floats(12 * per, MEM_WORKSPACE), *b = mem_alloc_floats(12 * per, MEM_WORKSPACE);
    int y[12], idx[12], rev[12];
    for (int i = 0; i < 12; i++) { idx[i] = i; rev[i] = 11 - i; }
    WbError err;
    int nt = omp_get_max_threads();
    dataset_batch(&ds, idx, 12, 0, a, y, &err);
    omp_set_num_threads(1);
    dataset_batch(&ds, rev, 12, 0, b, y, &err);
    omp_set_num_threads(nt);
    int same = 1;
    for (int i = 0; i < 12; i++) same &= !memcmp(a + i * per, b + (11 - i) * per, per * sizeof(float));
    EXPECT(same, "augmentation depends on (seed, epoch, item) only: not on batch position or threads");
    dataset_batch(&ds, idx, 12, 1, b, y, &err);
    int differ = 0;
    for (int i = 0; i < 12; i++) differ += memcmp(a + i * per, b + i * per, per * sizeof(float)) != 0;
    EXPECT(differ >= 10, "another epoch draws other crops (%d of 12 differ)", differ);
    EXPECT_NONZERO("augmented batch", a, 12 * per);
    // values stay within the normalised range of [0, 1] pixels
    double lo = 1e9, hi = -1e9;
    for (size_t k = 0; k < 12 * per; k++) { lo = fmin(lo, (double)a[k]); hi = fmax(hi, (double)a[k]); }
    EXPECT(lo >= -1.0 && hi <= 1.0, "half-normalised range [%g, %g]", lo, hi);
    mem_free(a); mem_free(b);
    dataset_close(&ds);
}

static void test_memory_in_data_category(void) {
    const char *d = gen_pets("pets_mem", 10, 2);
    DataConfig c = cfg_for(DATA_PETS, d, SPLIT_TRAIN, 16, 3);
    c.val_fraction = 0.0f;
    MemStats m0 = mem_stats();
    Dataset ds;
    c.cache = CACHE_OFF;
    size_t nocache = 0, cached = 0;
    if (open_ok(&ds, &c, "no cache")) { nocache = mem_stats().current[MEM_DATA] - m0.current[MEM_DATA]; dataset_close(&ds); }
    c.cache = CACHE_ON;
    if (open_ok(&ds, &c, "cache")) {
        cached = mem_stats().current[MEM_DATA] - m0.current[MEM_DATA];
        size_t pixels = 0;
        for (int i = 0; i < ds.n; i++) pixels += (size_t)ds.cache[i].H * ds.cache[i].W * ds.cache[i].C;
        EXPECT(cached >= nocache + pixels, "cache counted in data: %zu >= %zu + %zu", cached, nocache, pixels);
        dataset_close(&ds);
    }
    MemStats m1 = mem_stats();
    EXPECT(nocache > 0, "the loader's memory is in the data category (%zu bytes)", nocache);
    EXPECT(m1.current[MEM_DATA] == m0.current[MEM_DATA], "close frees everything (%zu -> %zu)", m0.current[MEM_DATA], m1.current[MEM_DATA]);
    EXPECT(m1.current[MEM_WORKSPACE] == m0.current[MEM_WORKSPACE], "no workspace used by the loader");
}

// ---------------------------------------------------------------------------
// the real Fashion-MNIST, and throughput

static double time_batches(Dataset *ds, int n_items, int B) {
    size_t per = (size_t)ds->cfg.channels * ds->cfg.image_size * ds->cfg.image_size;
    float *x = mem_alloc_floats((size_t)B * per, MEM_WORKSPACE);
    int *y = mem_alloc((size_t)B * sizeof(int), MEM_WORKSPACE), *idx = mem_alloc((size_t)B * sizeof(int), MEM_WORKSPACE);
    WbError err;
    double t0 = wall_seconds();
    int done = 0;
    while (done < n_items) {
        int b = wb_min(B, n_items - done);
        for (int k = 0; k < b; k++) idx[k] = (done + k) % ds->n;
        if (dataset_batch(ds, idx, b, 0, x, y, &err) < 0) { EXPECT(0, "%s", err.msg); break; }
        done += b;
    }
    double s = wall_seconds() - t0;
    mem_free(x); mem_free(y); mem_free(idx);
    return done / (s > 0 ? s : 1e-9);
}

static void test_real_fashion_mnist(void) {
    char probe[256];
    snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte.gz", FASHION_MNIST_DEFAULT_PATH);
    struct stat st;
    if (stat(probe, &st) != 0) { printf("  (Fashion-MNIST not installed at %s: skipped)\n", FASHION_MNIST_DEFAULT_PATH); return; }
    DataConfig c;
    data_config_default(&c);   // the default path
    c.val_fraction = 0.0f;
    Dataset tr, te;
    double t0 = wall_seconds();
    if (!open_ok(&tr, &c, "fashion train")) return;
    double t_open = wall_seconds() - t0;
    c.split = SPLIT_TEST;
    if (!open_ok(&te, &c, "fashion test")) { dataset_close(&tr); return; }
    EXPECT(tr.n == 60000 && te.n == 10000, "record counts %d / %d", tr.n, te.n);
    int h[10], ht[10], ok = 1;
    dataset_class_counts(&tr, h); dataset_class_counts(&te, ht);
    for (int k = 0; k < 10; k++) ok &= h[k] == 6000 && ht[k] == 1000;
    EXPECT(ok, "label histogram 6000 x 10 and 1000 x 10 (%d %d ...)", h[0], ht[0]);
    EXPECT(tr.src.H == 28 && tr.src.W == 28, "28x28");
    long sum = 0;
    for (size_t k = 0; k < (size_t)te.n * 784; k++) sum += te.src.pixels[k];
    double mean = (double)sum / ((double)te.n * 784 * 255);
    EXPECT(fabs(mean - 0.2868) < 0.01, "test pixel mean %.4f (Fashion-MNIST ~0.287)", mean);
    printf("  Fashion-MNIST: train %d, test %d, histogram %d each; read+gunzip train in %.2f s (%.0f images/s); test pixel mean %.4f\n",
           tr.n, te.n, h[0], t_open, tr.n / t_open, mean);
    // the paper's 80/20 split of the training set, seed 233
    c.split = SPLIT_VAL; c.val_fraction = 0.2f;
    Dataset va;
    if (open_ok(&va, &c, "fashion val")) { EXPECT(va.n == 12000, "val %d", va.n); dataset_close(&va); }
    // throughput of preprocessing (decode is the gunzip above; records are in memory)
    int n32 = quick ? 2000 : 10000, n224 = quick ? 200 : 2000;
    double r32 = time_batches(&te, n32, 128);
    dataset_close(&te);
    c.split = SPLIT_TEST; c.image_size = 224;
    if (open_ok(&te, &c, "fashion test 224")) {
        double r224 = time_batches(&te, n224, 64);
        printf("  throughput (%d threads): 28->32x3 %.0f images/s, 28->224x3 %.0f images/s\n", omp_get_max_threads(), r32, r224);
        dataset_close(&te);
    }
    dataset_close(&tr);
}

static void test_jpeg_folder_throughput(void) {
    // n generated 224 px JPEGs in the Flowers layout; decode+preprocess per epoch without cache
    int n = quick ? 40 : 200;
    const char *d = tl_fresh_dir("jpeg224");
    mkdirs(d, "jpg");
    char path[1200];
    FILE *f = fopen((snprintf(path, sizeof path, "%s/imagelabels.txt", d), path), "w");
    FILE *t = fopen((snprintf(path, sizeof path, "%s/trnid.txt", d), path), "w");
    uint8_t *px = mem_alloc(224 * 224 * 3, MEM_WORKSPACE);
    WbError err;
    for (int k = 1; k <= n; k++) {
        fprintf(f, "%d\n", k % 102 + 1);
        if (k < n) fprintf(t, "%d\n", k);
        for (int y = 0; y < 224; y++) for (int x = 0; x < 224; x++) for (int c = 0; c < 3; c++)   // smooth + texture, like a photo
            px[(y * 224 + x) * 3 + c] = (uint8_t)(128 + 60 * sin(0.05 * x + k + c) * cos(0.07 * y - c) + ((x * y + k) % 11));
        snprintf(path, sizeof path, "%s/jpg/image_%05d.jpg", d, k);
        CHECK(image_write_jpeg(path, px, 224, 224, 3, 90, &err) == 0, "%s", err.msg);
    }
    fclose(f); fclose(t);
    write_text(d, "valid.txt", "%d\n", n);   // train pool = trnid + valid = all n
    write_text(d, "tstid.txt", "1\n");
    mem_free(px);
    DataConfig c = cfg_for(DATA_FLOWERS102, d, SPLIT_TRAIN, 224, 3);
    c.val_fraction = 0.0f; c.cache = CACHE_OFF; c.norm = NORM_IMAGENET;
    Dataset ds;
    if (!open_ok(&ds, &c, "jpeg folder")) return;
    double r = time_batches(&ds, ds.n, 32);
    dataset_close(&ds);
    c.cache = CACHE_ON;
    double t0 = wall_seconds();
    if (!open_ok(&ds, &c, "jpeg folder cached")) return;
    double t_fill = wall_seconds() - t0;
    double rc = time_batches(&ds, ds.n, 32);
    printf("  %d JPEGs 224x224 (%d threads): decode+resize+normalise %.0f images/s; cached: fill %.0f images/s, batches %.0f images/s\n",
           ds.n, omp_get_max_threads(), r, ds.n / t_fill, rc);
    EXPECT(r > 0 && rc > 0, "timed");
    dataset_close(&ds);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    quick = getenv("WB_QUICK") != NULL;
    MemStats m0 = mem_stats();
    RUN(test_idx_gz_and_plain);
    RUN(test_idx_split_and_channels);
    RUN(test_class_filter_relabel);
    RUN(test_idx_errors);
    RUN(test_cifar10);
    RUN(test_cifar100);
    RUN(test_pets);
    RUN(test_corrupt_jpeg_in_folder);
    RUN(test_flowers);
    RUN(test_cub);
    RUN(test_isic);
    RUN(test_config_errors);
    RUN(test_batch_order);
    RUN(test_augmentation);
    RUN(test_memory_in_data_category);
    RUN(test_real_fashion_mnist);
    RUN(test_jpeg_folder_throughput);
    MemStats m1 = mem_stats();
    int leak = m1.current[MEM_DATA] != m0.current[MEM_DATA] || m1.current[MEM_WORKSPACE] != m0.current[MEM_WORKSPACE];
    if (leak) printf("FAIL leak: data %zu -> %zu bytes, workspace %zu -> %zu\n", m0.current[MEM_DATA], m1.current[MEM_DATA],
                     m0.current[MEM_WORKSPACE], m1.current[MEM_WORKSPACE]);
    return tl_finish() || leak;
}
