// safetensors.c: the safetensors reader (header parsed with cJSON, tensors
// read on demand with fseeko/fread) and the atomic writer (see safetensors.h).
#include "core/io/safetensors.h"
#include "core/linalg/half.h"
#include "core/runtime/memory.h"

#include <cJSON.h>
#include "core/io/json_tracked.h"
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

// The data section is little-endian; we read it straight into floats, which
// is only right on a little-endian host. Refuse loudly anywhere else.
static void host_check(void) {
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    if (first != 1)
        die("safetensors: this host is big-endian; the format stores little-endian data and byte swapping is "
            "not implemented (run on a little-endian machine)");
}

// cJSON allocates through the tracked allocator (category workspace) while we
// parse or print (core/io/json_tracked.h).

static const struct { const char *name; int size; } DTYPES[] = {
    {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
    {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1}, {"BOOL", 1}, {"F8_E5M2", 1}, {"F8_E4M3", 1},
};

static int dtype_size(const char *s) {
    for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (strcmp(DTYPES[i].name, s) == 0) return DTYPES[i].size;
    return 0;
}

// "[2, 3, 4]"
static void fmt_shape(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && k < cap; d++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%" PRId64, d ? ", " : "", shape[d]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

// A JSON number that is a non-negative integer representable exactly (<= 2^53).
static int json_u64(const cJSON *x, uint64_t *out) {
    if (!cJSON_IsNumber(x)) return 0;
    double d = x->valuedouble;
    if (!(d >= 0.0) || d > 9007199254740992.0 || d != floor(d)) return 0;
    *out = (uint64_t)d;
    return 1;
}

static int cmp_by_name(const void *a, const void *b) {
    return strcmp((*(const StTensor *const *)a)->name, (*(const StTensor *const *)b)->name);
}

static int cmp_by_offset(const void *a, const void *b) {
    const StTensor *x = *(const StTensor *const *)a, *y = *(const StTensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

// Fill err with "'path': ..." and close st; returns -1.
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int st_fail(SafeTensors *st, WbError *err, const char *fmt, ...) {
    if (err) {
        int k = snprintf(err->msg, sizeof err->msg, "'%s': ", st->path);
        if (k < 0 || (size_t)k >= sizeof err->msg) k = 0;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg + k, sizeof err->msg - (size_t)k, fmt, ap);
        va_end(ap);
    }
    st_close(st);
    return -1;
}

// Printable excerpt of untrusted header text for error messages.
static void excerpt(char *dst, size_t cap, const char *src, size_t n) {
    size_t k = 0;
    for (; k < n && k + 1 < cap; k++) dst[k] = (src[k] >= 32 && src[k] < 127) ? src[k] : '?';
    dst[k] = 0;
}

// One tensor entry of the header: validate the fields into t. Returns 0 or a
// message in msg.
static int parse_entry(StTensor *t, const cJSON *e, char *msg, size_t cap) {
    const char *name = e->string;
    if (strlen(name) >= ST_NAME_MAX) { snprintf(msg, cap, "tensor name '%.40s...' is longer than %d bytes", name, ST_NAME_MAX - 1); return -1; }
    strcpy(t->name, name);
    t->shard = -1;
    if (!cJSON_IsObject(e)) { snprintf(msg, cap, "header entry for tensor '%s' is not an object {dtype, shape, data_offsets}", name); return -1; }
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    const char *missing = !dt ? "dtype" : !sh ? "shape" : !of ? "data_offsets" : NULL;
    if (missing) { snprintf(msg, cap, "tensor '%s': missing field '%s'", name, missing); return -1; }
    if (!cJSON_IsString(dt)) { snprintf(msg, cap, "tensor '%s': field 'dtype' must be a string like \"F32\"", name); return -1; }
    int esize = dtype_size(dt->valuestring);
    if (!esize) { snprintf(msg, cap, "tensor '%s': unknown dtype '%.16s' (known: F32, F16, BF16, F64, I64, I32, ...)", name, dt->valuestring); return -1; }
    strcpy(t->dtype, dt->valuestring);
    if (!cJSON_IsArray(sh)) { snprintf(msg, cap, "tensor '%s': field 'shape' must be an array of non-negative integers", name); return -1; }
    int nd = cJSON_GetArraySize(sh);
    if (nd > ST_MAX_DIMS) { snprintf(msg, cap, "tensor '%s': shape has %d dims (at most %d supported)", name, nd, ST_MAX_DIMS); return -1; }
    t->ndim = nd;
    uint64_t numel = 1;
    int d = 0;
    for (const cJSON *x = sh->child; x; x = x->next, d++) {
        uint64_t v;
        if (!json_u64(x, &v)) { snprintf(msg, cap, "tensor '%s': shape[%d] must be a non-negative integer", name, d); return -1; }
        t->shape[d] = (int64_t)v;
        if (v && numel > UINT64_MAX / v) { snprintf(msg, cap, "tensor '%s': shape overflows 64 bits", name); return -1; }
        numel *= v;
    }
    if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2 || !json_u64(of->child, &t->begin) || !json_u64(of->child->next, &t->end)) {
        snprintf(msg, cap, "tensor '%s': field 'data_offsets' must be [begin, end], two non-negative integers", name);
        return -1;
    }
    if (t->begin > t->end) { snprintf(msg, cap, "tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] has begin > end", name, t->begin, t->end); return -1; }
    if (numel > UINT64_MAX / (uint64_t)esize || numel * (uint64_t)esize != t->end - t->begin) {
        char s[160];
        fmt_shape(s, sizeof s, t->ndim, t->shape);
        snprintf(msg, cap, "tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] span %" PRIu64 " bytes but shape %s of %s needs %" PRIu64 " (corrupt header)",
                 name, t->begin, t->end, t->end - t->begin, s, t->dtype, numel * (uint64_t)esize);
        return -1;
    }
    return 0;
}

static char *dup_string(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = mem_alloc(n, MEM_WORKSPACE);
    memcpy(p, s, n);
    return p;
}

// Parse the header text into st (tensor table, metadata) and check the data
// section is tiled exactly. cJSON hooks are on while root lives.
static int parse_header(SafeTensors *st, const char *text, size_t n, char *msg, size_t cap) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    int rc = -1;
    if (!root) {
        size_t at = end && end >= text && end <= text + n ? (size_t)(end - text) : 0;
        char ex[32];
        excerpt(ex, sizeof ex, text + at, n - at);
        snprintf(msg, cap, "header (%zu bytes) is not valid JSON: error at byte %zu near \"%s\" (corrupt or not a safetensors file)", n, at, ex);
        return -1;
    }
    for (const char *p = end; p < text + n; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            snprintf(msg, cap, "header has garbage after the JSON object at byte %zu (corrupt header)", (size_t)(p - text));
            goto done;
        }
    if (!cJSON_IsObject(root)) { snprintf(msg, cap, "header is JSON but not an object {name: {dtype, shape, data_offsets}}"); goto done; }
    int nt = 0, nm = 0;
    const cJSON *meta = NULL;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if (meta) { snprintf(msg, cap, "header has '__metadata__' twice"); goto done; }
            meta = e;
        } else nt++;
    }
    if (meta) {
        if (!cJSON_IsObject(meta)) { snprintf(msg, cap, "'__metadata__' must be an object {string: string}"); goto done; }
        for (const cJSON *x = meta->child; x; x = x->next, nm++)
            if (!cJSON_IsString(x)) { snprintf(msg, cap, "'__metadata__' value for key '%.64s' must be a string", x->string); goto done; }
    }
    st->t = mem_alloc(sizeof(StTensor) * (size_t)(nt ? nt : 1), MEM_WORKSPACE);
    st->by_name = mem_alloc(sizeof(StTensor *) * (size_t)(nt ? nt : 1), MEM_WORKSPACE);
    st->meta = mem_alloc(sizeof(StMeta) * (size_t)(nm ? nm : 1), MEM_WORKSPACE);
    for (const cJSON *e = root->child; e; e = e->next) {
        if (e == meta) continue;
        if (parse_entry(&st->t[st->n], e, msg, cap)) goto done;
        st->by_name[st->n] = &st->t[st->n];
        st->n++;
    }
    if (meta)
        for (const cJSON *x = meta->child; x; x = x->next) {
            st->meta[st->nmeta].key = dup_string(x->string);
            st->meta[st->nmeta].value = dup_string(x->valuestring);
            st->nmeta++;
        }
    qsort(st->by_name, (size_t)st->n, sizeof *st->by_name, cmp_by_name);
    for (int i = 1; i < st->n; i++)
        if (strcmp(st->by_name[i - 1]->name, st->by_name[i]->name) == 0) {
            snprintf(msg, cap, "tensor '%s' appears twice in the header", st->by_name[i]->name);
            goto done;
        }

    // The data section must be tiled exactly: no tensor past the end, no
    // overlap, no hole, nothing after the last tensor.
    uint64_t data_len = st->file_size - st->data_start;
    for (int i = 0; i < st->n; i++)
        if (st->t[i].end > data_len) {
            snprintf(msg, cap, "tensor '%s' ends at byte %" PRIu64 " of the data section but the file has only %" PRIu64
                     " data bytes (file truncated?)", st->t[i].name, st->t[i].end, data_len);
            goto done;
        }
    const StTensor **by_off = mem_alloc(sizeof(StTensor *) * (size_t)(st->n ? st->n : 1), MEM_WORKSPACE);
    memcpy(by_off, st->by_name, sizeof(StTensor *) * (size_t)st->n);
    qsort(by_off, (size_t)st->n, sizeof *by_off, cmp_by_offset);
    uint64_t pos = 0;
    const char *prev = NULL;
    for (int i = 0; i < st->n; i++) {
        const StTensor *t = by_off[i];
        if (t->begin < pos) {
            snprintf(msg, cap, "tensors '%s' and '%s' overlap in the data section (bytes %" PRIu64 "..%" PRIu64 "; corrupt header)",
                     prev, t->name, t->begin, pos);
            mem_free(by_off); goto done;
        }
        if (t->begin > pos) {
            snprintf(msg, cap, "hole of %" PRIu64 " bytes before tensor '%s' in the data section (corrupt header)", t->begin - pos, t->name);
            mem_free(by_off); goto done;
        }
        if (t->end > t->begin || !prev) prev = t->name;
        pos = t->end;
    }
    mem_free(by_off);
    if (pos != data_len) {
        snprintf(msg, cap, "%" PRIu64 " bytes follow the last tensor in the data section (corrupt file or wrong header)", data_len - pos);
        goto done;
    }
    rc = 0;
