// isic.c: ISIC 2018 task 3 (skin lesion classification). The ground-truth
// CSV (header "image,MEL,NV,BCC,AKIEC,BKL,DF,VASC", one-hot rows) is read
// with libcsv; images are <input folder>/<image>.jpg. Columns are found by
// name (extra columns are ignored); each row must have exactly one class at 1.
#include "core/data/formats.h"
#include "core/runtime/memory.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>

#define ISIC_CLASSES 7
static const char *isic_cols[ISIC_CLASSES] = {"MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC"};
#define ISIC_MAX_FIELDS 64

typedef struct {
    DataSource *src;
    const char *csv_path, *img_dir;
    WbError *err;
    int rc;                    // first error, then rows are ignored
    int row;                   // rows seen (1 = header)
    int line;                  // the current row's line in the file
    const int *row_line;       // (n_rows) line of each row: libcsv skips blank lines
    int n_rows;
    int nf;                    // fields in the current row
    char field[ISIC_MAX_FIELDS][256];
    int col_image, col_cls[ISIC_CLASSES], ncols;
} IsicCtx;

static void on_field(void *s, size_t len, void *data) {
    IsicCtx *c = data;
    if (c->nf < ISIC_MAX_FIELDS) {
        size_t n = len < 255 ? len : 255;
        if (s) memcpy(c->field[c->nf], s, n);
        c->field[c->nf][n] = 0;
    }
    c->nf++;
}

