/* Who holds the CPU in a serial or step trace, from its SCHED_SWITCH
 * events: a slice per stretch a VCPU held the scheduler's token, and why
 * it lost it (preempted at a point, paused, halted, finished, yielded, the
 * run stopping).
 *
 * The trace does not log where a VCPU was when it lost the token, so a
 * slice is reported once the VCPU's next own event tells (a PAUSE_TAKEN
 * at its position, an EXIT_HLT, a VCPU_EXIT), or when it gets the token
 * back, with the last position it logged before.  Memory is bounded by
 * the number of VCPUs. */
#ifndef VCPRR_TOOLS_INSPECT_HOLDS_H
#define VCPRR_TOOLS_INSPECT_HOLDS_H

#include <stdbool.h>
#include <stdint.h>

#include "traces/event.h"

enum hold_end {
	HOLD_ONGOING,     /* still held when the trace ends */
	HOLD_PREEMPTED,   /* the scheduler switched at a point */
	HOLD_PAUSED,      /* a pause (the controller's or an injected one) */
	HOLD_HALTED,
	HOLD_YIELDED,
	HOLD_FINISHED,    /* main returned or the VCPU exited */
	HOLD_BLOCKED,     /* switched away because it could not go on */
	HOLD_STOPPED,     /* the run was being stopped */
	HOLD__COUNT
};

const char *hold_end_name(enum hold_end how);

#define HOLD_NO_SEQ UINT64_MAX

struct hold_slice {
	uint32_t vcpu;
	uint64_t start, end;          /* times */
	uint64_t step_in, step_out;   /* scheduler steps */
	uint64_t seq_in, seq_out;     /* its SCHED_SWITCH events (or none) */
	enum hold_end how;
	uint32_t to;                  /* who got the CPU (TRACE_VCPU_NONE) */
	/* Where the VCPU was: the event that says so (its PAUSE_TAKEN, or the
	 * last one with a RIP before it lost the CPU), or NULL. */
	const struct trace_event *where;
};

typedef void (*hold_fn)(void *ctx, const struct hold_slice *h);

struct holds;

struct holds *holds_new(hold_fn fn, void *ctx);
void holds_feed(struct holds *hs, const struct trace_event *ev);
/* Reports what is still pending or held (ended at @tend) and frees @hs. */
void holds_finish(struct holds *hs, uint64_t tend);

#endif
