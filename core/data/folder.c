// folder.c: image-folder data sets listed by text files (Oxford-IIIT
// Pets, Flowers102, CUB-200-2011), and the record list / text-listing
// helpers every format file shares. ISIC 2018 (a CSV) is in isic.c.
// Expected layouts: core/data/DATA.md.
#include "core/data/formats.h"
#include "core/runtime/memory.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

// ---------------------------------------------------------------------------
// shared helpers

static void *grow_array(void *p, size_t elem, int cap) {
    return p ? mem_realloc(p, elem * (size_t)cap) : mem_alloc(elem * (size_t)cap, MEM_DATA);
}

void source_add(DataSource *src, const char *path, int label, int record) {
    if (src->n == src->cap) {
        src->cap = src->cap ? 2 * src->cap : 1024;
        src->labels = grow_array(src->labels, sizeof(int), src->cap);
        src->record = grow_array(src->record, sizeof(int), src->cap);
        if (path) src->file = grow_array(src->file, sizeof(size_t), src->cap);
    }
    src->labels[src->n] = label;
    src->record[src->n] = record;
    if (path) {
        size_t len = strlen(path) + 1;
        if (src->names_len + len > src->names_cap) {
            size_t c = src->names_cap ? src->names_cap : 65536;
            while (c < src->names_len + len) c *= 2;
            src->names = src->names ? mem_realloc(src->names, c) : mem_alloc(c, MEM_DATA);
            src->names_cap = c;
        }
        memcpy(src->names + src->names_len, path, len);
        src->file[src->n] = src->names_len;
        src->names_len += len;
    }
    src->n++;
}

const char *source_file(const DataSource *src, int i) { return src->names + src->file[i]; }

void source_free(DataSource *src) {
    mem_free(src->labels); mem_free(src->record); mem_free(src->file); mem_free(src->file_bytes);
    mem_free(src->names); mem_free(src->pixels);
    mem_free(src->texts); mem_free(src->text_off); mem_free(src->tokens);
    memset(src, 0, sizeof *src);
}

int path_is_dir(const char *path) { struct stat st; return stat(path, &st) == 0 && S_ISDIR(st.st_mode); }
int path_is_file(const char *path) { struct stat st; return stat(path, &st) == 0 && S_ISREG(st.st_mode); }

int text_read(ByteBuf *buf, const char *path, WbError *err) {
    if (!path_is_file(path)) return wb_error(err, "'%s': not found (expected a text listing file)", path);
    if (file_read_all(buf, path, err) < 0) return -1;
    buf->p[buf->n] = 0;   // file_read_all leaves one spare byte
    if (memchr(buf->p, 0, buf->n)) return wb_error(err, "'%s': contains NUL bytes (expected a text file)", path);
    return 0;
}

char *text_next_line(char **cursor, int *lineno) {
    char *s = *cursor;
    if (!s || !*s) return NULL;
    char *e = strchr(s, '\n');
    if (e) { *e = 0; *cursor = e + 1; } else *cursor = s + strlen(s);
    size_t n = strlen(s);
    if (n && s[n - 1] == '\r') s[n - 1] = 0;
    (*lineno)++;
    return s;
}

int parse_int(const char *s, long *v) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (errno || *end || end == s) return -1;
    *v = x;
    return 0;
}

// Split a line into whitespace-separated tokens (in place); returns the count.
static int tokens(char *line, char **tok, int max) {
    int n = 0;
    char *s = line;
    while (*s) {
        while (*s && (isspace((unsigned char)*s) || *s == ',')) *s++ = 0;
        if (!*s) break;
        if (n < max) tok[n] = s;
        n++;
        while (*s && !isspace((unsigned char)*s) && *s != ',') s++;
    }
    return n;
}

static int blank_or_comment(const char *line) {
    while (*line && isspace((unsigned char)*line)) line++;
    return *line == 0 || *line == '#';
}

static int join(char *out, size_t len, const char *a, const char *b, WbError *err) {
    int k = snprintf(out, len, "%s/%s", a, b);
    if (k < 0 || (size_t)k >= len) return wb_error(err, "path '%s/%s' is longer than %zu bytes", a, b, len - 1);
    return 0;
}

