// fs.c: folder creation and file copy (see fs.h).
#include "experiments/fs.h"
#include "core/runtime/memory.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_mkdir_p(const char *dir) {
    char buf[4096];
    if ((size_t)snprintf(buf, sizeof buf, "%s", dir) >= sizeof buf) { errno = ENAMETOOLONG; return -1; }
    for (char *q = buf + 1;; q++) {
        int end = *q == 0;
        if (*q == '/' || end) {
            *q = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
            if (end) break;
            *q = '/';
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode)) { errno = ENOTDIR; return -1; }
    return 0;
}

int fs_copy_file(const char *src, const char *dst, int exclusive, void (*after_first)(void), WbError *err) {
    int in = -1, out = -1, rc = -1;
    size_t cap = 1 << 16;
    char *buf = mem_alloc(cap, MEM_WORKSPACE);
    if ((in = open(src, O_RDONLY)) < 0) { wb_error(err, "cannot read %s: %s", src, strerror(errno)); goto done; }
    if ((out = open(dst, O_WRONLY | O_CREAT | (exclusive ? O_EXCL : O_TRUNC), 0644)) < 0) {
        wb_error(err, "cannot create %s: %s (is the directory writable?)", dst, strerror(errno));
        goto done;
    }
    for (int block = 0;; block++) {
        ssize_t n = read(in, buf, cap);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { wb_error(err, "reading %s failed: %s", src, strerror(errno)); goto done; }
        if (n == 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) { wb_error(err, "writing %s failed: %s (disk full?)", dst, strerror(errno)); goto done; }
            off += w;
        }
        if (block == 0 && after_first) after_first();
    }
    rc = 0;
done:
    if (in >= 0) close(in);
    if (out >= 0 && close(out) != 0 && rc == 0) rc = wb_error(err, "closing %s failed: %s", dst, strerror(errno));
    mem_free(buf);
    return rc;
}
