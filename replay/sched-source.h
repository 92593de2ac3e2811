/* Serial and step replay: the trace stands in for the scheduling policy and
 * the controller (struct sched_source of vmm/replay-hooks.h).  Called with
 * the scheduler's lock held. */
#ifndef VCPRR_REPLAY_SCHED_SOURCE_H
#define VCPRR_REPLAY_SCHED_SOURCE_H

#include "replay/replay-state.h"

bool source_apply(void *arg, struct vm *vm, uint64_t step,
		  enum sched_where where);
int source_switch(void *arg, uint64_t step, enum sched_where where);

#endif
