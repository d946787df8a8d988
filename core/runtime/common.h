// common.h: the dimension glossary, checked wrappers that die with file:line
// and a hint, and small helpers every file of the engine uses.
//
// Dimension glossary (used in every signature and struct comment):
//   B  batch            N  tokens (with the class token)   C  channels
//   NH heads            hs head size (C / NH)              P  patch size
//   K  classes          I  linear in-features              O  linear out-features
//   r  LoRA rank        k  weight rank                     k1..k4 activation ranks
//   BN B*N rows of a token matrix
//
// Gradient convention: every *_backward ACCUMULATES into its outputs (+=,
// beta = 1 in sgemm). Gradients are cleared once per step: by zero_grad, or
// by the fused clip + optimizer step that train_step uses (core/models/model_params.h).
#ifndef WB_COMMON_H
#define WB_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

// die: print "file:line: message (hint)" and exit(1). Errors are never silent.
#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 3, 4)))
#endif
void wb_die_at(const char *file, int line, const char *fmt, ...);
#define die(...) wb_die_at(__FILE__, __LINE__, __VA_ARGS__)

// Recovery points: a sweep runs each run under one, so a die/CHECK reached
// inside the run (a LAPACK failure, a shape check) ends that run, not the
// process. Use, in the function that owns the WbRecover:
//     wb_recover_push(&r);
//     if (setjmp(r.jb)) { ...r.kind and r.msg say what died...; }
//     else { ...the run...; wb_recover_end(&r); }
// (a die pops the point before it jumps; points nest). A die inside an
// OpenMP parallel region cannot unwind and still exits. Memory the run
// allocated is released with mem_release_since (memory.h); nothing else is
// unwound, so code under a point must hold no locks or files it cannot lose.
#include <setjmp.h>
typedef enum { WB_DIED_FAILED = 1, WB_DIED_DIVERGED = 2 } WbDiedKind;
typedef struct WbRecover {
    jmp_buf jb;
    int kind;                        // WbDiedKind after a die came back
    char msg[1024];                  // "file:line: message"
    struct WbRecover *outer;
} WbRecover;
void wb_recover_push(WbRecover *r);
void wb_recover_end(WbRecover *r);   // disarm (no-op when a die already popped it)

// diverge: as die, for a numerical failure caused by non-finite input (a
// run under a recovery point is then stored as diverged, not failed).
#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 3, 4)))
#endif
void wb_diverge_at(const char *file, int line, const char *fmt, ...);

// CHECK stays on in release builds: shape and invariant checks.
// (##__VA_ARGS__ is a GNU extension that gcc and clang accept under -std=c11.)
#define CHECK(cond, fmt, ...) do { if (!(cond)) wb_die_at(__FILE__, __LINE__, "check failed: %s: " fmt, #cond, ##__VA_ARGS__); } while (0)

// Recoverable errors (bad input files, configs) go through this buffer: a
// loader returns -1 and fills the message, the caller decides (a sweep marks
// the run failed and goes on; a CLI prints it and exits non-zero).
#define WB_ERRLEN 1024
typedef struct { char msg[WB_ERRLEN]; } WbError;
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int wb_error(WbError *err, const char *fmt, ...); // always returns -1

// Checked file I/O: on failure die with the path and what was attempted.
FILE *fopen_check(const char *path, const char *mode, const char *file, int line);
void fread_check(void *dst, size_t size, size_t n, FILE *f, const char *path, const char *file, int line);
void fwrite_check(const void *src, size_t size, size_t n, FILE *f, const char *path, const char *file, int line);
#define xfopen(path, mode) fopen_check(path, mode, __FILE__, __LINE__)
#define xfread(dst, size, n, f, path) fread_check(dst, size, n, f, path, __FILE__, __LINE__)
#define xfwrite(src, size, n, f, path) fwrite_check(src, size, n, f, path, __FILE__, __LINE__)

static inline int wb_min(int a, int b) { return a < b ? a : b; }
static inline int wb_max(int a, int b) { return a > b ? a : b; }

#endif
