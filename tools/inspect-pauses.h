/* Following pause requests through a trace: request -> signal -> kick ->
 * taken (or coalesced into a newer request) -> resume request -> resumed.
 *
 * Feed every event in sequence order; each request's life is reported once,
 * when it is over (its pause resumed) or at pause_tracker_finish.  Memory is
 * bounded: at most PAUSE_TRACK_MAX lives are open per VCPU (a hostile or
 * lossy trace evicts the oldest, reported with evicted set). */
#ifndef VCPRR_TOOLS_INSPECT_PAUSES_H
#define VCPRR_TOOLS_INSPECT_PAUSES_H

#include <stdbool.h>
#include <stdint.h>

#include "traces/event.h"

#define PAUSE_TRACK_MAX 64
#define PSTEP_NONE UINT64_MAX

struct pstep {
	uint64_t seq;   /* PSTEP_NONE: did not happen (or not in the trace) */
	uint64_t time;
};

struct pause_life {
	uint32_t vcpu;
	uint64_t req_seq, data;
	uint64_t into;               /* req_seq whose pause took this one:
	                                req_seq itself, a newer one when
	                                coalesced, 0 while unknown */
	struct pstep request, signal, kick, coalesced, taken, resume_request,
		     resumed;
	uint64_t exit_seq, rip;      /* where the pause landed */
	uint64_t resume_data;
	bool evicted;
};

static inline bool pstep_ok(const struct pstep *s)
{
	return s->seq != PSTEP_NONE;
}

typedef void (*pause_done_fn)(void *ctx, const struct pause_life *l);

struct pause_tracker;

struct pause_tracker *pause_tracker_new(pause_done_fn done, void *ctx);
/* Cheap for events outside the pause protocol. */
void pause_tracker_feed(struct pause_tracker *pt, const struct trace_event *ev);
/* Reports every life still open (never taken or never resumed). */
void pause_tracker_finish(struct pause_tracker *pt);
void pause_tracker_free(struct pause_tracker *pt);

#endif