done:
    cJSON_Delete(root);
    return rc;
}

// One .safetensors file (st_open below dispatches on the kind of path).
static int open_file(SafeTensors *st, const char *path, WbError *err) {
    host_check();
    memset(st, 0, sizeof *st);
    if (strlen(path) >= sizeof st->path) return wb_error(err, "'%s': path too long (at most %zu chars)", path, sizeof st->path - 1);
    strcpy(st->path, path);
    st->f = fopen(path, "rb");
    if (!st->f) return st_fail(st, err, "cannot open for reading: %s", strerror(errno));
    if (fseeko(st->f, 0, SEEK_END) != 0) return st_fail(st, err, "cannot seek: %s", strerror(errno));
    off_t size = ftello(st->f);
    if (size < 0) return st_fail(st, err, "cannot tell the file size: %s", strerror(errno));
    st->file_size = (uint64_t)size;
    if (st->file_size < 8)
        return st_fail(st, err, "file has %" PRIu64 " bytes, fewer than the 8-byte header length: empty, truncated or not a safetensors file", st->file_size);
    unsigned char len8[8];
    if (fseeko(st->f, 0, SEEK_SET) != 0 || fread(len8, 1, 8, st->f) != 8) return st_fail(st, err, "cannot read the header length: %s", strerror(errno));
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | len8[i];
    if (n > ST_MAX_HEADER)
        return st_fail(st, err, "header length %" PRIu64 " bytes is absurd (limit %u): corrupt or not a safetensors file", n, ST_MAX_HEADER);
    if (n > st->file_size - 8)
        return st_fail(st, err, "header length %" PRIu64 " bytes but only %" PRIu64 " bytes follow the length field: file truncated or not safetensors",
                       n, st->file_size - 8);
    st->data_start = 8 + n;
    char *text = mem_alloc((size_t)n + 1, MEM_WORKSPACE);
    if (fread(text, 1, (size_t)n, st->f) != (size_t)n) {
        mem_free(text);
        return st_fail(st, err, "cannot read the %" PRIu64 "-byte header: %s", n, ferror(st->f) ? strerror(errno) : "end of file");
    }
    char msg[WB_ERRLEN - 64];
    json_tracked_begin(MEM_WORKSPACE);
    int rc = parse_header(st, text, (size_t)n, msg, sizeof msg);
    json_tracked_end();
    mem_free(text);
    if (rc) return st_fail(st, err, "%s", msg);
    return 0;
}

