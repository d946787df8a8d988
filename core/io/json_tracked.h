// json_tracked.h: cJSON through the tracked allocator. Between begin and
// end every cJSON allocation is a mem_alloc of the given category (so JSON
// files count in the memory report like everything else); end restores
// cJSON's defaults for any other user of the library. Not reentrant: one
// parse (or print) at a time, as the program does.
#ifndef WB_JSON_TRACKED_H
#define WB_JSON_TRACKED_H

#include "core/runtime/memory.h"

void json_tracked_begin(MemCategory cat);
void json_tracked_end(void);

#endif
