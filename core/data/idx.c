// idx.c: MNIST / Fashion-MNIST in the IDX format, gzip-compressed or
// plain (zlib's gzread reads both). Files: {train,t10k}-images-idx3-ubyte[.gz]
// (magic 0x00000803, count, rows, cols, then count x rows x cols bytes) and
// {train,t10k}-labels-idx1-ubyte[.gz] (magic 0x00000801, count, then labels 0..9).
#include "core/data/formats.h"
#include "core/runtime/memory.h"

#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_CLASSES 10
#define IDX_MAX_RECORDS 10000000
#define IDX_MAX_SIDE 1024

// dir/base.gz, else dir/base. path gets the one opened.
static gzFile idx_open(char *path, size_t len, const char *dir, const char *base, WbError *err) {
    snprintf(path, len, "%s/%s.gz", dir, base);
    if (!path_is_file(path)) snprintf(path, len, "%s/%s", dir, base);
    if (!path_is_file(path)) {
        wb_error(err, "'%s/%s.gz': not found, nor '%s' (expected the IDX file %s, gzip-compressed or plain)", dir, base, path, base);
        return NULL;
    }
    gzFile f = gzopen(path, "rb");
    if (!f) wb_error(err, "'%s': cannot open", path);
    else gzbuffer(f, 1 << 17);
    return f;
}

// Reads exactly n bytes; -1 (with what was read in *got) on short read or zlib error.
static int gz_read_exact(gzFile f, void *dst, unsigned n, int *got, const char **zmsg) {
    int r = gzread(f, dst, n);
    *zmsg = NULL;
    if (r < 0) { int e; *zmsg = gzerror(f, &e); *got = 0; return -1; }
    *got = r;
    if ((unsigned)r != n) { int e; const char *m = gzerror(f, &e); if (e != Z_OK) *zmsg = m; return -1; }
    return 0;
}

static uint32_t be32(const unsigned char *b) { return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]; }

static int read_header(gzFile f, const char *path, uint32_t magic, int ndims, uint32_t *dims, WbError *err) {
    unsigned char h[16];
    int got;
    const char *zm;
    unsigned len = 4u * (1u + (unsigned)ndims);
    if (gz_read_exact(f, h, len, &got, &zm) < 0)
        return wb_error(err, "'%s': header truncated: %d of %u bytes%s%s (expected an IDX header)", path, got, len, zm ? ": " : "", zm ? zm : "");
    if (be32(h) != magic)
        return wb_error(err, "'%s': magic 0x%08x (expected 0x%08x: IDX unsigned bytes, %d dimension%s)", path, be32(h), magic, ndims, ndims > 1 ? "s" : "");
    for (int d = 0; d < ndims; d++) dims[d] = be32(h + 4 + 4 * d);
    if (dims[0] > IDX_MAX_RECORDS) return wb_error(err, "'%s': %u records (expected at most %d)", path, dims[0], IDX_MAX_RECORDS);
    for (int d = 1; d < ndims; d++)
        if (dims[d] < 1 || dims[d] > IDX_MAX_SIDE) return wb_error(err, "'%s': image side %u (expected 1..%d)", path, dims[d], IDX_MAX_SIDE);
    return 0;
}

static const char *prefix(const DataConfig *cfg) { return cfg->split == SPLIT_TEST ? "t10k" : "train"; }

