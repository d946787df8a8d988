// progress.h: what a person watching a sweep sees on stderr. On a terminal:
// a sweep line ("run 7/24 finetune/wasi-eps0.7-seed233") and a bar per run
// redrawn in place with step, loss, throughput and ETA. Not a terminal
// (logs, CI): one plain line every few seconds. Quiet: nothing.
#ifndef WB_PROGRESS_H
#define WB_PROGRESS_H

typedef enum { PROGRESS_AUTO = 0, PROGRESS_QUIET, PROGRESS_PLAIN, PROGRESS_BAR } ProgressMode;

typedef struct {
    ProgressMode mode;
    int run, nruns;          // 1-based position in this invocation's run list
    const char *name;
    long total_steps;        // steps of the whole run (all epochs)
    long step;
    double t_start, t_last_print;
    int last_len;            // chars of the bar on screen (to blank it)
} Progress;

void progress_begin(Progress *p, ProgressMode mode, int run, int nruns, const char *name, long total_steps);
// After each step: epoch (1-based) of epochs, the step's loss, images per second so far.
void progress_step(Progress *p, int epoch, int epochs, float loss, double images_per_s);
// A line that must be kept (epoch summary, warning): clears the bar first.
void progress_note(Progress *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void progress_end(Progress *p, const char *status);
// A note outside any run's bar (setup messages): printed unless mode is quiet.
void progress_note_plain(ProgressMode mode, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
