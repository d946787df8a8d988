// confighash.h: the identity of a run's settings. A run's resolved YAML
// (config.h) is hashed from its `experiment:` line on, without `output:`
// (the header comments name the run's index and the YAML's path; the output
// file is where results go, not what they are). Resume and merge compare
// these hashes; when two configs differ, cfg_first_diff names the first key.
#ifndef WB_CONFIGHASH_H
#define WB_CONFIGHASH_H

#include <stddef.h>
#include <stdint.h>

#define CFG_HASH_HEX 17   // 16 hex digits and the NUL

// FNV-1a of the settings part of yaml, continued from h (start with CFG_HASH_SEED).
#define CFG_HASH_SEED 1469598103934665603ull
uint64_t cfg_hash_settings(const char *yaml, uint64_t h);
void cfg_hash_hex(uint64_t h, char hex[CFG_HASH_HEX]);

// Compare the settings of two resolved configs line by line. Returns 0 when
// equal, else 1 with key = the dotted path of the first differing line
// ("training.lr", "methods[0].rank") and was/now = its values in a and b.
int cfg_first_diff(const char *a, const char *b, char *key, size_t nkey, char *was, char *now, size_t nval);

#endif