// --- sharded checkpoints (model.safetensors.index.json) ---------------------

#define ST_INDEX_NAME "model.safetensors.index.json"

static int shard_pos(const SafeTensors *st, const char *path) {
    for (int i = 0; i < st->nshards; i++)
        if (strcmp(st->shard[i].path, path) == 0) return i;
    return -1;
}

// Validate the index JSON (text, n bytes) and copy its weight_map into st:
// the table gets the names and shard numbers, st->shard the shard paths
// (relative to the index's folder; not opened yet). Returns 0 or a message.
static int parse_index(SafeTensors *st, const char *text, size_t n, char *msg, size_t cap) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    int rc = -1;
    if (!root) {
        size_t at = end && end >= text && end <= text + n ? (size_t)(end - text) : 0;
        char ex[32];
        excerpt(ex, sizeof ex, text + at, n - at);
        snprintf(msg, cap, "index (%zu bytes) is not valid JSON: error at byte %zu near \"%s\"", n, at, ex);
        return -1;
    }
    for (const char *p = end; p < text + n; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') { snprintf(msg, cap, "index has garbage after the JSON object at byte %zu", (size_t)(p - text)); goto done; }
    const cJSON *m = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "weight_map") : NULL;
    if (!cJSON_IsObject(m)) { snprintf(msg, cap, "index is not an object with a \"weight_map\": {tensor name: shard file} (not a model.safetensors.index.json?)"); goto done; }
    int nmap = cJSON_GetArraySize(m);
    if (!nmap) { snprintf(msg, cap, "index has an empty weight_map"); goto done; }
    st->t = mem_alloc(sizeof(StTensor) * (size_t)nmap, MEM_WORKSPACE);
    st->by_name = mem_alloc(sizeof(StTensor *) * (size_t)nmap, MEM_WORKSPACE);
    st->shard = mem_alloc(sizeof(StShard) * (size_t)nmap, MEM_WORKSPACE);   // at most one shard per name
    const char *slash = strrchr(st->path, '/');
    int dirlen = slash ? (int)(slash - st->path) + 1 : 0;
    for (const cJSON *x = m->child; x; x = x->next) {
        if (strlen(x->string) >= ST_NAME_MAX) { snprintf(msg, cap, "weight_map: tensor name '%.40s...' is longer than %d bytes", x->string, ST_NAME_MAX - 1); goto done; }
        if (!cJSON_IsString(x) || !x->valuestring[0] || x->valuestring[0] == '/') {
            snprintf(msg, cap, "weight_map: the value for tensor '%s' must be a shard file name relative to the index's folder", x->string);
            goto done;
        }
        char sp[sizeof st->path];
        if (snprintf(sp, sizeof sp, "%.*s%s", dirlen, st->path, x->valuestring) >= (int)sizeof sp) {
            snprintf(msg, cap, "weight_map: shard path of tensor '%s' is longer than %zu chars", x->string, sizeof sp - 1);
            goto done;
        }
        int k = shard_pos(st, sp);
        if (k < 0) {
            k = st->nshards++;
            memset(&st->shard[k], 0, sizeof st->shard[k]);
            strcpy(st->shard[k].path, sp);
        }
        StTensor *t = &st->t[st->n];
        memset(t, 0, sizeof *t);
        strcpy(t->name, x->string);
        t->shard = k;
        st->by_name[st->n++] = t;
    }
    qsort(st->by_name, (size_t)st->n, sizeof *st->by_name, cmp_by_name);
    for (int i = 1; i < st->n; i++)
        if (strcmp(st->by_name[i - 1]->name, st->by_name[i]->name) == 0) {
            snprintf(msg, cap, "tensor '%s' appears twice in the weight_map", st->by_name[i]->name);
            goto done;
        }
    rc = 0;
