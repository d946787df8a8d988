// confighash.c: hashes and the first differing key of resolved configs (see confighash.h).
#include "confighash.h"

#include <stdio.h>
#include <string.h>

// The settings part: from the "experiment:" line; the "output:" line is skipped.
static const char *settings_start(const char *y) {
    if (!strncmp(y, "experiment:", 11)) return y;
    const char *p = strstr(y, "\nexperiment:");
    return p ? p + 1 : y;
}

// Next line of the settings [*p, eol) into *s/*n; 0 at the end. Skips
// output:, blank lines and whole-line comments (they repeat derived values).
static int next_line(const char **p, const char **s, size_t *n) {
    while (**p) {
        const char *b = *p, *e = strchr(b, '\n');
        if (!e) e = b + strlen(b);
        *p = *e ? e + 1 : e;
        const char *t = b;
        while (t < e && *t == ' ') t++;
        if (t == e || *t == '#' || (t == b && !strncmp(b, "output:", 7))) continue;
        *s = b;
        *n = (size_t)(e - b);
        return 1;
    }
    return 0;
}

uint64_t cfg_hash_settings(const char *yaml, uint64_t h) {
    const char *p = settings_start(yaml), *s;
    size_t n;
    while (next_line(&p, &s, &n)) {
        for (size_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 1099511628211ull; }
        h ^= '\n'; h *= 1099511628211ull;
    }
    return h;
}

void cfg_hash_hex(uint64_t h, char hex[CFG_HASH_HEX]) { snprintf(hex, CFG_HASH_HEX, "%016llx", (unsigned long long)h); }

// The key path of YAML block lines, one line at a time: a stack of
// (indent, name); "- " opens a list item named [i] under its parent.
typedef struct { int indent[16]; char name[16][64]; int items[16]; int depth; } KeyPath;

static void path_push(KeyPath *k, int indent, const char *name, size_t n) {
    while (k->depth > 0 && k->indent[k->depth - 1] >= indent) k->depth--;
    if (k->depth == 16) return;
    k->indent[k->depth] = indent;
    snprintf(k->name[k->depth], sizeof k->name[0], "%.*s", (int)(n < 63 ? n : 63), name);
    k->items[k->depth] = 0;
    k->depth++;
}

static void path_line(KeyPath *k, const char *s, size_t n) {
    int ind = 0;
    while ((size_t)ind < n && s[ind] == ' ') ind++;
    if ((size_t)ind + 1 < n && s[ind] == '-' && s[ind + 1] == ' ') {   // "- key: v": item [i], then key inside it
        while (k->depth > 0 && k->indent[k->depth - 1] >= ind) k->depth--;
        char item[24];
        int i = k->depth > 0 ? k->items[k->depth - 1]++ : 0;
        snprintf(item, sizeof item, "[%d]", i);
        path_push(k, ind, item, strlen(item));
        ind += 2;
    }
    const char *c = memchr(s + ind, ':', n - (size_t)ind);
    size_t kl = c ? (size_t)(c - s - ind) : n - (size_t)ind;
    path_push(k, ind, s + ind, kl);
}

static void path_str(const KeyPath *k, char *out, size_t n) {
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < k->depth && len + 1 < n; i++) {
        const char *sep = (i == 0 || k->name[i][0] == '[') ? "" : ".";
        int w = snprintf(out + len, n - len, "%s%s", sep, k->name[i]);
        if (w < 0) break;
        len += (size_t)w;
    }
}

static void value_of(const char *s, size_t n, char *out, size_t cap) {
    const char *c = s ? memchr(s, ':', n) : NULL;
    if (!s) { snprintf(out, cap, "(absent)"); return; }
    if (!c) { snprintf(out, cap, "%.*s", (int)n, s); return; }
    c++;
    while (c < s + n && *c == ' ') c++;
    snprintf(out, cap, "%.*s", (int)(s + n - c), c);
}

int cfg_first_diff(const char *a, const char *b, char *key, size_t nkey, char *was, char *now, size_t nval) {
    const char *pa = settings_start(a), *pb = settings_start(b), *sa, *sb;
    size_t na, nb;
    KeyPath k;
    memset(&k, 0, sizeof k);
    for (;;) {
        int ga = next_line(&pa, &sa, &na), gb = next_line(&pb, &sb, &nb);
        if (!ga && !gb) return 0;
        if (ga && gb && na == nb && !memcmp(sa, sb, na)) { path_line(&k, sb, nb); continue; }
        if (gb) path_line(&k, sb, nb); else path_line(&k, sa, na);
        path_str(&k, key, nkey);
        value_of(ga ? sa : NULL, na, was, nval);
        value_of(gb ? sb : NULL, nb, now, nval);
        return 1;
    }
}
