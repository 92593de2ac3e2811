/* Loading a trace for replay: one pass that reads the run description and
 * learns what the trace holds (how the run ended, where it was stopped or
 * cut, how many events each stream has), then the streams' cursors.
 * Nothing of the trace stays in memory but counts: the events are read
 * again, as the replay goes, through replay/stream.h. */
#ifndef VCPRR_REPLAY_LOAD_H
#define VCPRR_REPLAY_LOAD_H

#include <stddef.h>

#include "replay/replay-state.h"

/* Opens @path into @rp and scans it.  0, or -1 with a message in @err
 * (unreadable, corrupt, a lossy or unreplayable plugin trace). */
int load_scan(struct replay *rp, const char *path, char *err, size_t errlen);

/* After load_scan and deciding rp->prefix_only, cut_at_stop, raw: the
 * streams' classes and cursors, and what is left to check.  0 or -1. */
int load_streams(struct replay *rp, char *err, size_t errlen);

/* Whether the trace logs where its stop caught every VCPU (a parallel run
 * stopped, and recorded whole): see replay-state.h end_recorded.  After
 * load_scan. */
bool load_end_recorded(const struct replay *rp);

/* Events that depend on when signals land, not on the guest. */
bool load_is_timing(uint32_t type);
bool load_is_ctl(uint32_t type);

void load_free(struct replay *rp);

#endif
