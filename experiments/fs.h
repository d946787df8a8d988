// fs.h: the two file-system chores of the program, once: a folder and its
// parents, and a byte copy of a file (results' atomic replace, plot's scripts).
#ifndef WB_FS_H
#define WB_FS_H

#include "core/runtime/common.h"

// mkdir -p: 0, or -1 with errno (ENOTDIR when dir exists and is not a folder;
// ENAMETOOLONG beyond 4095 bytes).
int fs_mkdir_p(const char *dir);

// Copy src to dst: 0, or -1 with err naming the file and the cause.
// exclusive: dst must not exist (O_EXCL), else it is replaced; after_first
// (may be NULL) runs once after the first block is written (fault tests).
int fs_copy_file(const char *src, const char *dst, int exclusive, void (*after_first)(void), WbError *err);

#endif
