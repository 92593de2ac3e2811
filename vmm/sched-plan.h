/* Looking up a written-down schedule (struct sched_plan) as a run goes:
 * each VCPU's decisions and injections in order of its own scheduling
 * points, found in amortised constant time.  Owned by one scheduler and used
 * under its lock. */
#ifndef VCPRR_VMM_SCHED_PLAN_H
#define VCPRR_VMM_SCHED_PLAN_H

#include "vmm/sched.h"

struct plan_index;

/* NULL when out of memory.  The plan must outlive the index. */
struct plan_index *plan_index_new(const struct sched_plan *plan,
				  unsigned nr_vcpus);
void plan_index_free(struct plan_index *pi);
/* A copy with the same entries used and the same cursors (a snapshot of a
 * run's schedule).  NULL when out of memory. */
struct plan_index *plan_index_clone(const struct plan_index *pi);

/* The VCPU to switch to at (vcpu, own_step, where), or -1 for none.  Each
 * decision is used once. */
int plan_decision(struct plan_index *pi, uint32_t vcpu, uint64_t own_step,
		  enum sched_where where);

/* The next unused injection at vcpu's own_step-th point, or NULL. */
const struct sched_injection *plan_injection(struct plan_index *pi,
					     uint32_t vcpu, uint64_t own_step);

#endif
