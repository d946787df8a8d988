// fuzz_st_index.c: libFuzzer target for sharded safetensors checkpoints
// (model.safetensors.index.json, core/io/safetensors.c). The input is split at
// "\n===\n" lines into the index JSON and up to two shard files, written as
// model.safetensors.index.json, s1.safetensors and s2.safetensors in one
// folder (a missing part: no such file). st_open of the index must accept
// it or return -1 with a message naming the index; on success every tensor
// is found by its name, read with its shape when its dtype is F32/BF16/F16
// and refused otherwise, and the folder opens to the same table.
// Seeds: WB_FUZZ_SEEDS=DIR ./fuzz_st_index writes a valid 2-shard checkpoint
// and a few broken indexes to DIR and exits.
#include "core/io/safetensors.h"
#include "tests/fuzz/fuzz.h"

static void save_shard(const char *path, int which) {
    static float a[6] = {1, 2, 3, 4, 5, 6}, b = 7;
    StWriter w;
    WbError err;
    st_writer_init(&w);
    if (which == 0) st_writer_add(&w, "model.embed_tokens.weight", 2, (int[]){2, 3}, a);
    else st_writer_add(&w, "model.norm.weight", 0, NULL, &b);
    if (st_writer_save(&w, path, &err) < 0) { fprintf(stderr, "%s\n", err.msg); exit(1); }
    st_writer_free(&w);
}

// A seed: the index text, then each shard file's bytes after a separator.
static void write_seed(const char *dir, const char *name, const char *index, int nshards) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *out = fopen(p, "wb");
    if (!out) exit(1);
    fputs(index, out);
    for (int s = 0; s < nshards; s++) {
        char sp[1024];
        snprintf(sp, sizeof sp, "%s/.shard%d", dir, s);
        save_shard(sp, s);
        FILE *f = fopen(sp, "rb");
        if (!f) exit(1);
        fputs(FZ_SEP, out);
        int c;
        while ((c = fgetc(f)) != EOF) fputc(c, out);
        fclose(f);
        remove(sp);
    }
    if (fclose(out) != 0) exit(1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    fz_setup("st_index");
    const char *seeds = getenv("WB_FUZZ_SEEDS");
    if (seeds) {
        const char *ok = "{\"metadata\": {\"total_size\": 28}, \"weight_map\": {\"model.embed_tokens.weight\": \"s1.safetensors\", "
                         "\"model.norm.weight\": \"s2.safetensors\"}}";
        write_seed(seeds, "two_shards", ok, 2);
        write_seed(seeds, "missing_shard", ok, 1);
        write_seed(seeds, "wrong_shard",
                   "{\"weight_map\": {\"model.embed_tokens.weight\": \"s2.safetensors\", \"model.norm.weight\": \"s2.safetensors\"}}", 2);
        write_seed(seeds, "duplicate_name",
                   "{\"weight_map\": {\"model.norm.weight\": \"s2.safetensors\", \"model.norm.weight\": \"s2.safetensors\"}}", 2);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_begin();
    FzPart part[3];
    int np = fz_split(data, size, part, 3);
    const char *files[3] = {"model.safetensors.index.json", "s1.safetensors", "s2.safetensors"};
    for (int i = 0; i < 3; i++) {
        if (i < np) fz_write(files[i], part[i].p, part[i].n);
        else fz_unlink(files[i]);
    }
    char p[512];
    fz_path(p, sizeof p, files[0]);
    SafeTensors st;
    WbError err = {{0}};
    if (st_open(&st, p, &err) == 0) {
        for (int i = 0; i < st.n; i++) {
            const StTensor *t = &st.t[i];
            if (st_find(&st, t->name) != t) { fprintf(stderr, "fuzz_st_index: st_find('%s') is not the tensor\n", t->name); abort(); }
            uint64_t n = st_numel(t);
            int shape[ST_MAX_DIMS], ok = n <= (1u << 20);
            for (int d = 0; d < t->ndim; d++) {
                if (t->shape[d] > (1 << 20)) ok = 0;
                shape[d] = (int)t->shape[d];
            }
            if (!ok) continue;
            float *x = mem_alloc_floats(n + 1, MEM_WORKSPACE);
            int wide = !strcmp(t->dtype, "F32") || !strcmp(t->dtype, "BF16") || !strcmp(t->dtype, "F16");
            if ((st_read(&st, t->name, x, t->ndim, shape, &err) == 0) != wide) {
                fprintf(stderr, "fuzz_st_index: tensor '%s' of dtype %s: %s\n", t->name, t->dtype, wide ? err.msg : "read as float");
                abort();
            }
            mem_free(x);
        }
        int n = st.n;
        st_close(&st);
        char dir[512];
        fz_path(dir, sizeof dir, "");
        if (st_open(&st, dir, &err) != 0 || st.n != n) { fprintf(stderr, "fuzz_st_index: the folder does not open as its index: %s\n", err.msg); abort(); }
        st_close(&st);
    } else if (!strstr(err.msg, p)) {
        fprintf(stderr, "fuzz_st_index: the error does not name the index: %s\n", err.msg);
        abort();
    }
    fz_end("st_open(index)");
    return 0;
}
