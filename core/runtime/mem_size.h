// mem_size.h: memory sizes as people write them ("2GiB", "512MB") and as
// messages show them, for memory.cap and `wasibench maxbatch --cap`.
#ifndef WB_MEM_SIZE_H
#define WB_MEM_SIZE_H

#include <stddef.h>

// "2GiB", "512MB", "1.5G", "1e9", "1048576" -> bytes: KB/MB/GB/TB are powers
// of 1000, KiB/MiB/GiB/TiB and the bare K/M/G/T powers of 1024. 0, or -1 when
// s is not a size > 0.
int mem_parse_size(const char *s, double *bytes);
// "1GiB,2GiB,4GiB" -> caps[0..n), n <= max (one size is a list of one): n, or
// -1 with why[] naming the bad element (empty, not a size, a repeat) and what
// a size looks like.
int mem_parse_size_list(const char *s, double *caps, int max, char *why, size_t why_cap);
// "2.00 GiB" style, for messages.
void mem_format_size(char *buf, size_t cap, double bytes);

#endif
