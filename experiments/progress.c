// progress.c: progress bar with ETA, plain periodic lines, or silence (see progress.h).
#include "progress.h"
#include "core/runtime/counters.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void fmt_duration(char *buf, size_t n, double s) {
    if (s < 0 || s != s) { snprintf(buf, n, "--:--"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else snprintf(buf, n, "%02ld:%02ld", t / 60, t % 60);
}

static void clear_bar(Progress *p) {
    if (p->mode == PROGRESS_BAR && p->last_len > 0) {
        fprintf(stderr, "\r%*s\r", p->last_len, "");
        p->last_len = 0;
    }
}

void progress_begin(Progress *p, ProgressMode mode, int run, int nruns, const char *name, long total_steps) {
    memset(p, 0, sizeof *p);
    if (mode == PROGRESS_AUTO) mode = isatty(2) ? PROGRESS_BAR : PROGRESS_PLAIN;
    p->mode = mode;
    p->run = run; p->nruns = nruns; p->name = name;
    p->total_steps = total_steps;
    p->t_start = p->t_last_print = wall_seconds();
    if (mode != PROGRESS_QUIET) fprintf(stderr, "run %d/%d %s (%ld steps)\n", run, nruns, name, total_steps);
}

void progress_step(Progress *p, int epoch, int epochs, float loss, double images_per_s) {
    p->step++;
    if (p->mode == PROGRESS_QUIET) return;
    double now = wall_seconds(), el = now - p->t_start;
    double eta = p->step > 0 ? el / (double)p->step * (double)(p->total_steps - p->step) : -1;
    char e1[32], e2[32];
    fmt_duration(e1, sizeof e1, el);
    fmt_duration(e2, sizeof e2, eta);
    if (p->mode == PROGRESS_BAR) {
        if (now - p->t_last_print < 0.1 && p->step < p->total_steps) return;
        p->t_last_print = now;
        int width = 28, fill = p->total_steps > 0 ? (int)((double)width * (double)p->step / (double)p->total_steps) : 0;
        if (fill > width) fill = width;
        char bar[64];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = 0;
        int len = fprintf(stderr, "\r[%s] %ld/%ld ep %d/%d loss %.4f %.0f img/s %s<%s ",
                          bar, p->step, p->total_steps, epoch, epochs, (double)loss, images_per_s, e1, e2);
        if (len < p->last_len) fprintf(stderr, "%*s", p->last_len - len, "");
        p->last_len = len;
        fflush(stderr);
    } else if (now - p->t_last_print >= 10.0 || p->step == p->total_steps) {
        p->t_last_print = now;
        fprintf(stderr, "  run %d/%d step %ld/%ld epoch %d/%d loss %.4f %.0f img/s elapsed %s eta %s\n",
                p->run, p->nruns, p->step, p->total_steps, epoch, epochs, (double)loss, images_per_s, e1, e2);
    }
}

static void vnote(const char *fmt, va_list ap) {
    fprintf(stderr, "  ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
}

void progress_note(Progress *p, const char *fmt, ...) {
    if (p->mode == PROGRESS_QUIET) return;
    clear_bar(p);
    va_list ap;
    va_start(ap, fmt);
    vnote(fmt, ap);
    va_end(ap);
}

void progress_end(Progress *p, const char *status) {
    if (p->mode == PROGRESS_QUIET) return;
    clear_bar(p);
    char e[32];
    fmt_duration(e, sizeof e, wall_seconds() - p->t_start);
    fprintf(stderr, "  %s: %s in %s\n", p->name, status, e);
}

void progress_note_plain(ProgressMode mode, const char *fmt, ...) {
    if (mode == PROGRESS_QUIET) return;
    va_list ap;
    va_start(ap, fmt);
    vnote(fmt, ap);
    va_end(ap);
}
