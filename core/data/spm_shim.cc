// spm_shim.cc: extern "C" wrappers over sentencepiece::SentencePieceProcessor
// (libsentencepiece), the only C++ of the project (declared in
// core/data/spm_shim.h). Thin on purpose: loading, piece lookups and Encode
// to ids; everything else (BOS, truncation, padding, errors naming files)
// is C in core/data/tokenizer.c. Nothing here is tracked by
// core/runtime/memory.h: the processor and its model live in C++ heap memory
// that the library allocates itself.
#include "core/data/spm_shim.h"

#include <sentencepiece_processor.h>

#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <vector>

namespace {

using sentencepiece::SentencePieceProcessor;

void set_msg(char *msg, size_t cap, const std::string &s) {
    if (msg && cap) std::snprintf(msg, cap, "%s", s.c_str());
}

const SentencePieceProcessor *proc(const void *sp) { return static_cast<const SentencePieceProcessor *>(sp); }

}  // namespace

extern "C" void *spm_load(const char *path, char *msg, size_t msg_cap) {
    try {
        SentencePieceProcessor *sp = new SentencePieceProcessor();
        const auto st = sp->Load(path);
        if (!st.ok()) {
            set_msg(msg, msg_cap, st.ToString());
            delete sp;
            return nullptr;
        }
        return sp;
    } catch (const std::exception &e) {
        set_msg(msg, msg_cap, e.what());
    } catch (...) {
        set_msg(msg, msg_cap, "unknown C++ exception");
    }
    return nullptr;
}

extern "C" void spm_free(void *sp) { delete static_cast<SentencePieceProcessor *>(sp); }
extern "C" int spm_piece_size(const void *sp) { return proc(sp)->GetPieceSize(); }
extern "C" int spm_bos_id(const void *sp) { return proc(sp)->bos_id(); }
extern "C" int spm_eos_id(const void *sp) { return proc(sp)->eos_id(); }
extern "C" int spm_unk_id(const void *sp) { return proc(sp)->unk_id(); }

extern "C" int spm_piece_to_id(const void *sp, const char *piece) {
    try {
        return proc(sp)->PieceToId(piece);
    } catch (...) {
        return proc(sp)->unk_id();
    }
}

extern "C" long spm_encode(const void *sp, const char *text, size_t n, int *ids, size_t cap, char *msg, size_t msg_cap) {
    try {
        std::vector<int> v;
        const auto st = proc(sp)->Encode(std::string(text, n), &v);
        if (!st.ok()) {
            set_msg(msg, msg_cap, st.ToString());
            return -1;
        }
        for (size_t i = 0; i < v.size() && i < cap; i++) ids[i] = v[i];
        return static_cast<long>(v.size());
    } catch (const std::exception &e) {
        set_msg(msg, msg_cap, e.what());
    } catch (...) {
        set_msg(msg, msg_cap, "unknown C++ exception");
    }
    return -1;
}
