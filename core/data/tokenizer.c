// tokenizer.c: the C side of the SentencePiece tokenizer (tokenizer.h): the
// handle (tracked, MEM_DATA), messages naming the file, and the Hugging Face
// Llama convention (BOS, right truncation, right padding). The processor
// itself lives in core/data/spm_shim.cc; its memory (model, Encode's
// vectors) is libsentencepiece's own and cannot be tracked.
#include "core/data/tokenizer.h"
#include "core/data/spm_shim.h"
#include "core/runtime/memory.h"

#include <string.h>

struct Tokenizer {
    void *sp;                  // sentencepiece::SentencePieceProcessor (C++ heap)
    int vocab, bos, eos, unk;
    char path[1024];
};

Tokenizer *tokenizer_open(const char *path, WbError *err) {
    char msg[512] = "";
    FILE *f = fopen(path, "rb");
    if (!f) { wb_error(err, "'%s': tokenizer model not found or unreadable (expected a sentencepiece tokenizer.model)", path); return NULL; }
    fclose(f);
    void *sp = spm_load(path, msg, sizeof msg);
    if (!sp) { wb_error(err, "'%s': not a sentencepiece model: %s (expected a tokenizer.model)", path, msg); return NULL; }
    int V = spm_piece_size(sp);
    if (V < 1 || V >= TOKENIZER_MAX_VOCAB) {
        spm_free(sp);
        wb_error(err, "'%s': vocabulary of %d pieces (expected 1..%d: ids travel as exact floats)", path, V, TOKENIZER_MAX_VOCAB - 1);
        return NULL;
    }
    Tokenizer *t;
    #pragma omp critical(wb_mem)
    t = mem_alloc(sizeof *t, MEM_DATA);
    t->sp = sp;
    t->vocab = V;
    t->bos = spm_bos_id(sp);
    t->eos = spm_eos_id(sp);
    t->unk = spm_unk_id(sp);
    snprintf(t->path, sizeof t->path, "%s", path);
    return t;
}

void tokenizer_free(Tokenizer *t) {
    if (!t) return;
    spm_free(t->sp);
    #pragma omp critical(wb_mem)
    mem_free(t);
}

int tokenizer_vocab_size(const Tokenizer *t) { return t->vocab; }
int tokenizer_bos_id(const Tokenizer *t) { return t->bos; }
int tokenizer_eos_id(const Tokenizer *t) { return t->eos; }
int tokenizer_unk_id(const Tokenizer *t) { return t->unk; }
int tokenizer_piece_to_id(const Tokenizer *t, const char *piece) { return spm_piece_to_id(t->sp, piece); }
const char *tokenizer_path(const Tokenizer *t) { return t->path; }

long tokenizer_encode(const Tokenizer *t, const char *text, size_t n, int *ids, size_t cap, WbError *err) {
    char msg[512] = "";
    long got = spm_encode(t->sp, text, n, ids, cap, msg, sizeof msg);
    if (got < 0) return wb_error(err, "'%s': cannot encode a text of %zu bytes: %s", t->path, n, msg);
    return got;
}

int tokenizer_encode_padded(const Tokenizer *t, const char *text, size_t n, int T, int pad_id, int32_t *out,
                            int *truncated, WbError *err) {
    CHECK(T >= 1, "T = %d", T);
    int head = t->bos >= 0 ? 1 : 0;
    if (head) out[0] = t->bos;
    // out is int32 and int may differ in principle; on every target they agree
    _Static_assert(sizeof(int) == sizeof(int32_t), "int is 32-bit");
    long got = tokenizer_encode(t, text, n, (int *)out + head, (size_t)(T - head), err);
    if (got < 0) return -1;
    long len = head + got < T ? head + got : T;
    for (long i = len; i < T; i++) out[i] = pad_id;
    if (truncated) *truncated = head + got > T;
    return (int)len;
}
