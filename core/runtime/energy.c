// energy.c: RAPL (powercap) and hwmon readers (see energy.h).
#include "core/runtime/energy.h"
#include "core/runtime/counters.h"

#include <dirent.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

// snprintf for paths and labels: too long ones are cut (a cut path simply does not open).
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void fmt(char *dst, size_t cap, const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    vsnprintf(dst, cap, f, ap);
    va_end(ap);
}

// A number from an open sysfs file (re-read from offset 0); -1 on failure.
static double read_fd(int fd) {
    char buf[64];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *end;
    double v = strtod(buf, &end);
    return end == buf ? -1 : v;
}

static double read_path(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    double v = read_fd(fd);
    close(fd);
    return v;
}

static void read_name(const char *path, char *dst, size_t cap) {
    FILE *f = fopen(path, "r");
    dst[0] = 0;
    if (!f) return;
    if (fgets(dst, (int)cap, f)) dst[strcspn(dst, "\n")] = 0;
    fclose(f);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// Entry names of dir matching keep(), sorted (so zones come in a fixed order); returns how many (<= max).
static int list_dir(const char *dir, int (*keep)(const char *), char names[][64], int max) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max)
        if (keep(e->d_name) && strlen(e->d_name) < 64) fmt(names[n++], 64, "%s", e->d_name);
    closedir(d);
    char *p[ENERGY_MAX_DOMAINS];
    for (int i = 0; i < n; i++) p[i] = names[i];
    qsort(p, (size_t)n, sizeof p[0], cmp_str);
    char tmp[ENERGY_MAX_DOMAINS][64];
    for (int i = 0; i < n; i++) fmt(tmp[i], 64, "%s", p[i]);
    memcpy(names, tmp, sizeof(tmp[0]) * (size_t)n);
    return n;
}

// A package zone: "intel-rapl:N" or "amd-rapl:N" (one colon: not a sub-zone, not intel-rapl-mmio).
static int is_package_zone(const char *s) {
    const char *rest = !strncmp(s, "intel-rapl:", 11) ? s + 11 : !strncmp(s, "amd-rapl:", 9) ? s + 9 : NULL;
    return rest && *rest && !strchr(rest, ':');
}
static int is_hwmon(const char *s) { return !strncmp(s, "hwmon", 5); }
static int is_power_input(const char *s) {
    size_t n = strlen(s);
    return !strncmp(s, "power", 5) && n > 6 && !strcmp(s + n - 6, "_input");
}

static void add_source(EnergyMeter *em, const char *what) {
    size_t n = strlen(em->source);
    snprintf(em->source + n, sizeof em->source - n, "%s%s", n ? ", " : "", what);
}

static void *sampler(void *arg) {
    EnergyMeter *em = arg;
    struct timespec ts = {em->sample_ms / 1000, (long)(em->sample_ms % 1000) * 1000000L};
    while (em->running) {
        nanosleep(&ts, NULL);
        energy_hwmon_sample(em, wall_seconds());
    }
    return NULL;
}

