// fuzz_cifar.c: libFuzzer target for the CIFAR-10/100 binary reader
// (core/data/cifar.c) behind dataset_open, and the batch path after it.
// Input: one flag byte, then the file. Flags: bit 0 CIFAR-100 (train.bin /
// test.bin), bit 1 coarse labels (CIFAR-100), bit 2 the test split, bit 3
// the val split, bit 4 the file is named *.gz (the seeds hold a real gzip
// stream; plain bytes pass through gzread too), bit 5 keep classes [2, 0].
// CIFAR-10's training set is five files: the input is data_batch_1.bin and
// batches 2..5 are valid one-record files written at start-up.
// Seeds: WB_FUZZ_SEEDS=DIR ./fuzz_cifar writes small valid inputs to DIR.
#include "core/data/dataset.h"
#include "tests/fuzz/fuzz.h"

#include <zlib.h>

#define REC100 (3072 + 2)

static void fill_records(uint8_t *buf, int n, int rec, int c100) {
    for (int r = 0; r < n; r++) {
        uint8_t *p = buf + (size_t)r * rec;
        for (int i = 0; i < rec; i++) p[i] = (uint8_t)(i * 31 + r * 7);
        p[0] = (uint8_t)(c100 ? r % 20 : r % 10);
        if (c100) p[1] = (uint8_t)(r * 13 % 100);
    }
}

static void write_seed(const char *dir, const char *name, uint8_t flags, int n, int gz) {
    static uint8_t buf[4 * REC100];
    int c100 = flags & 1, rec = c100 ? REC100 : REC100 - 1;
    fill_records(buf, n, rec, c100);
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (!gz) {
        FILE *f = fopen(p, "wb");
        if (!f) exit(1);
        fputc(flags, f);
        fwrite(buf, 1, (size_t)n * rec, f);
        fclose(f);
        return;
    }
    char tp[1100];   // gzip stream through a gzFile, then flag byte + stream
    snprintf(tp, sizeof tp, "%s.tmp.gz", p);
    gzFile g = gzopen(tp, "wb9");
    gzwrite(g, buf, (unsigned)(n * rec));
    gzclose(g);
    static uint8_t c[sizeof buf];
    FILE *t = fopen(tp, "rb");
    size_t got = fread(c, 1, sizeof c, t);
    fclose(t);
    unlink(tp);
    FILE *f = fopen(p, "wb");
    if (!f) exit(1);
    fputc(flags, f);
    fwrite(c, 1, got, f);
    fclose(f);
}

static void write_seeds(const char *dir) {
    write_seed(dir, "c10_train_2", 0x00, 2, 0);
    write_seed(dir, "c10_test_3", 0x04, 3, 0);
    write_seed(dir, "c10_val_classes_4", 0x08 | 0x20, 4, 0);
    write_seed(dir, "c100_fine_2", 0x01, 2, 0);
    write_seed(dir, "c100_coarse_test_3", 0x01 | 0x02 | 0x04, 3, 0);
    write_seed(dir, "c10_train_gz_3", 0x10, 3, 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    fz_setup("cifar");
    const char *seeds = getenv("WB_FUZZ_SEEDS");
    if (seeds) { write_seeds(seeds); exit(0); }
    static uint8_t one[REC100 - 1];
    fill_records(one, 1, REC100 - 1, 0);
    for (int b = 2; b <= 5; b++) {
        char name[64];
        snprintf(name, sizeof name, "data_batch_%d.bin", b);
        fz_write(name, one, sizeof one);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    fz_begin();
    uint8_t flags = data[0];
    int c100 = flags & 1, test = (flags & 4) != 0;
    char name[64];
    snprintf(name, sizeof name, "%s%s", c100 ? (test ? "test.bin" : "train.bin") : (test ? "test_batch.bin" : "data_batch_1.bin"),
             flags & 0x10 ? ".gz" : "");
    fz_write(name, data + 1, size - 1);

    DataConfig cfg;
    data_config_default(&cfg);
    cfg.format = c100 ? DATA_CIFAR100 : DATA_CIFAR10;
    cfg.coarse_labels = c100 && (flags & 2);
    snprintf(cfg.path, sizeof cfg.path, "%s", fz_dir);
    cfg.split = test ? SPLIT_TEST : flags & 8 ? SPLIT_VAL : SPLIT_TRAIN;
    if (flags & 0x20) { cfg.n_classes = 2; cfg.classes[0] = 2; cfg.classes[1] = 0; }
    cfg.image_size = 8;
    cfg.channels = flags & 0x40 ? 1 : 3;
    Dataset ds;
    WbError err = {{0}};
    if (dataset_open(&ds, &cfg, &err) == 0) {
        int B = ds.n < 4 ? ds.n : 4, idx[4], y[4];
        float *x = mem_alloc_floats((size_t)4 * 3 * 8 * 8, MEM_WORKSPACE);
        for (int i = 0; i < B; i++) idx[i] = i;
        int got = dataset_batch(&ds, idx, B, 0, x, y, &err);
        if (got != B) { fprintf(stderr, "fuzz_cifar: dataset_batch gave %d of %d items: %s\n", got, B, err.msg); abort(); }
        for (int i = 0; i < B; i++)
            if (y[i] < 0 || y[i] >= ds.num_classes) { fprintf(stderr, "fuzz_cifar: label %d outside 0..%d\n", y[i], ds.num_classes - 1); abort(); }
        mem_free(x);
        dataset_close(&ds);
    } else if (!err.msg[0]) {
        fprintf(stderr, "fuzz_cifar: dataset_open failed without a message\n");
        abort();
    }
    fz_unlink(name);
    fz_end("dataset_open (cifar)");
    return 0;
}
