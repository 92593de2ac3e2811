/* Watching a replay while its VM runs, on the thread that started it:
 * progress reports, the end of a recording cut short, and the bound on
 * how long a replay may go without progress (see replay.h). */
#ifndef VCPRR_REPLAY_WATCH_H
#define VCPRR_REPLAY_WATCH_H

#include <stddef.h>

#include "replay/replay.h"
#include "replay/replay-state.h"

enum watch_end {
	WATCH_ENDED,    /* the run ended */
	WATCH_STUCK,    /* no progress for longer than the recording allows */
	WATCH_TIMEOUT,  /* opts.timeout_ns */
};

/* Waits for rp->vm to end.  On STUCK and TIMEOUT the run still runs and
 * @why says where each VCPU stands. */
enum watch_end watch_run(struct replay *rp, const struct replay_opts *o,
			 char *why, size_t len);

#endif
