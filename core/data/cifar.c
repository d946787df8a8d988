// cifar.c: CIFAR-10 and CIFAR-100, binary versions. CIFAR-10:
// data_batch_1.bin .. data_batch_5.bin (train) and test_batch.bin, records of
// 1 label byte + 3072 pixel bytes (R plane, G plane, B plane, 32x32 each).
// CIFAR-100: train.bin and test.bin, records of coarse label, fine label,
// 3072 pixel bytes; fine labels (100 classes) unless cfg->coarse_labels.
// Files may be gzip-compressed (name.gz). The folder may be the one holding
// the files or its parent holding cifar-10-batches-bin/ or cifar-100-binary/.
#include "core/data/formats.h"
#include "core/runtime/memory.h"

#include <string.h>
#include <zlib.h>

#define CIFAR_PIX 3072

typedef struct {
    int nfiles;
    char path[5][DATA_PATH_MAX + 64];
    int rec;          // bytes per record
    int label_off;    // which leading byte is the label
    int num_classes;
} CifarLayout;

static int layout(CifarLayout *L, const DataConfig *cfg, const char *dir_in, WbError *err) {
    int c100 = cfg->format == DATA_CIFAR100;
    char dir[DATA_PATH_MAX + 32];
    const char *sub = c100 ? "cifar-100-binary" : "cifar-10-batches-bin";
    snprintf(dir, sizeof dir, "%s/%s", dir_in, sub);
    if (!path_is_dir(dir)) snprintf(dir, sizeof dir, "%s", dir_in);
    L->rec = c100 ? CIFAR_PIX + 2 : CIFAR_PIX + 1;
    L->label_off = c100 ? (cfg->coarse_labels ? 0 : 1) : 0;
    L->num_classes = c100 ? (cfg->coarse_labels ? 20 : 100) : 10;
    const char *names[5];
    if (c100) { names[0] = cfg->split == SPLIT_TEST ? "test.bin" : "train.bin"; L->nfiles = 1; }
    else if (cfg->split == SPLIT_TEST) { names[0] = "test_batch.bin"; L->nfiles = 1; }
    else {
        static const char *b[5] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"};
        for (int k = 0; k < 5; k++) names[k] = b[k];
        L->nfiles = 5;
    }
    for (int k = 0; k < L->nfiles; k++) {
        snprintf(L->path[k], sizeof L->path[k], "%s/%s", dir, names[k]);
        if (path_is_file(L->path[k])) continue;
        snprintf(L->path[k], sizeof L->path[k], "%s/%s.gz", dir, names[k]);
        if (!path_is_file(L->path[k]))
            return wb_error(err, "'%s/%s': not found (expected the %s binary version: %s)", dir, names[k], c100 ? "CIFAR-100" : "CIFAR-10",
                            c100 ? "train.bin, test.bin" : "data_batch_1.bin .. data_batch_5.bin, test_batch.bin");
    }
    return 0;
}

// Walk every record of every file; keep[] (ascending, may be NULL) selects
// the records whose pixels are stored. On the index pass (pixels == NULL)
// labels are checked and recorded.
static int walk(DataSource *src, const CifarLayout *L, const int *keep, int nkeep, uint8_t *pixels, WbError *err) {
    uint8_t rec[CIFAR_PIX + 2];
    int global = 0, k = 0, rc = 0;
    for (int fi = 0; rc == 0 && fi < L->nfiles; fi++) {
        gzFile f = gzopen(L->path[fi], "rb");
        if (!f) return wb_error(err, "'%s': cannot open", L->path[fi]);
        gzbuffer(f, 1 << 17);
        for (int r = 0;; r++) {
            int got = gzread(f, rec, (unsigned)L->rec);
            if (got == 0) {
                if (r == 0) rc = wb_error(err, "'%s': no records (expected %d-byte records)", L->path[fi], L->rec);
                break;
            }
            if (got != L->rec) {
                int e;
                const char *zm = gzerror(f, &e);
                rc = wb_error(err, "'%s': record %d truncated: %d of %d bytes%s%s (expected whole %d-byte records: %s3x32x32 pixels)",
                              L->path[fi], r, got < 0 ? 0 : got, L->rec, e != Z_OK ? "; zlib: " : "", e != Z_OK ? zm : "", L->rec,
                              L->rec == CIFAR_PIX + 2 ? "coarse label, fine label, " : "label, ");
                break;
            }
            if (!pixels) {
                int lab = rec[L->label_off];
                if (lab >= L->num_classes) {
                    rc = wb_error(err, "'%s': record %d has %slabel %d (expected 0..%d)", L->path[fi], r,
                                  L->rec == CIFAR_PIX + 2 ? (L->label_off ? "fine " : "coarse ") : "", lab, L->num_classes - 1);
                    break;
                }
                source_add(src, NULL, lab, global);
            } else if (k < nkeep && keep[k] == global) {
                // CHW planes -> HWC
                uint8_t *dst = pixels + (size_t)k * CIFAR_PIX;
                const uint8_t *p = rec + (L->rec - CIFAR_PIX);
                for (int i = 0; i < 1024; i++) { dst[3 * i] = p[i]; dst[3 * i + 1] = p[1024 + i]; dst[3 * i + 2] = p[2048 + i]; }
                k++;
            }
            global++;
        }
        gzclose(f);
    }
    if (rc == 0 && pixels && (global != src->n || k != nkeep))
        rc = wb_error(err, "'%s': files changed since they were indexed (%d records, expected %d)", L->path[0], global, src->n);
    return rc;
}

int cifar_index(DataSource *src, const DataConfig *cfg, const char *dir, WbError *err) {
    CifarLayout L;
    if (layout(&L, cfg, dir, err) < 0) return -1;
    snprintf(src->listing, sizeof src->listing, "%s", L.path[0]);
    src->record_kind = "record";
    src->num_classes = L.num_classes;
    src->H = 32; src->W = 32; src->C = 3;
    return walk(src, &L, NULL, 0, NULL, err);
}

int cifar_load(DataSource *src, const DataConfig *cfg, const char *dir, const int *keep, int nkeep, WbError *err) {
    CifarLayout L;
    if (layout(&L, cfg, dir, err) < 0) return -1;
    src->pixels = mem_alloc((size_t)nkeep * CIFAR_PIX + 1, MEM_DATA);
    return walk(src, &L, keep, nkeep, src->pixels, err);
}