// ---------------------------------------------------------------------------
// Oxford-IIIT Pets: annotations/{trainval,test}.txt lines "Name CLASS-ID SPECIES BREED-ID",
// class ids 1..37, images/Name.jpg.

#define PETS_CLASSES 37

int pets_index(DataSource *src, const DataConfig *cfg, const char *dir, WbError *err) {
    char listing[DATA_PATH_MAX], images[DATA_PATH_MAX], path[DATA_PATH_MAX + 300];
    if (join(listing, sizeof listing, dir, cfg->split == SPLIT_TEST ? "annotations/test.txt" : "annotations/trainval.txt", err) < 0 ||
        join(images, sizeof images, dir, "images", err) < 0) return -1;
    if (!path_is_dir(images))
        return wb_error(err, "'%s': not a directory (expected the Pets images folder beside annotations/)", images);
    snprintf(src->listing, sizeof src->listing, "%s", listing);
    src->record_kind = "line";
    src->num_classes = PETS_CLASSES;
    ByteBuf buf = {0};
    if (text_read(&buf, listing, err) < 0) { bytebuf_free(&buf); return -1; }
    char *cur = (char *)buf.p, *line;
    int ln = 0, rc = 0;
    while ((line = text_next_line(&cur, &ln))) {
        if (blank_or_comment(line)) continue;
        char *tok[4];
        int nt = tokens(line, tok, 4);
        long cls;
        if (nt < 2) { rc = wb_error(err, "'%s' line %d: %d field(s) (expected 'Name CLASS-ID SPECIES BREED-ID')", listing, ln, nt); break; }
        if (parse_int(tok[1], &cls) < 0 || cls < 1 || cls > PETS_CLASSES) {
            rc = wb_error(err, "'%s' line %d: class id '%s' out of range (expected an integer 1..%d)", listing, ln, tok[1], PETS_CLASSES);
            break;
        }
        snprintf(path, sizeof path, "%s/%s.jpg", images, tok[0]);
        source_add(src, path, (int)cls - 1, ln);
    }
    bytebuf_free(&buf);
    return rc;
}

// ---------------------------------------------------------------------------
// Flowers102: text exports of the .mat files. imagelabels.txt holds one label
// 1..102 per image (image id = position, 1-based); trnid.txt, valid.txt and
// tstid.txt hold image ids. Training set = trnid + valid, test = tstid.
// Images are jpg/image_NNNNN.jpg. Integers may be separated by whitespace or commas.

#define FLOWERS_CLASSES 102

typedef struct { int *v; int n, cap; } IntList;

static int read_ints(IntList *out, const char *path, WbError *err) {
    ByteBuf buf = {0};
    if (text_read(&buf, path, err) < 0) { bytebuf_free(&buf); return -1; }
    char *cur = (char *)buf.p, *line;
    int ln = 0, rc = 0;
    while (rc == 0 && (line = text_next_line(&cur, &ln))) {
        if (blank_or_comment(line)) continue;
        char *s = line;
        while (rc == 0) {
            while (*s && (isspace((unsigned char)*s) || *s == ',')) s++;
            if (!*s) break;
            // MATLAB exports may print 12.0: accept an integral float
            char *end;
            errno = 0;
            double d = strtod(s, &end);
            if (end == s || (*end && !isspace((unsigned char)*end) && *end != ',') || errno ||
                !(d >= (double)INT_MIN && d <= (double)INT_MAX) || d != floor(d)) {
                char *e = s;
                while (*e && !isspace((unsigned char)*e) && *e != ',') e++;
                *e = 0;
                rc = wb_error(err, "'%s' line %d: '%s' is not an integer", path, ln, s);
                break;
            }
            if (out->n == out->cap) { out->cap = out->cap ? 2 * out->cap : 1024; out->v = grow_array(out->v, sizeof(int), out->cap); }
            out->v[out->n++] = (int)d;
            s = end;
        }
    }
    bytebuf_free(&buf);
    return rc;
}

