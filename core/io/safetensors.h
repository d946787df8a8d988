// safetensors.h: reader and writer of the safetensors format (the weight
// files HF and timm publish; our checkpoints use it too).
//
// Layout: an 8-byte little-endian u64 n, then n bytes of JSON (padded with
// spaces), then the data section. The JSON object maps each tensor name to
// {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]} (byte
// offsets relative to the start of the data section), plus an optional
// "__metadata__": {string: string}. Data is raw little-endian, row-major.
//
// The reader parses and validates only the header (with cJSON) at st_open and
// reads each tensor with fseeko/fread on demand, so a 350 MB file is never
// held in memory twice. Every problem with the file is an error naming the
// file (and the tensor/field), never a crash:
//   file shorter than 8 bytes; header length past the end of the file or
//   > ST_MAX_HEADER; header not JSON or not an object; an entry that is not an
//   object or lacks dtype/shape/data_offsets or has them with the wrong type;
//   an unknown dtype; data_offsets that disagree with numel*sizeof(dtype);
//   a tensor past the end of the file (truncated file); tensors that overlap,
//   leave holes, or do not end exactly at the end of the file (the spec says
//   the data section is tiled exactly); duplicate names; a bad __metadata__.
// Other known dtypes (F64, I64, ...) open fine; st_read refuses them. F32,
// BF16 and F16 read into floats: BF16 is the upper half of an F32 and F16
// widens exactly (subnormals, inf, -0, NaN with its payload), so every value
// is kept; converted in place in the caller's buffer (no extra allocation).
//
// Sharded checkpoints (Hugging Face): st_open of a *.json path reads it as
// model.safetensors.index.json, {"metadata": ..., "weight_map": {tensor:
// shard file}}, shard files relative to the index's folder. Each shard is
// opened (and its header validated) once and kept open; the tensor table is
// the weight_map's names, looked up in their shard. st_open of a folder
// opens its model.safetensors.index.json, else its model.safetensors. Errors:
// malformed index, a missing or broken shard, a name its shard lacks, all
// name the index (and the shard).
//
// Memory: the tensor table, the metadata and the header text are category
// workspace. cJSON's own nodes go through mem_alloc too (workspace): hooks
// are installed around each parse/print and cJSON's defaults restored after
// (single-threaded use, like the allocator itself).
// Host: little-endian only; a big-endian host dies at st_open/st_writer_save
// rather than reading byte-swapped numbers.
#ifndef WB_SAFETENSORS_H
#define WB_SAFETENSORS_H

#include <stdint.h>
#include <stdio.h>
#include "core/runtime/common.h"

#define ST_MAX_DIMS 8
#define ST_NAME_MAX 128
#define ST_MAX_HEADER (100u * 1000u * 1000u)   // larger header lengths are "absurd" (corrupt file)

typedef struct {
    char name[ST_NAME_MAX];   // must stay the first member (sorted pointer tables rely on it)
    char dtype[8];            // "F32", "F16", ...
    int ndim;                 // 0 for a scalar
    int64_t shape[ST_MAX_DIMS];
    uint64_t begin, end;      // byte range in the data section
    int shard;                // index into SafeTensors.shard; -1 in a single file
} StTensor;

typedef struct {              // one open file of a sharded checkpoint
    char path[512];
    FILE *f;
    uint64_t data_start;
} StShard;

typedef struct { char *key, *value; } StMeta;

typedef struct {
    char path[512];
    FILE *f;
    uint64_t data_start;      // 8 + header length
    uint64_t file_size;
    int n;                    // tensors, in header order
    StTensor *t;              // (n)
    const StTensor **by_name; // (n) sorted by name for st_find
    int nmeta;
    StMeta *meta;             // (nmeta) __metadata__ entries in header order
    int nshards;              // 0 for a single file (path, f, data_start above)
    StShard *shard;           // (nshards) when opened through an index (f is NULL)
} SafeTensors;

// Open path (a .safetensors file, an index .json or a folder, see above) and
// read/validate the header(s) only. On error returns -1, fills
// err (message names the file) and leaves st closed (st_close is harmless).
int st_open(SafeTensors *st, const char *path, WbError *err);
const StTensor *st_find(const SafeTensors *st, const char *name);     // NULL if absent
const char *st_metadata(const SafeTensors *st, const char *key);      // NULL if absent
uint64_t st_numel(const StTensor *t);
// Exact widening of one BF16 / F16 value (bit pattern) to float.
float st_bf16_to_f32(uint16_t h);
float st_f16_to_f32(uint16_t h);
// Read tensor name (dtype F32, BF16 or F16; shape exactly shape[0..ndim-1]) into dst.
// Errors name the file and the tensor; a shape mismatch gives both shapes.
int st_read(const SafeTensors *st, const char *name, float *dst, int ndim, const int *shape, WbError *err);
void st_close(SafeTensors *st);

// Writer: collect tensors (pointers, not copies: data must stay valid until
// st_writer_save) and metadata, then save. The save writes path.tmp, fsyncs
// and renames it over path, so an interrupted save never leaves a half file
// at path. Tensors are laid out in the order they were added; the JSON header
// is padded with spaces to a multiple of 8 bytes (as the reference writer).
typedef struct {
    char name[ST_NAME_MAX];
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const float *data;        // (numel) not owned
    uint64_t nbytes;
} StWTensor;

typedef struct {
    int n, cap;
    StWTensor *t;             // (n)
    int nmeta, capmeta;
    StMeta *meta;             // (nmeta) owned copies
} StWriter;

void st_writer_init(StWriter *w);
// Dies on programmer errors: duplicate or too long name, ndim outside 0..8, negative dim.
void st_writer_add(StWriter *w, const char *name, int ndim, const int *shape, const float *data);
void st_writer_meta(StWriter *w, const char *key, const char *value);   // replaces an existing key
int st_writer_save(const StWriter *w, const char *path, WbError *err);
void st_writer_free(StWriter *w);

#endif
