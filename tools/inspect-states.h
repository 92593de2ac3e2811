/* Per-VCPU states over time, for the timeline exporters.
 *
 * A VCPU is running (from VCPU_START or RESUMED), in-exit (from the first
 * to the last event logged in one exit, i.e. with one exit_seq: the
 * re-entry into the guest is not recorded, so the state ends at the last
 * event we know was in the exit), paused (PAUSE_TAKEN to RESUMED) or
 * halted (EXIT_HLT to its next event).  Slices are reported when they end,
 * so memory is bounded by the number of VCPUs. */
#ifndef VCPRR_TOOLS_INSPECT_STATES_H
#define VCPRR_TOOLS_INSPECT_STATES_H

#include <stdbool.h>
#include <stdint.h>

#include "traces/event.h"

enum vstate { VS_NONE, VS_RUNNING, VS_IN_EXIT, VS_PAUSED, VS_HALTED };

const char *vstate_name(enum vstate st);

struct state_slice {
	uint32_t vcpu;
	enum vstate st;
	uint64_t start, end;
	const struct trace_event *first;  /* the event that opened it */
	uint32_t nevents;                 /* in-exit: events in the exit */
};

struct state_ops {
	void (*slice)(void *ctx, const struct state_slice *s);
	/* Point events: VM-wide ones, signals, kicks, resume requests,
	 * VCPU exits and errors, scheduler switches. */
	void (*instant)(void *ctx, const struct trace_event *ev);
	/* First event of a VCPU (to name its tracks). */
	void (*new_vcpu)(void *ctx, uint32_t vcpu);
};

struct states;

struct states *states_new(const struct state_ops *ops, void *ctx);
void states_feed(struct states *s, const struct trace_event *ev);
/* Ends every open state at @tend and frees @s. */
void states_finish(struct states *s, uint64_t tend);

#endif