int flowers_index(DataSource *src, const DataConfig *cfg, const char *dir, WbError *err) {
    char labels_path[DATA_PATH_MAX], jpg[DATA_PATH_MAX], path[DATA_PATH_MAX + 64];
    if (join(labels_path, sizeof labels_path, dir, "imagelabels.txt", err) < 0 || join(jpg, sizeof jpg, dir, "jpg", err) < 0) return -1;
    if (!path_is_dir(jpg)) return wb_error(err, "'%s': not a directory (expected the Flowers102 jpg/ folder)", jpg);
    IntList lab = {0}, ids = {0};
    int rc = read_ints(&lab, labels_path, err);
    if (rc == 0 && lab.n == 0) rc = wb_error(err, "'%s': no labels (expected one label 1..%d per image)", labels_path, FLOWERS_CLASSES);
    for (int k = 0; rc == 0 && k < lab.n; k++)
        if (lab.v[k] < 1 || lab.v[k] > FLOWERS_CLASSES)
            rc = wb_error(err, "'%s': label %d of image id %d out of range (expected 1..%d)", labels_path, lab.v[k], k + 1, FLOWERS_CLASSES);
    const char *lists[2] = {"trnid.txt", "valid.txt"};
    int nlists = 2;
    if (cfg->split == SPLIT_TEST) { lists[0] = "tstid.txt"; nlists = 1; }
    snprintf(src->listing, sizeof src->listing, "%s", labels_path);
    src->record_kind = "image id";
    src->num_classes = FLOWERS_CLASSES;
    for (int l = 0; rc == 0 && l < nlists; l++) {
        char list_path[DATA_PATH_MAX];
        if ((rc = join(list_path, sizeof list_path, dir, lists[l], err)) < 0) break;
        ids.n = 0;
        if ((rc = read_ints(&ids, list_path, err)) < 0) break;
        if (ids.n == 0) { rc = wb_error(err, "'%s': no image ids (expected image ids 1..%d)", list_path, lab.n); break; }
        for (int k = 0; k < ids.n; k++) {
            int id = ids.v[k];
            if (id < 1 || id > lab.n) {
                rc = wb_error(err, "'%s': entry %d is image id %d, out of range (expected 1..%d, the count of '%s')",
                              list_path, k + 1, id, lab.n, labels_path);
                break;
            }
            snprintf(path, sizeof path, "%s/image_%05d.jpg", jpg, id);
            source_add(src, path, lab.v[id - 1] - 1, id);
        }
    }
    mem_free(lab.v); mem_free(ids.v);
    return rc;
}

// ---------------------------------------------------------------------------
// CUB-200-2011: images.txt "<id> <relative path>", image_class_labels.txt
// "<id> <class 1..200>", train_test_split.txt "<id> <1 = train | 0 = test>",
// images under images/. Ids must be 1..N in images.txt.

#define CUB_CLASSES 200

typedef struct { int *a; int n; } IdTable;

// Reads "<id> <int>" lines into t->a[id-1]; t->n = number of images.
static int read_id_ints(IdTable *t, const char *path, int lo, int hi, const char *what, WbError *err) {
    ByteBuf buf = {0};
    if (text_read(&buf, path, err) < 0) { bytebuf_free(&buf); return -1; }
    for (int k = 0; k < t->n; k++) t->a[k] = INT_MIN;
    char *cur = (char *)buf.p, *line;
    int ln = 0, rc = 0;
    while ((line = text_next_line(&cur, &ln))) {
        if (blank_or_comment(line)) continue;
        char *tok[2];
        long id, v;
        int nt = tokens(line, tok, 2);
        if (nt != 2 || parse_int(tok[0], &id) < 0 || parse_int(tok[1], &v) < 0) {
            rc = wb_error(err, "'%s' line %d: expected '<image id> <%s>'", path, ln, what); break;
        }
        if (id < 1 || id > t->n) { rc = wb_error(err, "'%s' line %d: image id %ld out of range (expected 1..%d from images.txt)", path, ln, id, t->n); break; }
        if (v < lo || v > hi) { rc = wb_error(err, "'%s' line %d: %s %ld out of range (expected %d..%d)", path, ln, what, v, lo, hi); break; }
        t->a[id - 1] = (int)v;
    }
    for (int k = 0; rc == 0 && k < t->n; k++)
        if (t->a[k] == INT_MIN) rc = wb_error(err, "'%s': no line for image id %d (expected one line per image of images.txt)", path, k + 1);
    bytebuf_free(&buf);
    return rc;
}

