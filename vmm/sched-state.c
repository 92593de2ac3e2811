/* Saving and loading the scheduler's state (see sched-state.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/sched-internal.h"
#include "vmm/sched-plan.h"
#include "vmm/sched-state.h"

struct sched_state {
	struct sched_config cfg;
	struct prng rng, inject_rng;
	int current, running, last;
	uint64_t step, clock;
	uint64_t change[SCHED_PCT_MAX_DEPTH];
	unsigned nchange, nqueued, nheld, nr_vcpus;
	struct sched_stats stats;
	bool over_budget, yielded;
	struct plan_index *plan;
	/* per VCPU */
	bool *runnable, *gone;
	int64_t *prio;
	uint64_t *gave_way, *yielded_at, *own;
	struct held_pause *held;
	struct sched_action *queue;   /* nqueued */
};

void sched_state_free(struct sched_state *st)
{
	if (!st)
		return;
	plan_index_free(st->plan);
	free(st->runnable);
	free(st->gone);
	free(st->prio);
	free(st->gave_way);
	free(st->yielded_at);
	free(st->own);
	free(st->held);
	free(st->queue);
	free(st);
}

size_t sched_state_bytes(const struct sched_state *st)
{
	return sizeof(*st) + st->nr_vcpus * (2 * sizeof(bool) + sizeof(int64_t) +
	       3 * sizeof(uint64_t) + sizeof(struct held_pause)) +
	       st->nqueued * sizeof(struct sched_action);
}

static void *copy_of(const void *p, size_t bytes)
{
	void *c = malloc(bytes ? bytes : 1);

	if (c)
		memcpy(c, p, bytes);
	return c;
}

struct sched_state *sched_state_save(struct vm *vm)
{
	const struct sched *s = vm->sched;
	struct sched_state *st = calloc(1, sizeof(*st));
	unsigned n = vm->nr_vcpus;

	if (!st)
		return NULL;
	st->cfg = s->cfg;
	st->rng = s->rng;
	st->inject_rng = s->inject_rng;
	st->current = s->current;
	st->running = s->running;
	st->last = s->last;
	st->step = s->step;
	st->clock = s->clock;
	memcpy(st->change, s->change, sizeof(st->change));
	st->nchange = s->nchange;
	st->nqueued = s->nqueued;
	st->nheld = s->nheld;
	st->nr_vcpus = n;
	st->stats = s->stats;
	st->over_budget = s->over_budget;
	st->yielded = s->yielded;
	if (!(st->runnable = copy_of(s->runnable, n * sizeof(bool))) ||
	    !(st->gone = copy_of(s->gone, n * sizeof(bool))) ||
	    !(st->prio = copy_of(s->prio, n * sizeof(int64_t))) ||
	    !(st->gave_way = copy_of(s->gave_way, n * sizeof(uint64_t))) ||
	    !(st->yielded_at = copy_of(s->yielded_at, n * sizeof(uint64_t))) ||
	    !(st->own = copy_of(s->own, n * sizeof(uint64_t))) ||
	    !(st->held = copy_of(s->held, n * sizeof(*s->held))) ||
	    !(st->queue = copy_of(s->queue, s->nqueued * sizeof(*s->queue))) ||
	    (s->plan && !(st->plan = plan_index_clone(s->plan)))) {
		sched_state_free(st);
		return NULL;
	}
	return st;
}

int sched_state_load(struct vm *vm, const struct sched_state *st)
{
	struct sched *s = vm->sched;
	struct plan_index *plan = NULL;
	unsigned n = vm->nr_vcpus;

	if (st->plan && !(plan = plan_index_clone(st->plan)))
		return -ENOMEM;
	sched_watchdog_disarm(vm);  /* the ended run's */
	plan_index_free(s->plan);
	s->plan = plan;
	s->cfg = st->cfg;
	s->rng = st->rng;
	s->inject_rng = st->inject_rng;
	s->current = st->current;
	s->running = st->running;
	s->last = st->last;
	s->step = st->step;
	s->clock = st->clock;
	memcpy(s->change, st->change, sizeof(s->change));
	s->nchange = st->nchange;
	s->nqueued = st->nqueued;
	s->nheld = st->nheld;
	s->stats = st->stats;
	s->over_budget = st->over_budget;
	s->yielded = st->yielded;
	s->applying = false;
	s->applier = -1;
	memcpy(s->runnable, st->runnable, n * sizeof(*s->runnable));
	memcpy(s->gone, st->gone, n * sizeof(*s->gone));
	memcpy(s->prio, st->prio, n * sizeof(*s->prio));
	memcpy(s->gave_way, st->gave_way, n * sizeof(*s->gave_way));
	memcpy(s->yielded_at, st->yielded_at, n * sizeof(*s->yielded_at));
	memcpy(s->own, st->own, n * sizeof(*s->own));
	memcpy(s->held, st->held, n * sizeof(*s->held));
	memcpy(s->queue, st->queue, st->nqueued * sizeof(*s->queue));
	return 0;
}