int idx_index(DataSource *src, const DataConfig *cfg, const char *dir, WbError *err) {
    char lpath[DATA_PATH_MAX + 64], ipath[DATA_PATH_MAX + 64], base[64];
    snprintf(base, sizeof base, "%s-labels-idx1-ubyte", prefix(cfg));
    gzFile lf = idx_open(lpath, sizeof lpath, dir, base, err);
    if (!lf) return -1;
    uint32_t ldims[1], idims[3];
    int rc = read_header(lf, lpath, 0x00000801u, 1, ldims, err);
    if (rc == 0) {
        uint32_t n = ldims[0];
        unsigned char *lab = mem_alloc(n ? n : 1, MEM_DATA);
        int got;
        const char *zm;
        if (gz_read_exact(lf, lab, n, &got, &zm) < 0)
            rc = wb_error(err, "'%s': truncated at record %d: %d of %u labels present%s%s (expected %u bytes after the 8-byte header)",
                          lpath, got, got, n, zm ? "; " : "", zm ? zm : "", n);
        snprintf(src->listing, sizeof src->listing, "%s", lpath);
        src->record_kind = "record";
        src->num_classes = IDX_CLASSES;
        for (uint32_t k = 0; rc == 0 && k < n; k++) {
            if (lab[k] >= IDX_CLASSES) { rc = wb_error(err, "'%s': record %u has label %d (expected 0..%d)", lpath, k, lab[k], IDX_CLASSES - 1); break; }
            source_add(src, NULL, lab[k], (int)k);
        }
        mem_free(lab);
    }
    gzclose(lf);
    if (rc) return rc;
    snprintf(base, sizeof base, "%s-images-idx3-ubyte", prefix(cfg));
    gzFile imf = idx_open(ipath, sizeof ipath, dir, base, err);
    if (!imf) return -1;
    rc = read_header(imf, ipath, 0x00000803u, 3, idims, err);
    int plain = rc == 0 && gzdirect(imf);
    gzclose(imf);
    if (rc) return rc;
    if (idims[0] != ldims[0])
        return wb_error(err, "'%s' holds %u images but '%s' holds %u labels (expected the same count)", ipath, idims[0], lpath, ldims[0]);
    // idx_load allocates the pixels of every kept record before reading
    // them, so a header must not be trusted beyond what the file can back
    // (a 12 KB file may claim 4000 records of 1024x1024): a plain file must
    // hold all the bytes; a gzip stream expands at most ~1032:1 (deflate's limit).
    struct stat sb;
    unsigned long long need = 16ull + (unsigned long long)idims[0] * idims[1] * idims[2];
    if (stat(ipath, &sb) == 0) {
        unsigned long long have = (unsigned long long)sb.st_size, rec = (unsigned long long)idims[1] * idims[2];
        if (plain && have < need)   // the message idx_load would give, before allocating
            return wb_error(err, "'%s': record %llu of %u truncated: %llu of %llu bytes (expected %u records of %ux%u bytes)", ipath,
                            (have - 16) / rec, idims[0], (have - 16) % rec, rec, idims[0], idims[1], idims[2]);
        if (!plain && have * 1032ull + 1024ull < need)
            return wb_error(err, "'%s': the header announces %u records of %ux%u bytes (%llu bytes) but this gzip file of %llu bytes "
                            "cannot expand to more than %llu (expected a complete IDX file: truncated, or a corrupt header)",
                            ipath, idims[0], idims[1], idims[2], need, have, have * 1032ull + 1024ull);
    }
    src->H = (int)idims[1]; src->W = (int)idims[2]; src->C = 1;
    return 0;
}

int idx_load(DataSource *src, const DataConfig *cfg, const char *dir, const int *keep, int nkeep, WbError *err) {
    char ipath[DATA_PATH_MAX + 64], base[64];
    snprintf(base, sizeof base, "%s-images-idx3-ubyte", prefix(cfg));
    gzFile f = idx_open(ipath, sizeof ipath, dir, base, err);
    if (!f) return -1;
    uint32_t dims[3];
    int rc = read_header(f, ipath, 0x00000803u, 3, dims, err);
    if (rc == 0 && ((int)dims[0] != src->n || (int)dims[1] != src->H || (int)dims[2] != src->W))
        rc = wb_error(err, "'%s': header changed since it was indexed (%u x %u x %u)", ipath, dims[0], dims[1], dims[2]);
    if (rc) { gzclose(f); return rc; }
    unsigned rec = (unsigned)(src->H * src->W);
    src->pixels = mem_alloc((size_t)nkeep * rec + 1, MEM_DATA);
    uint8_t *skip = mem_alloc(rec, MEM_DATA);
    int k = 0;
    // Read every record (a truncated tail is an error even when not kept).
    for (int r = 0; r < src->n; r++) {
        int kept = k < nkeep && keep[k] == r;
        uint8_t *dst = kept ? src->pixels + (size_t)k * rec : skip;
        int got;
        const char *zm;
        if (gz_read_exact(f, dst, rec, &got, &zm) < 0) {
            rc = wb_error(err, "'%s': record %d of %d truncated: %d of %u bytes%s%s (expected %d records of %dx%d bytes)",
                          ipath, r, src->n, got, rec, zm ? "; zlib: " : "", zm ? zm : "", src->n, src->H, src->W);
            break;
        }
        k += kept;
    }
    mem_free(skip);
    gzclose(f);
    return rc;
}