// "<id> <path>": cuts the line after the id, *rel = the path (may hold spaces). 0 if no path.
static int split_id_path(char *line, char **rel) {
    char *s = line;
    while (*s && isspace((unsigned char)*s)) s++;
    if (s != line) memmove(line, s, strlen(s) + 1);
    s = line;
    while (*s && !isspace((unsigned char)*s)) s++;
    if (!*s) return 0;
    *s++ = 0;
    while (*s && isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    *rel = s;
    return n > 0;
}

int cub_index(DataSource *src, const DataConfig *cfg, const char *dir_in, WbError *err) {
    char dir[DATA_PATH_MAX], p_images[DATA_PATH_MAX], p_labels[DATA_PATH_MAX], p_split[DATA_PATH_MAX], imgdir[DATA_PATH_MAX];
    char path[2 * DATA_PATH_MAX];
    // accept the CUB_200_2011 folder itself or its parent
    snprintf(dir, sizeof dir, "%s", dir_in);
    if (join(p_images, sizeof p_images, dir, "images.txt", err) < 0) return -1;
    if (!path_is_file(p_images) && join(dir, sizeof dir, dir_in, "CUB_200_2011", err) == 0 && path_is_dir(dir))
        join(p_images, sizeof p_images, dir, "images.txt", err);
    if (join(p_labels, sizeof p_labels, dir, "image_class_labels.txt", err) < 0 ||
        join(p_split, sizeof p_split, dir, "train_test_split.txt", err) < 0 || join(imgdir, sizeof imgdir, dir, "images", err) < 0) return -1;
    if (!path_is_dir(imgdir)) return wb_error(err, "'%s': not a directory (expected the CUB-200-2011 images/ folder)", imgdir);
    ByteBuf buf = {0};
    if (text_read(&buf, p_images, err) < 0) { bytebuf_free(&buf); return -1; }
    // pass 1: count images and check ids run 1..N in order
    int n = 0, ln = 0, rc = 0;
    char *cur = (char *)buf.p, *line, *rel;
    while ((line = text_next_line(&cur, &ln))) {
        if (blank_or_comment(line)) continue;
        long id;
        if (!split_id_path(line, &rel) || parse_int(line, &id) < 0) { rc = wb_error(err, "'%s' line %d: expected '<image id> <path>'", p_images, ln); break; }
        if (id != n + 1) { rc = wb_error(err, "'%s' line %d: image id %ld (expected %d: ids must run 1..N in order)", p_images, ln, id, n + 1); break; }
        n++;
    }
    IdTable lab = {0}, split = {0};
    if (rc == 0 && n == 0) rc = wb_error(err, "'%s': no images listed (expected '<image id> <path>' lines)", p_images);
    if (rc == 0) {
        lab.n = split.n = n;
        lab.a = mem_alloc((size_t)n * sizeof(int), MEM_DATA);
        split.a = mem_alloc((size_t)n * sizeof(int), MEM_DATA);
        rc = read_id_ints(&lab, p_labels, 1, CUB_CLASSES, "class id", err);
        if (rc == 0) rc = read_id_ints(&split, p_split, 0, 1, "is_training_image flag", err);
    }
    // pass 2 on a fresh copy of images.txt (pass 1 cut its lines)
    if (rc == 0) rc = text_read(&buf, p_images, err);
    if (rc == 0) {
        snprintf(src->listing, sizeof src->listing, "%s", p_images);
        src->record_kind = "line";
        src->num_classes = CUB_CLASSES;
        int want = cfg->split == SPLIT_TEST ? 0 : 1, id = 0;
        cur = (char *)buf.p;
        ln = 0;
        while ((line = text_next_line(&cur, &ln))) {
            if (blank_or_comment(line)) continue;
            split_id_path(line, &rel);
            if (split.a[id] == want) {
                snprintf(path, sizeof path, "%s/%s", imgdir, rel);
                source_add(src, path, lab.a[id] - 1, ln);
            }
            id++;
        }
    }
    mem_free(lab.a); mem_free(split.a);
    bytebuf_free(&buf);
    return rc;
}
