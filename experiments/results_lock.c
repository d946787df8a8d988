// results_lock.c: one writer per results file, a sidecar lock (see results.h).
#include "experiments/results.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

// The pid a holder wrote into the sidecar, or "unknown" (it may not have written it yet).
static void lock_holder(int fd, char *buf, size_t cap) {
    char t[32];
    ssize_t n = pread(fd, t, sizeof t - 1, 0);
    long pid = 0;
    if (n > 0) {
        t[n] = 0;
        pid = strtol(t, NULL, 10);
    }
    if (pid > 0) snprintf(buf, cap, "pid %ld", pid);
    else snprintf(buf, cap, "pid unknown");
}

void results_unlock(ResultsLock *lk) {
    if (lk->fd < 0) return;
    unlink(lk->path);   // while still holding it: a waiter that opened the old file sees the inode change
    close(lk->fd);
    lk->fd = -1;
}

int results_lock(const char *path, ResultsLock *lk, WbError *err) {
    lk->fd = -1;
    if ((size_t)snprintf(lk->path, sizeof lk->path, "%s.lock", path) >= sizeof lk->path)
        return wb_error(err, "%s: path too long for its lock file", path);
    // A holder removes the sidecar when it is done; if that happened between our
    // open and our flock we hold a lock on a removed file: open the path again.
    for (int attempt = 0; attempt < 100; attempt++) {
        int fd = open(lk->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return wb_error(err, "%s: cannot create files in the results folder (%s: %s); nothing was trained: "
                            "make the folder writable or choose another --out", path, lk->path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            char who[48];
            lock_holder(fd, who, sizeof who);
            close(fd);
            if (e == EWOULDBLOCK)
                return wb_error(err, "%s is being written by another wasibench process (%s holds %s): one writer per "
                                "results file; wait for it to finish or give this run another --out", path, who, lk->path);
            return wb_error(err, "%s: cannot lock %s: %s", path, lk->path, strerror(e));
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(lk->path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            char t[32];
            int n = snprintf(t, sizeof t, "%ld\n", (long)getpid());
            if (ftruncate(fd, 0) != 0 || pwrite(fd, t, (size_t)n, 0) != n) {
                int e = errno;
                unlink(lk->path);
                close(fd);
                return wb_error(err, "%s: cannot write the lock file %s: %s; nothing was trained", path, lk->path, strerror(e));
            }
            lk->fd = fd;
            // The folder must take new files: a stale sidecar may open in a folder that
            // does not. Probe with the writer's own <path>.tmp (stale, as we hold the lock).
            char tmp[sizeof lk->path];
            snprintf(tmp, sizeof tmp, "%s.tmp", path);
            int tfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (tfd < 0) {
                int e2 = errno;
                results_unlock(lk);
                return wb_error(err, "%s: cannot create files in the results folder (%s: %s); nothing was trained: "
                                "make the folder writable or choose another --out", path, tmp, strerror(e2));
            }
            close(tfd);
            unlink(tmp);
            return 0;
        }
        close(fd);
    }
    return wb_error(err, "%s: the lock file %s keeps being replaced; is another process removing it?", path, lk->path);
}

