/* Parallel replay: the recorded pauses for the VMM to land (vmm/land.c),
 * the recorded resumes to resume them with, and what landing costs.  Each
 * is called on the VCPU's own thread. */
#ifndef VCPRR_REPLAY_LAND_HOOKS_H
#define VCPRR_REPLAY_LAND_HOOKS_H

#include "replay/replay-state.h"

const struct vm_replay_pause *land_next_pause(void *arg, unsigned vcpu);
int land_resume_for(void *arg, unsigned vcpu, uint64_t *data, unsigned *mask,
		    const uint8_t **edits, uint32_t *len,
		    const uint64_t **pending, unsigned *npending);
void land_landed(void *arg, unsigned vcpu, uint64_t ns);
void land_visit(void *arg, unsigned vcpu, uint64_t rip, uint64_t visits);
/* The VCPU waits where the recorded stop caught it (landed there, or in a
 * pause the recording never resumed). */
void land_at_end(void *arg, unsigned vcpu);

/* The median cost of landing a pause (of a uniform sample when there were
 * many), 0 when none was landed. */
uint64_t land_median_ns(struct replay *rp);

#endif
