/* Where a serial or step replay stands, for going back to it: every
 * cursor in the trace (each VCPU's own events and the requests aimed at
 * it, the recorded switches, the recorded actions), what is left to match
 * and the context rings, the counters, and the verdict so far.  With a VM
 * snapshot taken at the same moment (vmm/snapshot.h) it is a checkpoint:
 * restoring both and running on gives the same events as the first time.
 *
 * Taken and restored while no VCPU thread runs a hook (the VM stands still
 * at a debug stop point, or its run ended).  The caller owns a mark and
 * frees it with replay_mark_free. */
#ifndef VCPRR_REPLAY_MARK_H
#define VCPRR_REPLAY_MARK_H

#include <stdint.h>

#include "replay/replay-state.h"

struct replay_mark;

/* NULL when out of memory, or for a parallel or plugin replay (their
 * landing state is not kept). */
struct replay_mark *replay_mark_take(struct replay *rp);
/* 0 or -ENOMEM (then the replay is as it was, but for its cursors'
 * payload buffers). */
int replay_mark_restore(struct replay *rp, const struct replay_mark *m);
void replay_mark_free(struct replay_mark *m);
/* Bytes the mark holds. */
uint64_t replay_mark_bytes(const struct replay_mark *m);

/* A hash of everything a mark holds, as the replay has it now: equal
 * hashes after a restore say every piece came back. */
uint64_t replay_mark_hash(const struct replay *rp);

#endif
