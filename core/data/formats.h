// formats.h: the contract between dataset.c and the format files
// (idx.c, cifar.c, folder.c, isic.c, text.c). Internal to the
// data loader: callers use dataset.h.
//
// *_index fills src with the records of the official training set (split
// train or val) or test set (split test): n, num_classes, labels, record,
// listing, and for folders the image paths. In-memory formats also set
// H, W, C. *_load (in-memory formats only) reads the pixels of the records
// keep[0..nkeep) (ascending) into src->pixels (nkeep, H, W, C); dataset.c
// then compacts the per-record arrays to the kept records. Every error names
// the file and record/line and what was expected. Text formats (text.c):
// *_index keeps the texts (src->texts), text_load tokenizes the kept ones
// into src->tokens (nkeep, T) and frees the texts.
#ifndef WB_DATA_FORMATS_H
#define WB_DATA_FORMATS_H

#include "core/data/dataset.h"

int idx_index(DataSource *src, const DataConfig *cfg, const char *dir, WbError *err);
int idx_load(DataSource *src, const DataConfig *cfg, const char *dir, const int *keep, int nkeep, WbError *err);
int cifar_index(DataSource *src, const DataConfig *cfg, const char *dir, WbError *err);
int cifar_load(DataSource *src, const DataConfig *cfg, const char *dir, const int *keep, int nkeep, WbError *err);
int pets_index(DataSource *src, const DataConfig *cfg, const char *dir, WbError *err);
int flowers_index(DataSource *src, const DataConfig *cfg, const char *dir, WbError *err);
int cub_index(DataSource *src, const DataConfig *cfg, const char *dir, WbError *err);
int isic_index(DataSource *src, const DataConfig *cfg, const char *dir, WbError *err);
int boolq_index(DataSource *src, const DataConfig *cfg, const char *dir, WbError *err);
int textcls_index(DataSource *src, const DataConfig *cfg, const char *dir, WbError *err);
// cfg->tokenizer must be resolved (non-empty); sets src->T, vocab, pad_id, n_truncated.
int text_load(DataSource *src, const DataConfig *cfg, const int *keep, int nkeep, WbError *err);

// Helpers shared by the format files (folder.c).
// Append one record; path is copied into the names arena (folders) or NULL.
void source_add(DataSource *src, const char *path, int label, int record);
void source_free(DataSource *src);
const char *source_file(const DataSource *src, int i);
int path_is_dir(const char *path);
int path_is_file(const char *path);
// Text listings: the whole file in buf (NUL-terminated); next_line hands out
// lines (without \r\n) and their 1-based numbers, modifying the buffer.
int text_read(ByteBuf *buf, const char *path, WbError *err);
char *text_next_line(char **cursor, int *lineno);
// Strict integer parse of a whole token.
int parse_int(const char *s, long *v);

#endif
