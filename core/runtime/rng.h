// rng.h: the one seeded random number generator of the project
// (xoshiro256** seeded through splitmix64). Never rand().
#ifndef WB_RNG_H
#define WB_RNG_H

#include <stdint.h>

typedef struct { uint64_t s[4]; } Rng;

void rng_seed(Rng *r, uint64_t seed);
uint64_t rng_u64(Rng *r);
uint32_t rng_below(Rng *r, uint32_t n);            // uniform in [0, n), unbiased
float rng_uniform(Rng *r);                          // uniform in [0, 1), 24 random bits
float rng_normal(Rng *r);                           // standard normal (Box-Muller)
void rng_fill_uniform(Rng *r, float *x, long n, float lo, float hi);
void rng_fill_normal(Rng *r, float *x, long n, float mean, float std);
void rng_shuffle_int(Rng *r, int *a, int n);        // Fisher-Yates

#endif