int energy_open(EnergyMeter *em, const char *root, int sample_ms) {
    memset(em, 0, sizeof *em);
    pthread_mutex_init(&em->lock, NULL);
    char dir[1024], path[1200];
    char names[ENERGY_MAX_DOMAINS][64];
    fmt(dir, sizeof dir, "%s/sys/class/powercap", root);
    int nz = list_dir(dir, is_package_zone, names, ENERGY_MAX_DOMAINS);
    for (int i = 0; i < nz; i++) {
        fmt(path, sizeof path, "%s/%s/energy_uj", dir, names[i]);
        int fd = open(path, O_RDONLY);
        double v = fd >= 0 ? read_fd(fd) : -1;   // unreadable (non-root since Linux 5.10): skip the zone
        fmt(path, sizeof path, "%s/%s/max_energy_range_uj", dir, names[i]);
        double mx = read_path(path);
        if (v < 0 || mx <= 0) { if (fd >= 0) close(fd); continue; }
        int k = em->n_rapl++;
        em->rapl_fd[k] = fd;
        em->rapl_max_uj[k] = mx;
        em->rapl_last_uj[k] = v;
        char nm[64];
        fmt(path, sizeof path, "%s/%s/name", dir, names[i]);
        read_name(path, nm, sizeof nm);
        char what[160];
        fmt(what, sizeof what, "%s%s", em->n_rapl == 1 ? "rapl: " : "", nm[0] ? nm : names[i]);
        add_source(em, what);
    }
    if (em->n_rapl > 0) return em->n_rapl;
    fmt(dir, sizeof dir, "%s/sys/class/hwmon", root);
    char hw[ENERGY_MAX_DOMAINS][64];
    int nh = list_dir(dir, is_hwmon, hw, ENERGY_MAX_DOMAINS);
    for (int i = 0; i < nh && em->n_hwmon < ENERGY_MAX_DOMAINS; i++) {
        char sub[1100], rails[ENERGY_MAX_DOMAINS][64], nm[64];
        fmt(sub, sizeof sub, "%s/%s", dir, hw[i]);
        int nr = list_dir(sub, is_power_input, rails, ENERGY_MAX_DOMAINS);
        fmt(path, sizeof path, "%s/name", sub);
        read_name(path, nm, sizeof nm);
        for (int j = 0; j < nr && em->n_hwmon < ENERGY_MAX_DOMAINS; j++) {
            fmt(path, sizeof path, "%s/%s", sub, rails[j]);
            int fd = open(path, O_RDONLY);
            if (fd < 0 || read_fd(fd) < 0) { if (fd >= 0) close(fd); continue; }
            em->hw_fd[em->n_hwmon++] = fd;
            char what[200];
            fmt(what, sizeof what, "%s%s/%s", em->n_hwmon == 1 ? "hwmon: " : "", nm[0] ? nm : hw[i], rails[j]);
            add_source(em, what);
        }
    }
    if (em->n_hwmon == 0) { fmt(em->source, sizeof em->source, "none"); return 0; }
    energy_hwmon_sample(em, wall_seconds());
    em->sample_ms = sample_ms;
    if (sample_ms > 0) {
        em->running = 1;
        if (pthread_create(&em->thread, NULL, sampler, em) != 0) em->running = 0;
    }
    return em->n_hwmon;
}

void energy_hwmon_sample(EnergyMeter *em, double t) {
    double w = 0;
    for (int i = 0; i < em->n_hwmon; i++) {
        double uw = read_fd(em->hw_fd[i]);
        if (uw > 0) w += uw * 1e-6;
    }
    pthread_mutex_lock(&em->lock);
    if (em->hw_sampled) em->hw_joules += 0.5 * (w + em->hw_last_w) * (t - em->hw_last_t);
    em->hw_last_w = w;
    em->hw_last_t = t;
    em->hw_sampled = 1;
    pthread_mutex_unlock(&em->lock);
}

double energy_joules(EnergyMeter *em) {
    if (em->n_rapl > 0) {
        for (int i = 0; i < em->n_rapl; i++) {
            double v = read_fd(em->rapl_fd[i]);
            if (!(v >= 0)) continue;   // unreadable or unparsable this time: the next read catches up
            double d = v - em->rapl_last_uj[i];
            // The counter wrapped (it runs from 0 to max_energy_range_uj).
            // Reads come at every phase switch, far inside one wrap period (minutes).
            if (d < 0) d += em->rapl_max_uj[i];
            em->rapl_joules += d * 1e-6;
            em->rapl_last_uj[i] = v;
        }
        return em->rapl_joules;
    }
    if (em->n_hwmon == 0) return 0;
    pthread_mutex_lock(&em->lock);
    double j = em->hw_joules;
    if (em->sample_ms > 0) j += em->hw_last_w * (wall_seconds() - em->hw_last_t);
    pthread_mutex_unlock(&em->lock);
    return j;
}

void energy_close(EnergyMeter *em) {
    if (em->running) {
        em->running = 0;
        pthread_join(em->thread, NULL);
    }
    for (int i = 0; i < em->n_rapl; i++) close(em->rapl_fd[i]);
    for (int i = 0; i < em->n_hwmon; i++) close(em->hw_fd[i]);
    pthread_mutex_destroy(&em->lock);
    em->n_rapl = em->n_hwmon = 0;
}