done:
    cJSON_Delete(root);
    return rc;
}

// Open every shard once and fill the table's entries from its header.
// Returns 0, or -1 with err filled (naming the index and the shard).
static int open_shards(SafeTensors *st, WbError *err) {
    for (int k = 0; k < st->nshards; k++) {
        StShard *sh = &st->shard[k];
        SafeTensors sub;
        WbError e2;
        if (open_file(&sub, sh->path, &e2) < 0) return wb_error(err, "'%s': a shard of the weight_map: %s", st->path, e2.msg);
        sh->f = sub.f;   // kept open: st_close closes it
        sh->data_start = sub.data_start;
        sub.f = NULL;
        int rc = 0;
        for (int i = 0; i < st->n && rc == 0; i++) {
            StTensor *t = &st->t[i];
            if (t->shard != k) continue;
            const StTensor *s = st_find(&sub, t->name);
            if (!s) rc = wb_error(err, "'%s': weight_map puts tensor '%s' in shard '%s' but that file has no such tensor", st->path, t->name, sh->path);
            else { *t = *s; t->shard = k; }
        }
        st_close(&sub);
        if (rc) return -1;
    }
    return 0;
}

static int open_index(SafeTensors *st, const char *path, WbError *err) {
    host_check();
    memset(st, 0, sizeof *st);
    if (strlen(path) >= sizeof st->path) return wb_error(err, "'%s': path too long (at most %zu chars)", path, sizeof st->path - 1);
    strcpy(st->path, path);
    FILE *f = fopen(path, "rb");
    if (!f) return st_fail(st, err, "cannot open the checkpoint index for reading: %s", strerror(errno));
    off_t size = fseeko(f, 0, SEEK_END) == 0 ? ftello(f) : -1;
    if (size < 0) { fclose(f); return st_fail(st, err, "cannot tell the size of the index: %s", strerror(errno)); }
    if ((uint64_t)size > ST_MAX_HEADER) { fclose(f); return st_fail(st, err, "index of %lld bytes is absurd (limit %u)", (long long)size, ST_MAX_HEADER); }
    char *text = mem_alloc((size_t)size + 1, MEM_WORKSPACE);
    int got = fseeko(f, 0, SEEK_SET) == 0 && fread(text, 1, (size_t)size, f) == (size_t)size;
    fclose(f);
    if (!got) { mem_free(text); return st_fail(st, err, "cannot read the index: %s", strerror(errno)); }
    char msg[WB_ERRLEN - 64];
    json_tracked_begin(MEM_WORKSPACE);
    int rc = parse_index(st, text, (size_t)size, msg, sizeof msg);
    json_tracked_end();
    mem_free(text);
    if (rc) return st_fail(st, err, "%s", msg);
    if (open_shards(st, err)) { st_close(st); return -1; }
    return 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int st_open(SafeTensors *st, const char *path, WbError *err) {
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        char p[600];
        snprintf(p, sizeof p, "%s%s" ST_INDEX_NAME, path, ends_with(path, "/") ? "" : "/");
        if (access(p, F_OK) == 0) return open_index(st, p, err);
        snprintf(p, sizeof p, "%s%smodel.safetensors", path, ends_with(path, "/") ? "" : "/");
        if (access(p, F_OK) == 0) return open_file(st, p, err);
        memset(st, 0, sizeof *st);
        return wb_error(err, "'%s': a folder without " ST_INDEX_NAME " or model.safetensors", path);
    }
    return ends_with(path, ".json") ? open_index(st, path, err) : open_file(st, path, err);
}