static void on_row(int term, void *data) {
    (void)term;
    IsicCtx *c = data;
    c->row++;
    c->line = c->row <= c->n_rows ? c->row_line[c->row - 1] : c->row;
    int nf = c->nf;
    c->nf = 0;
    if (c->rc) return;
    if (c->row == 1) {   // header
        char *f0 = c->field[0];
        if (!strncmp(f0, "\xef\xbb\xbf", 3)) memmove(f0, f0 + 3, strlen(f0 + 3) + 1);   // UTF-8 BOM
        c->ncols = nf;
        c->col_image = -1;
        for (int k = 0; k < ISIC_CLASSES; k++) c->col_cls[k] = -1;
        for (int f = 0; f < nf && f < ISIC_MAX_FIELDS; f++) {
            if (!strcmp(c->field[f], "image")) c->col_image = f;
            for (int k = 0; k < ISIC_CLASSES; k++) if (!strcmp(c->field[f], isic_cols[k])) c->col_cls[k] = f;
        }
        if (c->col_image < 0)
            c->rc = wb_error(c->err, "'%s' line %d: header has no column 'image' (expected image,MEL,NV,BCC,AKIEC,BKL,DF,VASC)", c->csv_path, c->line);
        for (int k = 0; !c->rc && k < ISIC_CLASSES; k++)
            if (c->col_cls[k] < 0)
                c->rc = wb_error(c->err, "'%s' line %d: header has no column '%s' (expected image,MEL,NV,BCC,AKIEC,BKL,DF,VASC)",
                                 c->csv_path, c->line, isic_cols[k]);
        return;
    }
    if (nf != c->ncols) {
        c->rc = wb_error(c->err, "'%s' line %d: %d fields (expected %d, as in the header)", c->csv_path, c->line, nf, c->ncols);
        return;
    }
    int cls = -1, ones = 0;
    for (int k = 0; k < ISIC_CLASSES; k++) {
        const char *v = c->field[c->col_cls[k]];
        char *end;
        double d = strtod(v, &end);
        if (end == v || *end || !(d == 0.0 || d == 1.0)) {
            c->rc = wb_error(c->err, "'%s' line %d: column %s is '%s' (expected 0 or 1)", c->csv_path, c->line, isic_cols[k], v);
            return;
        }
        if (d == 1.0) { cls = k; ones++; }
    }
    if (ones != 1) {
        c->rc = wb_error(c->err, "'%s' line %d: %d of the columns MEL..VASC are 1 (expected exactly one: one-hot labels)",
                         c->csv_path, c->line, ones);
        return;
    }
    const char *name = c->field[c->col_image];
    if (!*name) { c->rc = wb_error(c->err, "'%s' line %d: empty image name", c->csv_path, c->line); return; }
    char path[DATA_PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/%s.jpg", c->img_dir, name);
    source_add(c->src, path, cls, c->line);
}

// An image listed twice (maybe with two labels) would be trained on twice
// or with a contradiction: refused, naming both lines.
typedef struct { const char *name; int i; } NameRef;
static int cmp_name(const void *a, const void *b) {
    const NameRef *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : x->i - y->i;
}

static int check_unique_images(const DataSource *src, const char *csv_path, WbError *err) {
    if (src->n < 2) return 0;
    NameRef *r = mem_alloc(sizeof *r * (size_t)src->n, MEM_DATA);
    for (int i = 0; i < src->n; i++) r[i] = (NameRef){source_file(src, i), i};
    qsort(r, (size_t)src->n, sizeof *r, cmp_name);
    int rc = 0;
    for (int k = 1; k < src->n && !rc; k++)
        if (!strcmp(r[k - 1].name, r[k].name)) {
            int a = r[k - 1].i, b = r[k].i;
            rc = wb_error(err, "'%s' lines %d and %d: image '%s' listed twice (as %s and %s; expected each image once)", csv_path,
                          src->record[a], src->record[b], r[k].name, isic_cols[src->labels[a]], isic_cols[src->labels[b]]);
        }
    mem_free(r);
    return rc;
}

// libcsv's buffers go through the tracked allocator too.
static void *csv_realloc_tracked(void *p, size_t n) { return p ? mem_realloc(p, n) : mem_alloc(n, MEM_DATA); }
static void csv_free_tracked(void *p) { mem_free(p); }

// First existing of dir/name and dir/folder/name.
static int find_in(char *out, size_t len, const char *dir, const char *folder, const char *name) {
    snprintf(out, len, "%s/%s", dir, name);
    if (path_is_file(out) || path_is_dir(out)) return 1;
    snprintf(out, len, "%s/%s/%s", dir, folder, name);
    return path_is_file(out) || path_is_dir(out);
}

int isic_index(DataSource *src, const DataConfig *cfg, const char *dir, WbError *err) {
    const char *part = cfg->split == SPLIT_TEST ? "Test" : "Training";
    char csv_name[128], gt_folder[128], input_name[128], csv_path[DATA_PATH_MAX], img_dir[DATA_PATH_MAX];
    snprintf(csv_name, sizeof csv_name, "ISIC2018_Task3_%s_GroundTruth.csv", part);
    snprintf(gt_folder, sizeof gt_folder, "ISIC2018_Task3_%s_GroundTruth", part);
    snprintf(input_name, sizeof input_name, "ISIC2018_Task3_%s_Input", part);
    if (!find_in(csv_path, sizeof csv_path, dir, gt_folder, csv_name))
        return wb_error(err, "'%s/%s': not found (expected the ISIC 2018 task 3 ground-truth CSV there or in %s/%s/)",
                        dir, csv_name, dir, gt_folder);
    snprintf(img_dir, sizeof img_dir, "%s/%s", dir, input_name);
    if (!path_is_dir(img_dir)) return wb_error(err, "'%s': not a directory (expected the ISIC 2018 %s images)", img_dir, part);
    ByteBuf buf = {0};
    if (file_read_all(&buf, csv_path, err) < 0) { bytebuf_free(&buf); return -1; }
    snprintf(src->listing, sizeof src->listing, "%s", csv_path);
    src->record_kind = "line";
    src->num_classes = ISIC_CLASSES;
    IsicCtx *c = mem_alloc(sizeof *c, MEM_DATA);
    c->src = src; c->csv_path = csv_path; c->img_dir = img_dir; c->err = err;
    // row -> line map for messages (assumes no newline inside a quoted field)
    int n_lines = 1;
    for (size_t k = 0; k < buf.n; k++) n_lines += buf.p[k] == '\n';
    int *row_line = mem_alloc((size_t)n_lines * sizeof(int), MEM_DATA), ln = 1, blank = 1;
    for (size_t k = 0; k <= buf.n; k++) {
        if (k == buf.n || buf.p[k] == '\n') {
            if (!blank) row_line[c->n_rows++] = ln;
            ln++; blank = 1;
        } else if (buf.p[k] != '\r') blank = 0;
    }
    c->row_line = row_line;
    struct csv_parser p;
    int rc = 0;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) die("csv_init failed");
    csv_set_realloc_func(&p, csv_realloc_tracked);
    csv_set_free_func(&p, csv_free_tracked);
    if (csv_parse(&p, buf.p, buf.n, on_field, on_row, c) != buf.n || csv_fini(&p, on_field, on_row, c) != 0)
        rc = c->rc ? c->rc : wb_error(err, "'%s' near line %d: CSV parse error: %s (expected comma-separated fields, quotes balanced)",
                                      csv_path, c->row < c->n_rows ? c->row_line[c->row] : c->row + 1, csv_strerror(csv_error(&p)));
    if (!rc) rc = c->rc;
    if (!rc && c->row == 0) rc = wb_error(err, "'%s': empty file (expected a header line image,MEL,NV,BCC,AKIEC,BKL,DF,VASC)", csv_path);
    if (!rc) rc = check_unique_images(src, csv_path, err);
    csv_free(&p);
    mem_free(row_line);
    mem_free(c);
    bytebuf_free(&buf);
    return rc;
}
