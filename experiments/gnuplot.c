// gnuplot.c: one gnuplot run for a figure, checked (see gnuplot.h).
#include "experiments/gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

// Append s to dst as the inside of a gnuplot single-quoted string ('' is a quote).
static void gp_quote(char *dst, size_t cap, const char *s) {
    size_t n = strlen(dst);
    for (; *s && n + 3 < cap; s++) {
        if (*s == '\'') dst[n++] = '\'';
        dst[n++] = *s;
    }
    dst[n] = 0;
}

// The first line of the gnuplot log that mentions an error, for the message.
static void log_excerpt(const char *log_path, long from, char *dst, size_t cap) {
    dst[0] = 0;
    FILE *f = fopen(log_path, "r");
    if (!f) return;
    char line[512], last[512] = "";
    if (fseek(f, from, SEEK_SET) == 0)
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = 0;
            if (!line[0]) continue;
            snprintf(last, sizeof last, "%s", line);
            if (!dst[0] && (strstr(line, "error") || strstr(line, "rror:"))) snprintf(dst, cap, "%s", line);
        }
    if (!dst[0]) snprintf(dst, cap, "%s", last);
    fclose(f);
}

int gnuplot_run(const char *datadir, const char *script, const char *outfile, const char *term, const char *log_path, WbError *err) {
    const char *gp = getenv("WASIBENCH_GNUPLOT");
    if (!gp || !gp[0]) gp = "gnuplot";
    char expr[3 * 4096 + 64] = "datadir='";
    gp_quote(expr, sizeof expr, datadir);
    size_t n = strlen(expr);
    snprintf(expr + n, sizeof expr - n, "'; outfile='");
    gp_quote(expr, sizeof expr, outfile);
    n = strlen(expr);
    snprintf(expr + n, sizeof expr - n, "'; term='%s'", term);
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return wb_error(err, "%s: cannot write: %s", log_path, strerror(errno));
    struct stat st;
    long from = fstat(fd, &st) == 0 ? (long)st.st_size : 0;
    dprintf(fd, "== %s -e \"%s\" %s\n", gp, expr, script);
    fflush(NULL);  // the child must not flush our buffers a second time
    pid_t pid = fork();
    if (pid < 0) { close(fd); return wb_error(err, "fork failed: %s", strerror(errno)); }
    if (pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) { dup2(devnull, 0); close(devnull); }
        char *argv[] = {(char *)gp, (char *)"-e", expr, (char *)script, NULL};
        execvp(gp, argv);
        dprintf(2, "exec %s: %s\n", gp, strerror(errno));
        _exit(127);
    }
    close(fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return wb_error(err, "waitpid for gnuplot failed: %s", strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return wb_error(err, "cannot run '%s': gnuplot is not installed? (apt-get install gnuplot-nox, or set WASIBENCH_GNUPLOT); the data files are in %s", gp, datadir);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char why[512];
        log_excerpt(log_path, from, why, sizeof why);
        return wb_error(err, "%s failed (%s %d) rendering %s: %s (full messages in %s)", gp, WIFEXITED(status) ? "exit status" : "signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), outfile, why, log_path);
    }
    if (stat(outfile, &st) != 0 || st.st_size == 0)
        return wb_error(err, "%s exited 0 but wrote no %s (see %s)", gp, outfile, log_path);
    return 0;
}

