/* Minimizing a failing run: the schedule of a serial or step trace (its
 * switches and injected pauses) written down as a struct sched_plan, then
 * shrunk, chunk by chunk, for as long as the run still fails with the same
 * signature and with no more preemptions and injected pauses than before.
 * Shared by vcprr minimize and vcprr bench explore. */
#ifndef VCPRR_TOOLS_MINIMIZE_H
#define VCPRR_TOOLS_MINIMIZE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/explore.h"

struct minimize_opts {
	const char *guest;      /* NULL: the recorded guest, found as
				   vmm/guest-id.h says */
	const char *guest_dir;  /* --guest-dir: a folder to look in too */
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

/* The schedule of a serial or step trace, as a plan: decisions from its
 * SCHED_SWITCH events, one per switch to a VCPU, in the trace's order;
 * injections from its injected PAUSE_REQUESTs, in order.  cfg is the
 * recorded run (cfg.guest points at guest). */
struct recorded_schedule {
	struct explore_config cfg;
	char guest[PATH_MAX];
	struct sched_decision *dec;
	size_t ndec;
	struct sched_injection *inj;
	size_t ninj;
	int end_reason, end_code;   /* -1: no VM_END */
	char assert_sig[EXPLORE_SIG_MAX];  /* from GUEST_ASSERT, or "" */
};

/* Reads the schedule of the trace at path (only o->guest, guest_dir and
 * force are used): 0, or -1 with a message naming the file in err (a
 * parallel trace, an unreadable one, a guest not found).  The caller
 * frees rec with schedule_free, also after a failure. */
int schedule_load(const char *path, const struct minimize_opts *o,
		  struct recorded_schedule *rec, char *err, size_t errlen);
void schedule_free(struct recorded_schedule *rec);

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
