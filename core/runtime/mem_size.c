// mem_size.c: memory sizes as people write them (see mem_size.h).
#include "core/runtime/mem_size.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mem_parse_size(const char *s, double *bytes) {
    if (!s) return -1;
    while (isspace((unsigned char)*s)) s++;
    if (!*s || *s == '-' || *s == '+') return -1;
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v <= 0) return -1;
    while (isspace((unsigned char)*end)) end++;
    static const struct { const char *suf; double mul; } units[] = {
        {"", 1}, {"B", 1},
        {"K", 1024.0}, {"KiB", 1024.0}, {"KB", 1e3},
        {"M", 1048576.0}, {"MiB", 1048576.0}, {"MB", 1e6},
        {"G", 1073741824.0}, {"GiB", 1073741824.0}, {"GB", 1e9},
        {"T", 1099511627776.0}, {"TiB", 1099511627776.0}, {"TB", 1e12},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(end, units[i].suf)) {
            double b = v * units[i].mul;
            if (b < 1 || b > 1e18) return -1;   // under a byte or beyond any machine: a typo
            *bytes = b;
            return 0;
        }
    return -1;
}

// why[]: "'<s>': expected ..." for one size (what a single --cap always said),
// "'<s>': element i '<e>': expected ..." in a list.
int mem_parse_size_list(const char *s, double *caps, int max, char *why, size_t why_cap) {
    static const char *expected = "expected a size > 0 such as 2GiB, 512MB, 1.5G";
    if (!s || !strchr(s, ',')) {
        if (max >= 1 && mem_parse_size(s, &caps[0]) == 0) return 1;
        snprintf(why, why_cap, "'%s': %s", s ? s : "", expected);
        return -1;
    }
    int n = 0;
    for (const char *q = s;; q++) {
        size_t len = strcspn(q, ",");
        char one[64];
        snprintf(one, sizeof one, "%.*s", (int)len, q);
        if (n == max) {
            snprintf(why, why_cap, "'%s': more than %d sizes", s, max);
            return -1;
        }
        if (len >= sizeof one || mem_parse_size(one, &caps[n]) < 0) {
            snprintf(why, why_cap, "'%s': element %d '%.*s': %s (a list: sizes separated by commas, e.g. 1GiB,2GiB,4GiB)", s, n + 1,
                     (int)len, q, expected);
            return -1;
        }
        for (int j = 0; j < n; j++)
            if (caps[j] == caps[n]) {
                snprintf(why, why_cap, "'%s': element %d '%s' is the same cap as element %d", s, n + 1, one, j + 1);
                return -1;
            }
        n++;
        q += len;
        if (!*q) return n;
    }
}

void mem_format_size(char *buf, size_t cap, double b) {
    if (b >= 1073741824.0) snprintf(buf, cap, "%.2f GiB", b / 1073741824.0);
    else snprintf(buf, cap, "%.1f MiB", b / 1048576.0);
}
