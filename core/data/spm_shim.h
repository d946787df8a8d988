// spm_shim.h: the C view of libsentencepiece (core/data/spm_shim.cc, the only
// C++ file of the project). Internal to core/data/tokenizer.c: callers use
// core/data/tokenizer.h. No function lets a C++ exception escape; the
// library's own memory (the model, Encode's vectors) is allocated by C++
// new/malloc and cannot go through the tracked allocator.
#ifndef WB_SPM_SHIM_H
#define WB_SPM_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// A loaded SentencePieceProcessor, or NULL with the library's message in msg.
void *spm_load(const char *path, char *msg, size_t msg_cap);
void spm_free(void *sp);
int spm_piece_size(const void *sp);
int spm_piece_to_id(const void *sp, const char *piece);   // the unk id when absent
int spm_bos_id(const void *sp);                          // -1 when the model has none
int spm_eos_id(const void *sp);
int spm_unk_id(const void *sp);
// ids of text (n bytes, no BOS/EOS): the first min(count, cap) into ids;
// returns count, or -1 with the library's message in msg.
long spm_encode(const void *sp, const char *text, size_t n, int *ids, size_t cap, char *msg, size_t msg_cap);

#ifdef __cplusplus
}
#endif

#endif
