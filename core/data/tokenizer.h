// tokenizer.h: a SentencePiece tokenizer (the tokenizer.model of Llama-family
// checkpoints, or one made by spm_train) for the text data sets. Encoding is
// that of the Hugging Face Llama tokenizer as the authors called it,
// tokenizer(text, truncation=True, padding="max_length", max_length=T):
// BOS first, no EOS, truncated on the right to T ids, padded on the right
// with the pad id. Implemented in C (tokenizer.c, tracked memory, MEM_DATA)
// over a thin C++ shim of libsentencepiece (spm_shim.cc). Encoding only
// reads the model, so one Tokenizer may encode from several threads.
#ifndef WB_TOKENIZER_H
#define WB_TOKENIZER_H

#include "core/runtime/common.h"

#include <stddef.h>
#include <stdint.h>

// Token ids travel to the model as floats: ids must stay below 2^24.
#define TOKENIZER_MAX_VOCAB (1 << 24)

typedef struct Tokenizer Tokenizer;

// Load path (a sentencepiece model). NULL with err naming the file on failure
// (missing, not a model, vocab of 2^24 or more).
Tokenizer *tokenizer_open(const char *path, WbError *err);
void tokenizer_free(Tokenizer *t);   // NULL is fine

int tokenizer_vocab_size(const Tokenizer *t);
int tokenizer_bos_id(const Tokenizer *t);   // -1 when the model has none
int tokenizer_eos_id(const Tokenizer *t);
int tokenizer_unk_id(const Tokenizer *t);
int tokenizer_piece_to_id(const Tokenizer *t, const char *piece);   // the unk id when absent
const char *tokenizer_path(const Tokenizer *t);

// ids of the UTF-8 text[0..n) without BOS/EOS: the first min(count, cap) go
// to ids; returns count (may exceed cap), or -1 with err set.
long tokenizer_encode(const Tokenizer *t, const char *text, size_t n, int *ids, size_t cap, WbError *err);

// out (T) = BOS + ids of text, truncated to T, then pad_id up to T (no BOS
// when the model has none). Returns the length before padding (0..T), or
// -1 with err set; *truncated (may be NULL) = 1 when ids were cut off.
int tokenizer_encode_padded(const Tokenizer *t, const char *text, size_t n, int T, int pad_id, int32_t *out,
                            int *truncated, WbError *err);

#endif