// First index in by_name whose name is >= name.
static int lower_bound(const SafeTensors *st, const char *name) {
    int lo = 0, hi = st->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(st->by_name[mid]->name, name) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

const StTensor *st_find(const SafeTensors *st, const char *name) {
    int i = lower_bound(st, name);
    return (i < st->n && strcmp(st->by_name[i]->name, name) == 0) ? st->by_name[i] : NULL;
}

const char *st_metadata(const SafeTensors *st, const char *key) {
    for (int i = 0; i < st->nmeta; i++)
        if (strcmp(st->meta[i].key, key) == 0) return st->meta[i].value;
    return NULL;
}

uint64_t st_numel(const StTensor *t) {
    uint64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= (uint64_t)t->shape[d];
    return n;
}

float st_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float x;
    memcpy(&x, &bits, 4);
    return x;
}

float st_f16_to_f32(uint16_t h) { return f16_to_f32(h); }   // exact (core/linalg/half.h)

// Widen n 16-bit values stored at the start of dst into n floats, in place:
// from the last down, float i (bytes 4i..) never overwrites an unread value.
static void widen16(float *dst, uint64_t n, int bf16) {
    const unsigned char *b = (const unsigned char *)dst;
    for (uint64_t i = n; i-- > 0;) {
        uint16_t h = (uint16_t)(b[2 * i] | (b[2 * i + 1] << 8));
        dst[i] = bf16 ? st_bf16_to_f32(h) : st_f16_to_f32(h);
    }
}

