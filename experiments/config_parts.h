// config_parts.h: what the parts of the config reader share (private to
// experiments/config*.c): the reading context, sections, typed readers
// (config_read.c), run-name parts (config_read.c), the section readers
// (config_sections.c), the resolved-YAML emitter (config_emit.c); the
// expansion and cfg_load are config.c. Every reader returns 1 present,
// 0 absent, -1 error (the message, with file:line:column, is in the context).
#ifndef WB_CONFIG_PARTS_H
#define WB_CONFIG_PARTS_H

#include "experiments/config.h"
#include "experiments/yaml_tree.h"
#include "core/nn/linear_method.h"

#include <math.h>
#include <stdint.h>

#define MAX_AXES 64                // list-valued settings per stage
#define MAX_ENTRIES 64             // method entries per stage
#define MAX_STAGES 64
#define MAX_RUNS 10000             // whole experiment (a RunSpec is ~5 KB)
#define MAX_TOKS (MAX_AXES + 16)
#define NK(a) ((int)(sizeof(a) / sizeof((a)[0])))

// string builder (resolved YAML, messages), tracked workspace memory
typedef struct { char *p; size_t len, cap; } Sb;
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void sb_printf(Sb *b, const char *fmt, ...);
// Shortest text that reads back to the same value.
void fmt_double(char *buf, size_t cap, double v);
void fmt_float(char *buf, size_t cap, float v);

typedef struct {
    const Node *seq;     // the list
    int sel;             // the item of the run being resolved
    const char *key;     // "training.lr", for names and messages
} Axis;

typedef struct {
    const char *name;
    int first, count;    // runs in ex->runs
    int save;            // save_checkpoint
} StageInfo;

typedef struct {             // what a run needs besides its RunSpec (names, YAML, checks)
    const char **tok_scope;  // name parts, in order
    const char **tok_text;
    unsigned char *tok_always;
    int ntok;
    const Node *entry;       // its method entry (messages)
    int budget_src;          // 0 none, 1 top-level budget_mb, 2 the method's own
    int eta_abs;             // eta_min given (not eta_min_ratio)
    size_t body;             // offset of the YAML body (after the header comments)
} RunAux;

typedef struct {
    Arena A;
    WbError *err;
    Experiment *ex;
    RunAux *aux;             // (cap) parallel to ex->runs
    int cap;
    const char *stage;       // NULL when the file has no stages
    StageInfo stages[MAX_STAGES];
    int nstages;
    Axis ax[MAX_AXES];
    int nax;
    int discover;            // 1: lists met are registered as axes (first pass of a stage)
    // name parts collected while resolving one run
    const char *ts[MAX_TOKS], *tt[MAX_TOKS];
    unsigned char ta[MAX_TOKS];
    int nt;
} Ctx;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int cfg_fail(Ctx *c, Pos p, const char *fmt, ...);   // always -1
// A section being read: its (merged) mapping, and its name for messages.
typedef struct {
    Ctx *c;
    const Node *map;    // NULL when the section is absent
    const char *name;   // "training", "methods[1] (wasi)", "" for the top level
    Pos pos;            // where to report a missing key
} Sec;

typedef struct { double lo, hi; int lo_open, hi_open; } Range;
#define R_POS ((Range){0, INFINITY, 1, 0})        // > 0
#define R_NONNEG ((Range){0, INFINITY, 0, 0})     // >= 0
#define R_UNIT ((Range){0, 1, 1, 0})              // (0, 1]

const char *cfg_shown(const Node *v, char *buf, size_t cap);
void cfg_join_names(char *buf, size_t cap, const char *const *names, int n);
void cfg_key_path(char *buf, size_t cap, const Sec *s, const char *key);
int cfg_check_keys(const Sec *s, const char *const *valid, int nvalid);
int cfg_key_pos(const Sec *s, const char *key, Pos *p);
int sec_val(Sec *s, const char *key, int sweepable, const char *what, const Node **out);
int sec_list(Sec *s, const char *key, int sweepable, const char *what, const Node **out);
int cfg_is_null(const Node *v);
int cfg_type_error(Ctx *c, const Node *v, const char *path, const char *what);
int cfg_parse_long(const Node *v, long *out);
int cfg_parse_double(const Node *v, double *out);
int cfg_to_long(Ctx *c, const Node *v, const char *path, long lo, long hi, long *out);
int cfg_to_num(Ctx *c, const Node *v, const char *path, Range r, double *out);
int cfg_to_bool(Ctx *c, const Node *v, const char *path, int *out);
int cfg_to_enum(Ctx *c, const Node *v, const char *path, const char *const *names, int n, int *out);
int cfg_to_str(Ctx *c, const Node *v, const char *path, char *buf, size_t cap);
int rd_long(Sec *s, const char *key, long lo, long hi, long *out);
int rd_int(Sec *s, const char *key, long lo, long hi, int *out);
int rd_u64(Sec *s, const char *key, uint64_t *out);
int rd_num(Sec *s, const char *key, Range rg, float *out);
int rd_bool(Sec *s, const char *key, int *out);
int rd_enum(Sec *s, const char *key, int sweepable, const char *const *names, int n, int *out);
int rd_str(Sec *s, const char *key, int sweepable, int allow_none, char *buf, size_t cap);
int list_nums(Sec *s, const char *key, const Node *l, int minn, int maxn, Range rg, double *out, int *n);
int list_longs(Sec *s, const char *key, const Node *l, int minn, int maxn, long lo, long hi, long *out, int *n);
int cfg_section(Ctx *c, const Node *tree, const char *name, int required, Sec *s);

// run-name parts
void name_sanitize(char *s);
const char *tok_make(Ctx *c, const char *key, const Node *v);
void tok_add(Ctx *c, const char *scope, const char *text, int always);
void tok_key(Sec *s, const char *scope, const char *key);

// the sections (config_sections.c)
extern const char *const top_keys[15], *const stage_keys[12];
int model_section(Ctx *c, const Node *tree, RunSpec *r, int *from_stage_given);
int dataset_section(Ctx *c, const Node *tree, RunSpec *r);
int training_section(Ctx *c, const Node *tree, RunSpec *r, RunAux *x);
int layer_settings(Ctx *c, const Node *tree, RunSpec *r);
int memory_section(Ctx *c, const Node *tree, RunSpec *r);
int check_method_keys(Ctx *c, const Node *e, const LinearMethod *m, const char *sect);
int cfg_method_name(Ctx *c, const Node *e, int idx, int *m);
int method_section(Ctx *c, const Node *e, int idx, RunSpec *r, RunAux *x);

// the resolved YAML of one run (config_emit.c)
void emit_run(Sb *b, const Experiment *ex, const RunSpec *r, const RunAux *x, const char *from_name);

#endif
