/* Minimizing a failing run: the schedule of a serial or step trace (its
 * switches and injected pauses) written down as a struct sched_plan, then
 * shrunk, chunk by chunk, for as long as the run still fails with the same
 * signature and with no more preemptions and injected pauses than before.
 * Shared by vcprr minimize and vcprr bench explore. */
#ifndef VCPRR_TOOLS_MINIMIZE_H
#define VCPRR_TOOLS_MINIMIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/explore.h"

struct minimize_opts {
	const char *guest;      /* NULL: the recorded guest, found as
				   vmm/guest-id.h says */
	bool force;             /* run a guest whose SHA-256 differs */
	bool replace;           /* replace an existing file at `out` */
	unsigned max_runs;      /* runs at most, the first included (0: 500) */
	bool progress;          /* a progress line on stderr */
	/* Polled between runs (may be NULL): true ends the search early,
	 * keeping the smallest failing run found so far. */
	bool (*interrupted)(void);
};

struct schedule_size {
	uint64_t steps, preemptions, switches, injected;
	size_t decisions, injections;  /* entries in the plan */
};

struct minimize_report {
	char signature[EXPLORE_SIG_MAX];
	struct schedule_size before, after;
	unsigned runs;          /* schedules run, the recorded one included */
	double seconds;
	bool written;           /* `out` holds the smallest failing run */
	bool interrupted;       /* stopped early by `interrupted` */
};

enum minimize_status {
	MINIMIZE_OK = 0,
	MINIMIZE_NO_FAILURE = 1,  /* the trace's run did not fail, or its
				     schedule does not reproduce the failure */
	MINIMIZE_ERROR = 2,       /* bad trace, guest cannot run ... */
};

/* Shrinks the schedule of the failing run recorded in `path`.  Every run
 * is recorded, and each smaller failing one replaces `out` (a trace vcprr
 * replay replays) as soon as it ends, so that `out` always holds the
 * smallest failing run found so far, whatever stops the search.
 * Returns an enum minimize_status, with a message in err unless OK
 * (rep->written tells whether `out` was written even so). */
int minimize_trace(const char *path, const char *out,
		   const struct minimize_opts *o, struct minimize_report *rep,
		   char *err, size_t errlen);

#endif
