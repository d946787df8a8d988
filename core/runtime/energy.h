// energy.h: the host's energy counters, behind one reader (DESIGN "Scale-out"):
//   RAPL through Linux powercap (Intel, and AMD since Linux 5.8, both under
//     the intel-rapl driver; amd-rapl zones are read too): the top-level
//     package zones <root>/sys/class/powercap/{intel,amd}-rapl:N/energy_uj
//     (µJ counters that wrap at max_energy_range_uj; sub-zones such as
//     intel-rapl:0:0 are inside their package and are not added again);
//   hwmon power rails (Jetson-style boards, the paper authors' method):
//     <root>/sys/class/hwmon/hwmon*/power*_input in µW, sampled by a thread
//     every sample_ms (50 ms, as the authors) and integrated (trapezoid).
// When both exist RAPL is used. Counters count the whole package/board: every
// process on the host, other ranks and other users included.
// The cumulative joules feed the phase counters (counters.h) so energy is
// charged per phase exactly as time is.
#ifndef WB_ENERGY_H
#define WB_ENERGY_H

#include <pthread.h>

#define ENERGY_MAX_DOMAINS 16

typedef struct {
    int n_rapl;                          // RAPL package zones in use
    int rapl_fd[ENERGY_MAX_DOMAINS];     // open energy_uj files (read with pread)
    double rapl_max_uj[ENERGY_MAX_DOMAINS];
    double rapl_last_uj[ENERGY_MAX_DOMAINS];
    double rapl_joules;                  // accumulated over all zones, wrap-corrected
    int n_hwmon;                         // hwmon power rails in use (when no RAPL)
    int hw_fd[ENERGY_MAX_DOMAINS];
    double hw_joules, hw_last_w, hw_last_t;   // integral so far; power and time of the last sample
    int hw_sampled;
    int sample_ms;                       // 0: no thread (the caller samples: energy_hwmon_sample)
    pthread_t thread;
    pthread_mutex_t lock;
    volatile int running;
    char source[512];                    // e.g. "rapl: package-0, package-1" or "none"
} EnergyMeter;

// Find the counters under root ("" = this host's /sys). Returns the number of
// domains in use (0: none; source says "none").
int energy_open(EnergyMeter *em, const char *root, int sample_ms);
// Joules since energy_open (hwmon: the integral up to the last sample,
// extended at its power to now).
double energy_joules(EnergyMeter *em);
// One hwmon sample at time t (seconds, any clock): for tests, and the thread.
void energy_hwmon_sample(EnergyMeter *em, double t);
void energy_close(EnergyMeter *em);

#endif