int st_read(const SafeTensors *st, const char *name, float *dst, int ndim, const int *shape, WbError *err) {
    CHECK(st->f || st->nshards, "st_read('%s') on a closed SafeTensors", name);
    CHECK(ndim >= 0 && ndim <= ST_MAX_DIMS, "st_read('%s') with ndim %d", name, ndim);
    const StTensor *t = st_find(st, name);
    if (!t) {
        // The lexicographic neighbours are the most likely intended names.
        // (At either end of the sorted list there is one neighbour, in an empty file none.)
        int i = lower_bound(st, name);
        const char *before = i > 0 ? st->by_name[i - 1]->name : NULL, *after = i < st->n ? st->by_name[i]->name : NULL;
        if (!before && !after) return wb_error(err, "'%s': no tensor named '%s' (the file has no tensors)", st->path, name);
        if (!before || !after)
            return wb_error(err, "'%s': no tensor named '%s' (the file has %d tensors; nearest name: '%s')", st->path, name, st->n,
                            before ? before : after);
        return wb_error(err, "'%s': no tensor named '%s' (the file has %d tensors; nearest names: '%s', '%s')", st->path, name, st->n,
                        before, after);
    }
    // The file the tensor lives in (its shard when opened through an index).
    const char *path = t->shard >= 0 ? st->shard[t->shard].path : st->path;
    FILE *f = t->shard >= 0 ? st->shard[t->shard].f : st->f;
    uint64_t data_start = t->shard >= 0 ? st->shard[t->shard].data_start : st->data_start;
    int is_f32 = strcmp(t->dtype, "F32") == 0, is_bf16 = strcmp(t->dtype, "BF16") == 0, is_f16 = strcmp(t->dtype, "F16") == 0;
    if (!is_f32 && !is_bf16 && !is_f16)
        return wb_error(err, "'%s': tensor '%s' has dtype %s; only F32, BF16 and F16 are supported (convert the file to float32 first, "
                        "e.g. in Python {k: v.float() for k, v in tensors.items()})", path, name, t->dtype);
    int same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = t->shape[d] == (int64_t)shape[d];
    if (!same) {
        int64_t want[ST_MAX_DIMS];
        for (int d = 0; d < ndim; d++) want[d] = shape[d];
        char sw[160], sf[160];
        fmt_shape(sw, sizeof sw, ndim, want);
        fmt_shape(sf, sizeof sf, t->ndim, t->shape);
        return wb_error(err, "'%s': tensor '%s' has shape %s but %s was expected", path, name, sf, sw);
    }
    uint64_t nbytes = t->end - t->begin;
    if (nbytes == 0) return 0;
    if (fseeko(f, (off_t)(data_start + t->begin), SEEK_SET) != 0)
        return wb_error(err, "'%s': cannot seek to tensor '%s': %s", path, name, strerror(errno));
    size_t got = fread(dst, 1, (size_t)nbytes, f);
    if (got != (size_t)nbytes)
        return wb_error(err, "'%s': read %zu of %" PRIu64 " bytes of tensor '%s' (%s): file truncated or changed since it was opened",
                        path, got, nbytes, name, ferror(f) ? strerror(errno) : "end of file");
    if (!is_f32) widen16(dst, nbytes / 2, is_bf16);
    return 0;
}

