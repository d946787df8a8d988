// fuzz_idx.c: libFuzzer target for the MNIST / Fashion-MNIST IDX reader
// (core/data/idx.c) behind dataset_open, and the batch path after it.
// Input: one flag byte, then the labels file, the separator line "\n===\n",
// and the images file. Flags: bit 0 test split (t10k-*), bit 1 the files
// are named *.gz (zlib reads plain bytes through gzread too; the seeds hold
// real gzip streams), bit 2 the val split, bit 3 keep classes [3, 1],
// bits 4-5 the output size (4, 8, 28, 3), bit 6 three channels.
// dataset_open must return 0 or -1 with a message; on success one batch of
// up to 4 items is preprocessed.
// Seeds: WB_FUZZ_SEEDS=DIR ./fuzz_idx writes small valid inputs to DIR.
#include "core/data/dataset.h"
#include "tests/fuzz/fuzz.h"

#include <zlib.h>

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

// flags, labels file, separator, images file: n records of HxW, or gzip'd.
static void write_seed(const char *dir, const char *name, uint8_t flags, int n, int H, int W, int gz) {
    uint8_t lab[8 + 64], img[16 + 64 * 28 * 28];
    put_be32(lab, 0x801); put_be32(lab + 4, (uint32_t)n);
    put_be32(img, 0x803); put_be32(img + 4, (uint32_t)n); put_be32(img + 8, (uint32_t)H); put_be32(img + 12, (uint32_t)W);
    for (int i = 0; i < n; i++) lab[8 + i] = (uint8_t)(i % 10);
    for (int i = 0; i < n * H * W; i++) img[16 + i] = (uint8_t)(i * 37);
    size_t nl = 8 + (size_t)n, ni = 16 + (size_t)n * H * W;
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f) exit(1);
    fputc(flags, f);
    if (!gz) {
        fwrite(lab, 1, nl, f);
        fputs(FZ_SEP, f);
        fwrite(img, 1, ni, f);
    } else {   // gzip streams (a separator inside them would be a coincidence)
        static uint8_t c[2 * sizeof img];
        const size_t cl = sizeof c;
        for (int part = 0; part < 2; part++) {
            // gzip framing: deflate through a gzFile into a temp file, then copy
            char tp[1100];
            snprintf(tp, sizeof tp, "%s.tmp.gz", p);
            gzFile g = gzopen(tp, "wb9");
            gzwrite(g, part ? (void *)img : (void *)lab, (unsigned)(part ? ni : nl));
            gzclose(g);
            FILE *t = fopen(tp, "rb");
            size_t got = fread(c, 1, cl, t);
            fclose(t);
            unlink(tp);
            fwrite(c, 1, got, f);
            if (!part) fputs(FZ_SEP, f);
        }
    }
    fclose(f);
}

static void write_seeds(const char *dir) {
    write_seed(dir, "train_5x4x4", 0x00, 5, 4, 4, 0);
    write_seed(dir, "test_3x28x28", 0x01 | 0x20, 3, 28, 28, 0);
    write_seed(dir, "val_classes_20x6x5", 0x04 | 0x08 | 0x10 | 0x40, 20, 6, 5, 0);
    write_seed(dir, "train_gz_10x7x7", 0x02, 10, 7, 7, 1);
    write_seed(dir, "empty_0x2x2", 0x00, 0, 2, 2, 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    fz_setup("idx");
    const char *seeds = getenv("WB_FUZZ_SEEDS");
    if (seeds) { write_seeds(seeds); exit(0); }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    fz_begin();
    uint8_t flags = data[0];
    FzPart part[2];
    int np = fz_split(data + 1, size - 1, part, 2);
    const char *pre = flags & 1 ? "t10k" : "train", *gz = flags & 2 ? ".gz" : "";
    char lab[64], img[64];
    snprintf(lab, sizeof lab, "%s-labels-idx1-ubyte%s", pre, gz);
    snprintf(img, sizeof img, "%s-images-idx3-ubyte%s", pre, gz);
    fz_write(lab, part[0].p, part[0].n);
    if (np > 1) fz_write(img, part[1].p, part[1].n);

    DataConfig cfg;
    data_config_default(&cfg);
    cfg.format = DATA_MNIST;
    snprintf(cfg.path, sizeof cfg.path, "%s", fz_dir);
    cfg.split = flags & 1 ? SPLIT_TEST : flags & 4 ? SPLIT_VAL : SPLIT_TRAIN;
    if (flags & 8) { cfg.n_classes = 2; cfg.classes[0] = 3; cfg.classes[1] = 1; }
    static const int sizes[4] = {4, 8, 28, 3};
    cfg.image_size = sizes[(flags >> 4) & 3];
    cfg.channels = flags & 0x40 ? 3 : 1;
    Dataset ds;
    WbError err = {{0}};
    if (dataset_open(&ds, &cfg, &err) == 0) {
        int B = ds.n < 4 ? ds.n : 4, idx[4], y[4];
        float *x = mem_alloc_floats((size_t)4 * 3 * cfg.image_size * cfg.image_size, MEM_WORKSPACE);
        for (int i = 0; i < B; i++) idx[i] = ds.n - 1 - i;
        int got = dataset_batch(&ds, idx, B, 1, x, y, &err);
        if (got != B) { fprintf(stderr, "fuzz_idx: dataset_batch gave %d of %d items: %s\n", got, B, err.msg); abort(); }
        for (int i = 0; i < B; i++)
            if (y[i] < 0 || y[i] >= ds.num_classes) { fprintf(stderr, "fuzz_idx: label %d outside 0..%d\n", y[i], ds.num_classes - 1); abort(); }
        mem_free(x);
        dataset_close(&ds);
    } else if (!err.msg[0]) {
        fprintf(stderr, "fuzz_idx: dataset_open failed without a message\n");
        abort();
    }
    fz_unlink(lab);
    fz_unlink(img);
    fz_end("dataset_open (idx)");
    return 0;
}
