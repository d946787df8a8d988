// yaml_tree.h: an experiment YAML file as a small tree that keeps the
// file:line:column of every key and value (libyaml underneath), with
// `extends:` files deep-merged under the including one. Every node and
// string lives in an arena of tracked workspace memory, freed at once.
// Used by the config reader (experiments/config*.c); limits against hostile
// files (size, nodes after aliases, depth, keys, extends chain) are here.
#ifndef WB_YAML_TREE_H
#define WB_YAML_TREE_H

#include "core/runtime/common.h"

#include <stddef.h>

typedef struct Block { struct Block *next; size_t used, cap; } Block;
#define BLOCK_HDR 32   // >= sizeof(Block), keeps 16-byte alignment
typedef struct { Block *head; } Arena;

void *ar_alloc(Arena *a, size_t n);
char *ar_strndup(Arena *a, const char *s, size_t n);
char *ar_strdup(Arena *a, const char *s);
void ar_free(Arena *a);

typedef struct { const char *file; int line, col; } Pos;   // 1-based
typedef enum { N_SCALAR = 0, N_SEQ, N_MAP } NodeKind;
typedef struct Node Node;
struct Node {
    NodeKind kind;
    Pos pos;
    const char *s;      // scalar text
    int quoted;         // scalar written quoted or as a block literal: always a string
    int n;              // items (list) or pairs (mapping)
    const Node **v;     // items or values (n)
    const char **k;     // mapping keys (n)
    Pos *kpos;          // their positions (n)
};

const char *yaml_kind_name(const Node *v);                            // "a scalar", "a list", "a mapping"
const Node *yaml_get(const Node *m, const char *key, int *at);       // NULL when m is not a mapping or has no key
// Mapping `over` deep-merged over `base`: mappings merge key by key, anything
// else (scalars, lists) in `over` replaces. Nodes are shared, not copied.
const Node *yaml_merge(Arena *A, const Node *base, const Node *over);
const Node *yaml_without(Arena *A, const Node *m, const char *const *drop, int ndrop);   // a copy without those keys
// Load `file` and, recursively, the files it extends (paths relative to the
// including file); chain holds the real paths being loaded (cycles), via the
// `extends:` node that named it (NULL for the top file). 0, or -1 with err.
int yaml_load_tree(Arena *A, const char *file, const Node *via, const char **chain, int depth, const Node **out, WbError *err);

#define YAML_MAX_EXTENDS 16   // length of an extends chain

#endif