void st_close(SafeTensors *st) {
    if (st->f) fclose(st->f);
    for (int k = 0; k < st->nshards; k++)
        if (st->shard[k].f) fclose(st->shard[k].f);
    mem_free(st->shard);
    for (int i = 0; i < st->nmeta; i++) { mem_free(st->meta[i].key); mem_free(st->meta[i].value); }
    mem_free(st->meta);
    mem_free(st->t);
    mem_free(st->by_name);
    char path[sizeof st->path];
    memcpy(path, st->path, sizeof path);
    memset(st, 0, sizeof *st);
    memcpy(st->path, path, sizeof path);  // kept for messages after a failed open
}

// --- writer -----------------------------------------------------------------

void st_writer_init(StWriter *w) { memset(w, 0, sizeof *w); }

void st_writer_add(StWriter *w, const char *name, int ndim, const int *shape, const float *data) {
    CHECK(strlen(name) < ST_NAME_MAX, "tensor name too long (max %d): %s", ST_NAME_MAX - 1, name);
    CHECK(strcmp(name, "__metadata__") != 0, "'__metadata__' is reserved");
    CHECK(ndim >= 0 && ndim <= ST_MAX_DIMS, "tensor '%s' has %d dims", name, ndim);
    for (int i = 0; i < w->n; i++) CHECK(strcmp(w->t[i].name, name) != 0, "tensor '%s' added twice", name);
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 32;
        StWTensor *nt = mem_alloc(sizeof(StWTensor) * (size_t)cap, MEM_WORKSPACE);
        if (w->t) { memcpy(nt, w->t, sizeof(StWTensor) * (size_t)w->n); mem_free(w->t); }
        w->t = nt;
        w->cap = cap;
    }
    StWTensor *t = &w->t[w->n++];
    strcpy(t->name, name);
    t->ndim = ndim;
    uint64_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        CHECK(shape[d] >= 0, "tensor '%s' dim %d = %d", name, d, shape[d]);
        t->shape[d] = shape[d];
        numel *= (uint64_t)shape[d];
    }
    t->nbytes = numel * sizeof(float);
    CHECK(data || t->nbytes == 0, "tensor '%s' has NULL data", name);
    t->data = data;
}

