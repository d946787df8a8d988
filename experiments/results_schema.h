// results_schema.h: the tables of a run group in the HDF5 results file, once
// (documented for readers in results/README.md): their dataset names, rows
// and columns. The writer, the reader and the figures build their HDF5
// compound types from these definitions; the run's scalar attributes are
// results.c's SUMMARY table (results_list serves them to everyone else).
#ifndef WB_RESULTS_SCHEMA_H
#define WB_RESULTS_SCHEMA_H

#include "experiments/results.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

// Rows of the memory, flops and time tables (the others are results.h's
// EpochRow, StepRow, LayerRow, InferenceStats).
typedef struct { char category[16]; uint64_t current_bytes, peak_bytes; } MemRow;   // a MemCategory name or "total"
typedef struct { char phase[16]; double total, per_step; int64_t steps; } PhaseRow;  // a Phase name

typedef enum { RF_I32, RF_I64, RF_U64, RF_F64, RF_STR } ResFieldKind;
typedef struct {
    const char *name;
    size_t off;
    ResFieldKind kind;
    size_t str_len;   // RF_STR: a fixed string of this many bytes
} ResField;

typedef struct {
    const char *dataset;   // name in the run group
    size_t row_size;
    const ResField *fields;
    int n_fields;
} ResTable;

extern const ResTable RES_EPOCHS, RES_STEPS, RES_LAYERS, RES_MEMORY, RES_FLOPS, RES_TIME, RES_INFERENCE;
extern const ResTable RES_MAXBATCH;   // the file-level /maxbatch table (not in a run group)
// Optional (runs with an energy meter, core/runtime/energy.h): (phase, joules, joules_per_step, steps).
extern const ResTable RES_ENERGY;
// Optional (runs with the subspace log): (epoch, layer, eps_rank, k, max_angle), results.h RunResult.subspace.
extern const ResTable RES_SUBSPACE;
// Optional (runs with training.log_spectrum): (layer, mode, dim, index, energy, explained), RunResult.spectrum.
extern const ResTable RES_SPECTRUM;

// The HDF5 compound memory type of t's rows: every column, or only those
// named in `only` (NULL-terminated; HDF5 matches columns by name, so a
// reader reads just what it needs into the full row). < 0 on failure (the
// caller reports); close with H5Tclose.
hid_t res_table_type(const ResTable *t, const char *const *only);

// What the figures read of one run besides its epochs: per-step FLOPs and
// seconds by phase, peak bytes by memory category, the layers table and the
// rank history. Values a table lacks are NaN.
typedef struct {
    double flops_ps[PHASE_NCOUNT];       // flops_per_step by phase (inference: per validation batch)
    double sec_ps[PHASE_NCOUNT];         // seconds_per_step by phase
    double joules_ps[PHASE_NCOUNT];      // joules_per_step by phase (the optional energy table; NaN without)
    double mem_peak[MEM_NCAT + 1];       // peak_bytes by category, [MEM_NCAT] = total
    LayerRow *layers; int n_layers;      // (n_layers) rows of the 'layers' table
    int32_t *rank_epochs;                // (n_rank_epochs) epoch of each rank snapshot
    int32_t *ranks; int n_rank_epochs;   // (n_rank_epochs, n_layers, 5) {weight_rank, k1..k4}
    SubspaceRow *subspace; int n_subspace;   // the optional 'subspace' table (epoch, then layer order)
    SpectrumRow *spectrum; int n_spectrum;   // the optional 'spectrum' table (layer, mode, index order)
} RunTables;

// Read run `run` of results file path: 0, or -1 with err naming the file,
// the run and what is wrong (t is then empty). Buffers in the workspace
// category; results_tables_free releases them.
int results_read_tables(const char *path, const char *run, RunTables *t, WbError *err);
void results_tables_free(RunTables *t);

#endif
