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
	unsigned max_runs;      /* candidate runs at most (0: 500) */
	bool progress;          /* a progress line on stderr */
};

struct schedule_size {
	uint64_t steps, preemptions, switches, injected;
	size_t decisions, injections;  /* entries in the plan */
};

struct minimize_report {
	char signature[EXPLORE_SIG_MAX];
	struct schedule_size before, after;
	unsigned runs;          /* candidate schedules tried */
	double seconds;
};

enum minimize_status {
	MINIMIZE_OK = 0,
	MINIMIZE_NO_FAILURE = 1,  /* the trace's run did not fail, or its
				     schedule does not reproduce the failure */
	MINIMIZE_ERROR = 2,       /* bad trace, guest cannot run ... */
};

/* Shrinks the schedule of the failing run recorded in `path` and records the
 * smallest failing run found to `out` (a trace vcprr replay replays).
 * Returns an enum minimize_status, with a message in err unless OK. */
int minimize_trace(const char *path, const char *out,
		   const struct minimize_opts *o, struct minimize_report *rep,
		   char *err, size_t errlen);

#endif