void st_writer_meta(StWriter *w, const char *key, const char *value) {
    for (int i = 0; i < w->nmeta; i++)
        if (strcmp(w->meta[i].key, key) == 0) { mem_free(w->meta[i].value); w->meta[i].value = dup_string(value); return; }
    if (w->nmeta == w->capmeta) {
        int cap = w->capmeta ? 2 * w->capmeta : 8;
        StMeta *nm = mem_alloc(sizeof(StMeta) * (size_t)cap, MEM_WORKSPACE);
        if (w->meta) { memcpy(nm, w->meta, sizeof(StMeta) * (size_t)w->nmeta); mem_free(w->meta); }
        w->meta = nm;
        w->capmeta = cap;
    }
    w->meta[w->nmeta].key = dup_string(key);
    w->meta[w->nmeta].value = dup_string(value);
    w->nmeta++;
}

// The JSON header, padded with spaces to a multiple of 8 bytes; *len gets its length.
static char *writer_header(const StWriter *w, size_t *len) {
    json_tracked_begin(MEM_WORKSPACE);
    cJSON *root = cJSON_CreateObject();
    if (w->nmeta) {
        cJSON *m = cJSON_CreateObject();
        for (int i = 0; i < w->nmeta; i++) cJSON_AddStringToObject(m, w->meta[i].key, w->meta[i].value);
        cJSON_AddItemToObject(root, "__metadata__", m);
    }
    uint64_t off = 0;
    for (int i = 0; i < w->n; i++) {
        const StWTensor *t = &w->t[i];
        cJSON *e = cJSON_CreateObject(), *sh = cJSON_CreateArray(), *of = cJSON_CreateArray();
        cJSON_AddStringToObject(e, "dtype", "F32");
        for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->shape[d]));
        cJSON_AddItemToObject(e, "shape", sh);
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)(off + t->nbytes)));
        cJSON_AddItemToObject(e, "data_offsets", of);
        cJSON_AddItemToObject(root, t->name, e);
        off += t->nbytes;
    }
    CHECK(off <= 9007199254740992ull, "safetensors data of %" PRIu64 " bytes exceeds 2^53", off);
    char *js = cJSON_PrintUnformatted(root);
    CHECK(js, "cJSON_PrintUnformatted failed");
    size_t n = strlen(js), padded = (n + 7) & ~(size_t)7;
    char *hdr = mem_alloc(padded, MEM_WORKSPACE);
    memcpy(hdr, js, n);
    memset(hdr + n, ' ', padded - n);
    cJSON_free(js);
    cJSON_Delete(root);
    json_tracked_end();
    *len = padded;
    return hdr;
}

int st_writer_save(const StWriter *w, const char *path, WbError *err) {
    host_check();
    char tmp[600];
    if (strlen(path) + 5 > sizeof tmp) return wb_error(err, "'%s': path too long", path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    size_t hlen;
    char *hdr = writer_header(w, &hlen);
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(((uint64_t)hlen >> (8 * i)) & 0xff);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        mem_free(hdr);
        return wb_error(err, "'%s': cannot create the temporary file '%s': %s (does the directory exist and is it writable?)",
                        path, tmp, strerror(errno));
    }
    int ok = fwrite(len8, 1, 8, f) == 8 && fwrite(hdr, 1, hlen, f) == hlen;
    mem_free(hdr);
    for (int i = 0; ok && i < w->n; i++)
        if (w->t[i].nbytes) ok = fwrite(w->t[i].data, 1, (size_t)w->t[i].nbytes, f) == (size_t)w->t[i].nbytes;
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int saved_errno = errno;
    if (fclose(f) != 0 && ok) { ok = 0; saved_errno = errno; }
    if (ok && rename(tmp, path) != 0) { ok = 0; saved_errno = errno; }
    if (!ok) {
        remove(tmp);
        return wb_error(err, "'%s': writing failed: %s (disk full?); the previous file, if any, is untouched", path, strerror(saved_errno));
    }
    return 0;
}

void st_writer_free(StWriter *w) {
    for (int i = 0; i < w->nmeta; i++) { mem_free(w->meta[i].key); mem_free(w->meta[i].value); }
    mem_free(w->meta);
    mem_free(w->t);
    memset(w, 0, sizeof *w);
}
