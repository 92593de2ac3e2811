/* One step-mode run watched instruction by instruction: the observer
 * (vmm/step-observer.h) that fills an access log (analyze-log.h), and the
 * schedule of the run as it happened (switches, pauses and resumes, each
 * with its step), which the explanation of a failure walks.
 *
 * Filled by the run's threads under the struct's own lock; read once the
 * run has ended.  One run per struct. */
#ifndef VCPRR_TOOLS_ANALYZE_RUN_H
#define VCPRR_TOOLS_ANALYZE_RUN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/analyze-log.h"
#include "vmm/step-observer.h"

/* A scheduling event of the run: SCHED_SWITCH (vcpu: to, a0: from, as the
 * trace has them), PAUSE_REQUEST, PAUSE_TAKEN, RESUME_REQUEST, RESUMED. */
struct analyze_edge {
	uint32_t type;            /* enum trace_event_type */
	uint32_t vcpu;
	uint64_t a0, a2, a3;
	uint64_t step;            /* the scheduler's step it came at */
};

struct analyze_run {
	struct vm_step_observer obs;   /* give &obs to the run */
	struct access_log *log;
	struct analyze_edge *edges;
	size_t nedges, cap;
	uint64_t steps;                /* instructions seen */
	uint64_t last_step;
	bool out_of_memory;            /* edges lost */
	pthread_mutex_t lock;
};

/* 0, or -1 when out of memory.  max_entries as access_log_new. */
int analyze_run_init(struct analyze_run *ar, size_t max_entries);
void analyze_run_fini(struct analyze_run *ar);

#endif
